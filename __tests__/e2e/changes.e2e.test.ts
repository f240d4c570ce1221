/**
 * Changing a live nat-stack on the lab while a load loop on the client sends
 * requests through the VIP: every step reports requests sent / failed and
 * must lose none. Also: pinned host keys, key material never written out,
 * an unreachable new real server, drift made by hand, a director restart,
 * and destroy after a partially failed deploy.
 *
 * @lab nat
 */
import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { LvsConfig, RealServerConfig, loadConfigFile } from '../../stacks';
import { CdktfProject, LAB, LAB_CONFIG, LoadLoop, LoadResult, curlVip, filesUnder, lab, labStack, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines, withDownloadOn, withoutModules } from '../../lab/client';
import { NAT_WEB3 } from './helpers';

jest.setTimeout(900_000);

const STACK = 'nat-stack';
const VIP = '192.168.115.111';
const HOSTS = ['nat-director', 'nat-web1', 'nat-web2', 'nat-web3'];
const base = loadConfigFile(LAB_CONFIG);
const [web1, web2] = base.stacks![STACK].realServers!;
const web3 = NAT_WEB3;
/** A server whose SSH is cut (lab.sh unplug) gives up after this, not the lab's 1m. */
const unreachable = (rs: RealServerConfig): RealServerConfig => ({ ...rs, connection: { ...rs.connection, timeout: '15s' } });
const hostKey = (host: string) =>
  readFileSync(join(LAB, '.state/hosts', host, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
const pinned = (rs: RealServerConfig): RealServerConfig => ({ ...rs, connection: { ...rs.connection, hostKey: hostKey(`nat-${rs.name}`) } });

/** Resources whose old instance Terraform destroyed during a deploy. */
const destroyed = (out: string) => [...new Set([...out.matchAll(/terraform_data\.(\w+)[^\n]*Destruction complete/g)].map((m) => m[1]))].sort();

describe('changing nat-stack on the lab under load', () => {
  const project = new CdktfProject();
  const configFile = join(project.dir, 'lvs.json');
  project.configFile = configFile;
  const load = new LoadLoop('nat-client', VIP);
  const report: [string, LoadResult][] = [];
  const before: Record<string, string> = {};
  let deployed = false;

  const use = (realServers: RealServerConfig[], opts: { scheduler?: string; directorKey?: string; directorTimeout?: string } = {}) => {
    const stack = base.stacks![STACK];
    const cfg: LvsConfig = {
      ...base,
      stacks: {
        [STACK]: {
          ...stack,
          // Long enough for the slow downloads of the drain test to end by themselves.
          director: { ...stack.director, drainSeconds: 90, connection: { ...stack.director!.connection!, hostKey: opts.directorKey ?? hostKey('nat-director'), timeout: opts.directorTimeout } },
          service: { scheduler: (opts.scheduler ?? 'rr') as never },
          realServers: realServers.map(pinned),
        },
      },
    };
    writeFileSync(configFile, JSON.stringify(cfg));
  };
  /** Runs `step` under the load loop; records what it saw under `name`. */
  const underLoad = <T>(name: string, step: () => T): { value: T; load: LoadResult } => {
    const res = load.during(step);
    report.push([name, res.load]);
    return res;
  };
  const rules = () => sortedLines(sh('nat-director', 'ipvsadm -Sn'));
  const desired = () => sortedLines(labStack(STACK, configFile).director.desiredRules.join('\n'));
  /** Connections the service has seen; a re-created service starts again from 0. Read after the 2 s stats estimator ran. */
  const served = () => Number(/^TCP\s+\S+\s+(\d+)/m.exec(sh('nat-director', `sleep 2.5; ipvsadm -Ln --stats -t ${VIP}:80`))![1]);
  const answeredBy = (n: number) => new Set(curlVip('nat-client', VIP, n).map((a) => a.split(' ')[0]));

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) sh(h, 'modprobe -a ip_vs ipip');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() => {
    const rows = report.map(([step, r]) => `| ${step} | ${r.sent} | ${r.failed.length} | ${Object.entries(r.servers).map(([s, n]) => `${s} ${n}`).join(', ')} |`);
    console.log(['requests through the VIP per step:', '| step | sent | failed | answered by |', '|---|---|---|---|', ...rows].join('\n'));
    leaveHostsAsFound(before, () => {
      for (const h of HOSTS) lab('plug', h);
      if (deployed) project.destroy(STACK);
    });
  });

  it('a host presenting another key than the pinned one refuses the deploy and is not touched', () => {
    use([web1, web2], { directorKey: hostKey('nat-web1'), directorTimeout: '15s' });
    deployed = true;
    expect(() => project.deploy(STACK)).toThrow(/director_Host[\s\S]*root@127\.0\.0\.1:2211[\s\S]*key mismatch/);
    expect(snapshot('nat-director')).toEqual(before['nat-director']);
  });

  it('deploys with every host key pinned; no private-key bytes in cdktf.out, the state or the deploy output', () => {
    use([web1, web2]);
    const out = project.deploy(STACK);
    expect(rules()).toEqual(desired());
    expect(answeredBy(6)).toEqual(new Set(['web1', 'web2']));

    const key = readFileSync(join(LAB, '.state/id_ed25519'), 'utf8');
    const body = key.split('\n').filter((l) => l && !l.startsWith('-----'));
    expect(body.length).toBeGreaterThan(0);
    const files = filesUnder(project.dir).filter((f) => /(^|\/)(cdktf\.out\/|terraform\.[^/]*\.tfstate)/.test(f.slice(project.dir.length + 1)));
    expect(files.some((f) => f.endsWith(`terraform.${STACK}.tfstate`))).toBe(true);
    expect(files.some((f) => f.endsWith('cdk.tf.json'))).toBe(true);
    for (const f of files) {
      const text = readFileSync(f, 'latin1');
      for (const line of body) expect({ file: f, found: text.includes(line) }).toEqual({ file: f, found: false });
    }
    for (const line of body) expect(out.includes(line)).toBe(false);
  });

  it('a weight change edits the entry in place: nothing lost, counters kept, only the table step replaced', () => {
    const seen = served();
    use([{ ...web1, weight: 3 }, web2]);
    const { value: out, load: l } = underLoad('weight web1 1 -> 3', () => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(l.sent).toBeGreaterThan(20);
    expect(rules()).toEqual(desired());
    expect(rules()).toContain(`-a -t ${VIP}:80 -r 192.168.116.112:80 -m -w 3`);
    expect(served()).toBeGreaterThanOrEqual(seen + l.sent);
    expect(destroyed(out)).toEqual(['director_Services']);
  });

  it('a deploy with no change reports no changes and runs nothing on the hosts', () => {
    const { value: out, load: l } = underLoad('no change', () => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(out).toMatch(/No changes/);
    expect(out).not.toMatch(/remote-exec|Provisioning/);
  });

  it('adding a real server prepares its host, then adds it; only the table step is replaced', () => {
    const seen = served();
    use([{ ...web1, weight: 3 }, web2, web3]);
    const { value: out, load: l } = underLoad('add web3', () => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(out).toMatch(/2 added, 0 changed, 1 destroyed/);
    expect(destroyed(out)).toEqual(['director_Services']);
    expect(rules()).toEqual(desired());
    expect(answeredBy(10)).toEqual(new Set(['web1', 'web2', 'web3']));
    expect(served()).toBeGreaterThanOrEqual(seen + l.sent);
  });

  it('changing the scheduler (rr -> wrr) keeps the service and loses nothing', () => {
    const seen = served();
    use([{ ...web1, weight: 3 }, web2, web3], { scheduler: 'wrr' });
    const { value: out, load: l } = underLoad('scheduler rr -> wrr', () => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(destroyed(out)).toEqual(['director_Services']);
    expect(rules()).toEqual(desired());
    expect(rules()).toContain(`-A -t ${VIP}:80 -s wrr`);
    expect(served()).toBeGreaterThanOrEqual(seen + l.sent);
  });

  it('drift made by hand is reported by verify, left alone by a no-change deploy, and repaired by re-running the table step', async () => {
    const declared = rules();
    sh('nat-director', `ipvsadm -a -t ${VIP}:80 -r 192.168.116.199:80 -m -w 0; ipvsadm -e -t ${VIP}:80 -r 192.168.116.113:80 -m -w 5`);
    expect((await project.verifyFailures(STACK)).sort()).toEqual([
      `${STACK}/director: ipvs-real -t ${VIP}:80 -r 192.168.116.113:80`,
      `${STACK}/director: ipvs-real -t ${VIP}:80 -r 192.168.116.199:80`,
    ]);
    // Terraform only knows its own state: a deploy with no change runs nothing (documented in the README).
    expect(project.deploy(STACK)).toMatch(/No changes/);
    expect(rules()).not.toEqual(declared);

    const tf = join(project.dir, 'cdktf.out/stacks', STACK);
    const { load: l } = underLoad('repair drift (-replace table step)', () =>
      execFileSync('terraform', [`-chdir=${tf}`, 'apply', '-auto-approve', '-input=false', '-replace=terraform_data.director_Services'], {
        encoding: 'utf8',
        env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
      }),
    );
    expect(l.failed).toEqual([]);
    expect(rules()).toEqual(declared);
    expect(await project.verifyFailures(STACK)).toEqual([]);
  });

  it('after the director restarts, the table and VIP come back from persistence without a redeploy', () => {
    const declared = rules();
    lab('reboot', 'nat-director');
    sh('nat-director', 'systemctl is-system-running --wait >/dev/null || true');
    expect(rules()).toEqual(declared);
    const { load: l } = underLoad('after director restart', () => sh('nat-director', 'sleep 5'));
    expect(l.failed).toEqual([]);
    expect(Object.keys(l.servers).sort()).toEqual(['web1', 'web2', 'web3']);
  });

  it('a retired real server is drained (requests in flight complete), dropped from the table, then its host is cleaned', () => {
    const size = 3_000_000;
    // Slow downloads (~30 s each), one of them served by web3.
    const at = { client: 'nat-client', director: 'nat-director', vip: VIP, rip: '192.168.116.114:80', webs: ['nat-web1', 'nat-web2', 'nat-web3'], size };
    withDownloadOn(at, (slow) => {
      use([{ ...web1, weight: 3 }, web2, { ...web3, retired: true }], { scheduler: 'wrr' });
      const { value: out, load: l } = underLoad('retire web3', () => project.deploy(STACK));
      expect(l.failed).toEqual([]);
      expect(out).toMatch(/draining 192\.168\.116\.114:80/);
      expect(out.indexOf('draining 192.168.116.114:80')).toBeLessThan(out.indexOf(`${STACK}-web3: removed`));
      // Deleting web3 while its download was in flight would stall it (IPVS drops the rest): it would end as "timeout".
      const results = slow.results();
      expect(results).toEqual(results.map(() => `200 ${size}`));
      expect(rules()).toEqual(desired());
      expect(rules().join('\n')).not.toContain('192.168.116.114');
    });
    // The director still runs on the kernel nat-web3 shares, with its modules loaded.
    expect(withoutModules(snapshot('nat-web3'))).toEqual(withoutModules(before['nat-web3']));
  });

  it('deleting a real server from the code drains it out of the table; remove.sh on the host cleans it', () => {
    use([{ ...web1, weight: 3 }], { scheduler: 'wrr' });
    const { load: l } = underLoad('delete web2 from the code', () => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(rules()).toEqual(desired());
    expect(answeredBy(3)).toEqual(new Set(['web1']));
    // Terraform ran no destroy step for it: the host stays configured until cleaned.
    expect(snapshot('nat-web2')).not.toEqual(before['nat-web2']);
    sh('nat-web2', `sh /var/lib/lvs-cdktf/${STACK}-web2/remove.sh`);
    expect(withoutModules(snapshot('nat-web2'))).toEqual(withoutModules(before['nat-web2']));
  });

  it('a new real server that cannot be reached fails the deploy naming it; the director keeps serving; the next deploy converges', () => {
    const table = rules();
    use([{ ...web1, weight: 3 }, unreachable(web3)], { scheduler: 'wrr' });
    lab('unplug', 'nat-web3');
    const { value: error, load: l } = underLoad('add web3 while its SSH is down (fails)', () => {
      try {
        project.deploy(STACK);
      } catch (e) {
        return (e as Error).message;
      }
      return 'the deploy succeeded';
    });
    expect(error).toMatch(/web3_Host/);
    expect(error).toMatch(/127\.0\.0\.1:2214/);
    expect(l.failed).toEqual([]);
    expect(Object.keys(l.servers)).toEqual(['web1']);
    expect(rules()).toEqual(table);

    lab('plug', 'nat-web3');
    const { load: l2 } = underLoad('add web3 after its SSH is back', () => project.deploy(STACK));
    expect(l2.failed).toEqual([]);
    expect(rules()).toEqual(desired());
    expect(answeredBy(8)).toEqual(new Set(['web1', 'web3']));
  });

  it('destroy after a partially failed deploy succeeds and returns every host to its state before', () => {
    use([{ ...web1, weight: 3 }, unreachable(web2), web3], { scheduler: 'wrr' });
    lab('unplug', 'nat-web2');
    expect(() => project.deploy(STACK)).toThrow(/web2_Host/);
    project.destroy(STACK);
    deployed = false;
    lab('plug', 'nat-web2');
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
