/**
 * Health checks on the lab: nat-stack's service handed from the table step
 * to keepalived under load, real servers failing (web server stopped, data
 * link cut) and returning while the load loop runs, planned changes of a
 * keepalived-owned service, a sorry server taking over from failed ones,
 * and destroy back to the snapshot.
 *
 * @lab nat
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { LvsConfig, RealServerConfig, loadConfigFile } from '../../stacks';
import type { HealthCheckOptions } from '../../lib';
import { CdktfProject, LAB_CONFIG, LoadLoop, LoadResult, lab, labStack, leaveHostsAsFound, requireLab, secondsUntil, sh, snapshot, sortedLines, withDownloadOn } from '../../lab/client';
import { NAT_WEB3 } from './helpers';

jest.setTimeout(900_000);

const STACK = 'nat-stack';
const VIP = '192.168.115.111';
const HOSTS = ['nat-director', 'nat-web1', 'nat-web2', 'nat-web3'];
const base = loadConfigFile(LAB_CONFIG);
const [web1, web2] = base.stacks![STACK].realServers!;
const web3 = NAT_WEB3;
const RIP1 = '192.168.116.112:80';
// A server fails after retries + 1 failed checks: about interval + (retries + 1) * timeout + retries * retryDelay = 4 s.
const CHECK: HealthCheckOptions = { type: 'http', intervalSeconds: 1, timeoutSeconds: 1, retries: 1, retryDelaySeconds: 1 };
/** What a noisy CI machine may add to the check's own bound before a server leaves the table. */
const EXIT_LIMIT_S = 30;

describe('health checks on nat-stack (keepalived on the director), under load', () => {
  const project = new CdktfProject();
  const configFile = join(project.dir, 'lvs.json');
  project.configFile = configFile;
  const load = new LoadLoop('nat-client', VIP);
  const report: string[] = [];
  const before: Record<string, string> = {};
  let deployed = false;

  const use = (realServers: RealServerConfig[], opts: { healthCheck?: HealthCheckOptions; scheduler?: string } = {}) => {
    const stack = base.stacks![STACK];
    const cfg: LvsConfig = {
      ...base,
      stacks: {
        [STACK]: {
          ...stack,
          director: { ...stack.director, drainSeconds: 90 },
          service: { scheduler: (opts.scheduler ?? 'rr') as never, healthCheck: opts.healthCheck },
          realServers,
        },
      },
    };
    writeFileSync(configFile, JSON.stringify(cfg));
  };
  const rules = () => sortedLines(sh('nat-director', 'ipvsadm -Sn'));
  const desired = () => sortedLines(labStack(STACK, configFile).director.desiredRules.join('\n'));
  const inTable = (rip: string) => rules().some((l) => l.includes(`-r ${rip} `));
  /** A real server's weight in the table; undefined when it is not there. */
  const weight = (rip: string) => rules().find((r) => r.includes(`-r ${rip} `))?.replace(/.* -w /, '');
  /** Connections the service has seen; a re-created service starts again from 0. Read after the 2 s stats estimator ran. */
  const served = () => Number(/^TCP\s+\S+\s+(\d+)/m.exec(sh('nat-director', `sleep 2.5; ipvsadm -Ln --stats -t ${VIP}:80`))![1]);
  /** Load-loop seconds (from its start) at which each request that failed was sent. */
  const failedAt = (r: LoadResult) => r.failed.map((f) => Number(f.split(' ')[0]));

  /**
   * A fault on web1 under load: `fault` at a known moment, the seconds until
   * keepalived takes web1 out, the failed requests; then `repair`, the
   * seconds until web1 is back, and the load of the return, which must lose nothing.
   */
  const faultAndRepair = (name: string, fault: () => void, repair: () => void) => {
    load.start();
    const started = Date.now();
    sh('nat-client', 'sleep 2');
    const faultAt = (Date.now() - started) / 1000;
    fault();
    const exit = secondsUntil(`${RIP1} out of the table`, () => !inTable(RIP1), EXIT_LIMIT_S);
    // Requests sent after the exit must all be answered by the others.
    sh('nat-client', 'sleep 3');
    const down = load.stop();
    load.start();
    repair();
    const back = secondsUntil(`${RIP1} back in the table`, () => inTable(RIP1), EXIT_LIMIT_S);
    sh('nat-client', 'sleep 3');
    const up = load.stop();
    const times = failedAt(down);
    const window = times.length > 0 ? Math.max(...times) - faultAt : 0;
    report.push(`| ${name} | ${exit.toFixed(1)} | ${down.failed.length} of ${down.sent} | ${window.toFixed(1)} | ${back.toFixed(1)} | ${up.failed.length} of ${up.sent} |`);
    return { faultAt, exit, down, times, up };
  };

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) sh(h, 'modprobe -a ip_vs ipip');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() => {
    console.log(['web1 faults under load:', '| fault | s to leave the table | failed | s from fault to last failed request | s to return | failed on return |', '|---|---|---|---|---|---|', ...report].join('\n'));
    leaveHostsAsFound(before, () => {
      lab('link', 'nat-web1', 'ens33', 'up');
      if (deployed) project.destroy(STACK);
    });
  });

  it('hands a live service from the table step to keepalived: no request lost, connections and counters kept', () => {
    use([web1, web2]);
    deployed = true;
    project.deploy(STACK);
    expect(sh('nat-director', 'systemctl is-active keepalived || true').trim()).toBe('inactive');
    const seen = served();

    use([web1, web2], { healthCheck: CHECK });
    const { value: out, load: l } = load.during(() => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(l.sent).toBeGreaterThan(20);
    expect(out).toMatch(/director_Keepalived[\s\S]*generation \w+ applied/);
    expect(sh('nat-director', 'systemctl is-active keepalived; systemctl is-enabled keepalived').trim().split('\n')).toEqual(['active', 'enabled']);
    expect(sh('nat-director', 'cat /etc/keepalived/keepalived.conf')).toContain(`virtual_server ${VIP} 80 {`);
    // The table step no longer lists the service: a later change of the table leaves it to keepalived.
    expect(sh('nat-director', `cat /var/lib/lvs-cdktf/${STACK}-director-services/services`).trim()).toBe('');
    expect(rules()).toEqual(desired());
    expect(served()).toBeGreaterThanOrEqual(seen + l.sent);
  });

  it('a stopped web server leaves the rotation within the check bound and returns with no failed request', () => {
    const r = faultAndRepair('nginx stopped on web1', () => sh('nat-web1', 'systemctl stop nginx'), () => sh('nat-web1', 'systemctl start nginx'));
    expect(r.exit).toBeLessThan(EXIT_LIMIT_S);
    // Every failed request was sent between the fault and web1's exit (1 s for the clocks' offset).
    expect(r.times.filter((t) => t < r.faultAt - 1 || t > r.faultAt + r.exit + 1)).toEqual([]);
    expect(r.down.servers.web2).toBeGreaterThan(0);
    expect(r.up.failed).toEqual([]);
    expect(r.up.servers.web1).toBeGreaterThan(0);
  });

  it('a cut data link takes the server out the same way; it returns once the link is back', () => {
    const r = faultAndRepair('web1 data link cut', () => lab('link', 'nat-web1', 'ens33', 'down'), () => lab('link', 'nat-web1', 'ens33', 'up'));
    expect(r.exit).toBeLessThan(EXIT_LIMIT_S);
    expect(r.times.filter((t) => t < r.faultAt - 1 || t > r.faultAt + r.exit + 1)).toEqual([]);
    expect(r.up.failed).toEqual([]);
    expect(r.up.servers.web1).toBeGreaterThan(0);
  });

  it('planned changes of a keepalived service (weight, scheduler, a new server) lose no request and keep the counters', () => {
    const seen = served();
    use([{ ...web1, weight: 3 }, web2, web3], { healthCheck: CHECK, scheduler: 'wrr' });
    const { load: l } = load.during(() => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(rules()).toEqual(desired());
    expect(rules()).toContain(`-A -t ${VIP}:80 -s wrr`);
    expect(rules()).toContain(`-a -t ${VIP}:80 -r ${RIP1} -m -w 3`);
    expect(served()).toBeGreaterThanOrEqual(seen + l.sent);
    expect(Object.keys(l.servers).sort()).toEqual(['web1', 'web2', 'web3']);
  });

  it('a server retired from a keepalived service is drained first: its download in flight completes, no request lost, then its host is cleaned', () => {
    const size = 2_000_000;
    const at = { client: 'nat-client', director: 'nat-director', vip: VIP, rip: '192.168.116.114:80', webs: ['nat-web1', 'nat-web2', 'nat-web3'], size };
    withDownloadOn(at, (slow) => {
      use([{ ...web1, weight: 3 }, web2, { ...web3, retired: true }], { healthCheck: CHECK, scheduler: 'wrr' });
      const { value: out, load: l } = load.during(() => project.deploy(STACK));
      expect(l.failed).toEqual([]);
      expect(out).toMatch(/draining 192\.168\.116\.114:80/);
      expect(out.indexOf('draining 192.168.116.114:80')).toBeLessThan(out.indexOf(`${STACK}-web3: removed`));
      // keepalived deleting web3 with the download in flight would stall it: it would end as "timeout".
      const results = slow.results();
      expect(results).toEqual(results.map(() => `200 ${size}`));
      expect(rules()).toEqual(desired());
      expect(rules().join('\n')).not.toContain('192.168.116.114');
    });
  });

  it('a sorry server serves alone once every real server fails; their return loses no request, and its download in flight completes', () => {
    const RIP2 = '192.168.116.113:80';
    const SORRY = '192.168.116.114:80';
    use([{ ...web1, weight: 3 }, web2, { ...web3, sorry: {} }], { healthCheck: CHECK, scheduler: 'wrr' });
    const { load: l } = load.during(() => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(sh('nat-director', 'cat /etc/keepalived/keepalived.conf')).toContain(`  sorry_server ${SORRY.replace(':', ' ')}\n  sorry_server_inhibit\n`);
    // The quorum holds: the sorry server waits in the table at weight 0.
    expect(rules()).toEqual(desired());
    expect(rules()).toContain(`-a -t ${VIP}:80 -r ${SORRY} -m -w 0`);

    const nginx = (verb: string) => ['nat-web1', 'nat-web2'].forEach((h) => sh(h, `systemctl ${verb} nginx`));
    load.start();
    const started = Date.now();
    sh('nat-client', 'sleep 2');
    const faultAt = (Date.now() - started) / 1000;
    nginx('stop');
    // inhibit_on_failure, which the sorry server turns on: the failed servers stay in the table at weight 0.
    const exit = secondsUntil('web1 and web2 at weight 0, the sorry server at 1', () => weight(SORRY) === '1' && weight(RIP1) === '0' && weight(RIP2) === '0', EXIT_LIMIT_S);
    sh('nat-client', 'sleep 3');
    const down = load.stop();
    expect(failedAt(down).filter((t) => t < faultAt - 1 || t > faultAt + exit + 1)).toEqual([]);
    expect(down.servers.web3).toBeGreaterThan(0);

    // keepalived sets the sorry server to weight 0 when the others return, instead of deleting it: its download carries on.
    const size = 2_000_000;
    withDownloadOn({ client: 'nat-client', director: 'nat-director', vip: VIP, rip: SORRY, webs: ['nat-web3'], size }, (slow) => {
      load.start();
      nginx('start');
      const back = secondsUntil('web1 and web2 back at weights 3 and 1, the sorry server at 0', () => weight(RIP1) === '3' && weight(RIP2) === '1' && weight(SORRY) === '0', EXIT_LIMIT_S);
      sh('nat-client', 'sleep 3');
      const up = load.stop();
      const results = slow.results();
      report.push(`| nginx stopped on web1 and web2 (sorry server web3) | ${exit.toFixed(1)} | ${down.failed.length} of ${down.sent} | ${(Math.max(0, ...failedAt(down)) - faultAt).toFixed(1)} | ${back.toFixed(1)} | ${up.failed.length} of ${up.sent} |`);
      expect(up.failed).toEqual([]);
      expect(up.servers.web1).toBeGreaterThan(0);
      expect(results).toEqual(results.map(() => `200 ${size}`));
    });
    expect(rules()).toEqual(desired());
  });

  it('below a quorum of 2 the sorry server serves; the passing server stays at weight 0, and its download in flight completes', () => {
    const RIP2 = '192.168.116.113:80';
    const SORRY = '192.168.116.114:80';
    use([web1, web2, { ...web3, sorry: { quorum: 2 } }], { healthCheck: CHECK, scheduler: 'wrr' });
    const { load: l } = load.during(() => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(sh('nat-director', 'cat /etc/keepalived/keepalived.conf')).toContain('  quorum 2\n');
    expect(rules()).toEqual(desired());
    const size = 2_000_000;
    // web1 failing leaves weight 1 of the 2 needed: keepalived takes web2 out too, though it passes.
    // Deleting it would reset its download (expire_nodest_conn); at weight 0 the download carries on.
    withDownloadOn({ client: 'nat-client', director: 'nat-director', vip: VIP, rip: RIP2, webs: ['nat-web2'], size }, (slow) => {
      load.start();
      const started = Date.now();
      sh('nat-client', 'sleep 2');
      const faultAt = (Date.now() - started) / 1000;
      sh('nat-web1', 'systemctl stop nginx');
      const exit = secondsUntil('the sorry server at weight 1, web1 and web2 at 0', () => weight(SORRY) === '1' && weight(RIP1) === '0' && weight(RIP2) === '0', EXIT_LIMIT_S);
      sh('nat-client', 'sleep 3');
      const down = load.stop();
      expect(failedAt(down).filter((t) => t < faultAt - 1 || t > faultAt + exit + 1)).toEqual([]);
      expect(down.servers.web3).toBeGreaterThan(0);
      // The file is on web2 alone: a download scheduled to web1 ends at once with 404.
      const onWeb2 = slow.results().filter((r) => !r.startsWith('404 '));
      expect(onWeb2.length).toBeGreaterThan(0);
      expect(onWeb2).toEqual(onWeb2.map(() => `200 ${size}`));

      load.start();
      sh('nat-web1', 'systemctl start nginx');
      const back = secondsUntil('web1 and web2 back at weight 1, the sorry server at 0', () => weight(RIP1) === '1' && weight(RIP2) === '1' && weight(SORRY) === '0', EXIT_LIMIT_S);
      sh('nat-client', 'sleep 3');
      const up = load.stop();
      report.push(`| nginx stopped on web1, quorum 2 (sorry server web3) | ${exit.toFixed(1)} | ${down.failed.length} of ${down.sent} | ${(Math.max(0, ...failedAt(down)) - faultAt).toFixed(1)} | ${back.toFixed(1)} | ${up.failed.length} of ${up.sent} |`);
      expect(up.failed).toEqual([]);
    });
    expect(rules()).toEqual(desired());
  });

  it('destroy stops keepalived and returns every host to its state before the first deploy', () => {
    project.destroy(STACK);
    deployed = false;
    for (const h of HOSTS) expect({ host: h, snapshot: snapshot(h) }).toEqual({ host: h, snapshot: before[h] });
  });
});
