/**
 * End to end, for each of nat-stack, dr-stack and tun-stack: deploy to the
 * lab, `verify` passes (also with traffic from the lab's client); then each
 * hand change made over SSH on a lab host makes it fail naming exactly that
 * item, and passes again once the change is undone. Destroys at the end.
 *
 * @lab dr nat tun
 */
import { spawnSync } from 'child_process';
import { createServer, Server, Socket } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { synthesize } from '../../review/synthesize';
import { StackPlan, loadStackPlan } from '../../verify/plan';
import { EXIT, Report, failures } from '../../verify/report';
import { verifyStacks } from '../../verify/run';
import { CdktfProject, ROOT, lab, labHosts, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

jest.setTimeout(900_000);

/** A hand change on a lab host, the one failure it must cause, and how to undo it. */
interface HandChange {
  title: string;
  host: string;
  change: string;
  restore: string;
  failure: string;
}

interface Case {
  stack: string;
  prefix: string;
  changes: HandChange[];
}

const CASES: Case[] = [
  {
    stack: 'nat-stack',
    prefix: 'nat',
    changes: [
      {
        title: 'an extra real server (ipvsadm -a)',
        host: 'nat-director',
        change: 'ipvsadm -a -t 192.168.115.111:80 -r 192.168.116.114:80 -m -w 1',
        restore: 'ipvsadm -d -t 192.168.115.111:80 -r 192.168.116.114:80',
        failure: 'nat-stack/director: ipvs-real -t 192.168.115.111:80 -r 192.168.116.114:80',
      },
      {
        title: 'a changed weight (ipvsadm -e)',
        host: 'nat-director',
        change: 'ipvsadm -e -t 192.168.115.111:80 -r 192.168.116.113:80 -m -w 3',
        restore: 'ipvsadm -e -t 192.168.115.111:80 -r 192.168.116.113:80 -m -w 1',
        failure: 'nat-stack/director: ipvs-real -t 192.168.115.111:80 -r 192.168.116.113:80',
      },
      {
        title: 'the NAT default route through another gateway',
        host: 'nat-web2',
        change: 'ip route replace default via 192.168.116.1 dev ens33',
        restore: 'ip route replace default via 192.168.116.111 dev ens33',
        failure: 'nat-stack/web2: route default via 192.168.116.111',
      },
    ],
  },
  {
    stack: 'dr-stack',
    prefix: 'dr',
    changes: [
      {
        title: 'an extra real server (ipvsadm -a)',
        host: 'dr-director',
        change: 'ipvsadm -a -t 192.168.115.110:80 -r 192.168.115.114:80 -g -w 1',
        restore: 'ipvsadm -d -t 192.168.115.110:80 -r 192.168.115.114:80',
        failure: 'dr-stack/director: ipvs-real -t 192.168.115.110:80 -r 192.168.115.114:80',
      },
      {
        title: 'a changed weight (ipvsadm -e)',
        host: 'dr-director',
        change: 'ipvsadm -e -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 5',
        restore: 'ipvsadm -e -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 1',
        failure: 'dr-stack/director: ipvs-real -t 192.168.115.110:80 -r 192.168.115.112:80',
      },
      {
        title: 'the VIP removed from the director (ip addr del)',
        host: 'dr-director',
        change: 'ip addr del 192.168.115.110/32 dev ens33',
        restore: 'ip addr add 192.168.115.110/32 dev ens33 label ens33:0',
        failure: 'dr-stack/director: address VIP 192.168.115.110/32 on ens33',
      },
      {
        title: 'arp_ignore reset to 0 on a real server (sysctl -w)',
        host: 'dr-web2',
        change: 'sysctl -q -w net.ipv4.conf.all.arp_ignore=0',
        restore: 'sysctl -q -w net.ipv4.conf.all.arp_ignore=1',
        failure: 'dr-stack/web2: sysctl net.ipv4.conf.all.arp_ignore',
      },
    ],
  },
  {
    stack: 'tun-stack',
    prefix: 'tun',
    changes: [
      {
        title: 'an extra real server (ipvsadm -a)',
        host: 'tun-director',
        change: 'ipvsadm -a -t 192.168.100.101:80 -r 192.168.100.4:80 -i -w 1',
        restore: 'ipvsadm -d -t 192.168.100.101:80 -r 192.168.100.4:80',
        failure: 'tun-stack/director: ipvs-real -t 192.168.100.101:80 -r 192.168.100.4:80',
      },
      {
        title: 'a changed weight (ipvsadm -e)',
        host: 'tun-director',
        change: 'ipvsadm -e -t 192.168.100.101:80 -r 192.168.100.2:80 -i -w 2',
        restore: 'ipvsadm -e -t 192.168.100.101:80 -r 192.168.100.2:80 -i -w 1',
        failure: 'tun-stack/director: ipvs-real -t 192.168.100.101:80 -r 192.168.100.2:80',
      },
      {
        title: 'the VIP removed from a real server’s tunl0 (ip addr del)',
        host: 'tun-web2',
        change: 'ip addr del 192.168.100.101/32 dev tunl0',
        restore: 'ip addr add 192.168.100.101/32 dev tunl0',
        failure: 'tun-stack/web2: address VIP 192.168.100.101/32 on tunl0',
      },
      {
        title: 'arp_ignore reset to 0 on a real server (sysctl -w)',
        host: 'tun-web1',
        change: 'sysctl -q -w net.ipv4.conf.all.arp_ignore=0',
        restore: 'sysctl -q -w net.ipv4.conf.all.arp_ignore=1',
        failure: 'tun-stack/web1: sysctl net.ipv4.conf.all.arp_ignore',
      },
    ],
  },
];

/** The CLI as `npm run verify` runs it. */
function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'verify/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

function clientPort(prefix: string): number {
  return labHosts().find((h) => h.name === `${prefix}-client`)!.sshPort;
}

describe.each(CASES)('verify $stack on the lab', ({ stack, prefix, changes }) => {
  const project = new CdktfProject();
  const synthDir = mkdtempSync(join(tmpdir(), 'lvs-verify-e2e-'));
  let plan: StackPlan;
  let deployed = false;
  const before: Record<string, string> = {};

  const verify = (): Promise<Report> => verifyStacks([plan], { timeoutMs: 20_000 });

  beforeAll(() => {
    requireLab();
    // The same synth output as the deploy (the lab config), for the library calls and the CLI's --synth-dir.
    const saved = process.env.LVS_CDKTF_CONFIG;
    process.env.LVS_CDKTF_CONFIG = project.configFile;
    try {
      synthesize(ROOT, synthDir);
    } finally {
      if (saved === undefined) delete process.env.LVS_CDKTF_CONFIG;
      else process.env.LVS_CDKTF_CONFIG = saved;
    }
    plan = loadStackPlan(synthDir, stack);
    // Modules stay loaded after destroy (a documented limit): loaded before the snapshot.
    for (const h of [`${prefix}-director`, `${prefix}-web1`, `${prefix}-web2`]) {
      sh(h, 'modprobe -a ip_vs ipip');
      before[h] = snapshot(h);
    }
  });

  afterAll(() => {
    try {
      leaveHostsAsFound(before, () => deployed && project.destroy(stack));
    } finally {
      rmSync(synthDir, { recursive: true, force: true });
    }
  });

  it('passes right after deploy: CLI exit 0, every host ok, traffic reaches both web nodes', async () => {
    // Destroyed in afterAll even when the deploy fails half-way.
    deployed = true;
    project.deploy(stack);
    const report = await verify();
    expect(failures(report)).toEqual([]);
    expect(report.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'ok']);

    const run = cli(stack, '--synth-dir', synthDir, '--json', '--traffic', `127.0.0.1:${clientPort(prefix)}`, '--requests', '10');
    expect({ code: run.code, output: run.code === EXIT.OK ? '' : `${run.stdout}${run.stderr}` }).toEqual({ code: EXIT.OK, output: '' });
    const json = JSON.parse(run.stdout) as Report;
    const traffic = json.hosts.filter((h) => h.role === 'client');
    expect(traffic).toHaveLength(1);
    expect(traffic[0].checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass']);
  });

  describe.each(changes)('$title', ({ host, change, restore, failure }) => {
    it(`fails naming exactly ${failure}; passes again once undone`, async () => {
      sh(host, change);
      try {
        const report = await verify();
        expect(failures(report)).toEqual([failure]);
        expect(report.exitCode).toBe(EXIT.DRIFT);
      } finally {
        sh(host, restore);
      }
      expect(failures(await verify())).toEqual([]);
    });
  });

  it('an unreachable host is reported as such within its timeout; the other hosts are still checked', async () => {
    const timeoutMs = 5_000;
    // One real server's SSH path cut (connection refused), another's answering TCP but never SSH (a hang).
    const silent: Socket[] = [];
    const blackhole: Server = createServer((s) => silent.push(s));
    await new Promise<void>((res) => blackhole.listen(0, '127.0.0.1', res));
    const hangPort = (blackhole.address() as { port: number }).port;
    const [web1, web2] = plan.hosts.filter((h) => h.expectation.role === 'real-server');
    const withHang: StackPlan = {
      ...plan,
      hosts: plan.hosts.map((h) => (h === web1 ? { ...h, target: { ...h.target, port: hangPort } } : h)),
    };
    lab('unplug', `${prefix}-web2`);
    try {
      const t0 = Date.now();
      const report = await verifyStacks([withHang], { timeoutMs });
      const elapsed = Date.now() - t0;
      expect(report.exitCode).toBe(EXIT.UNREACHABLE);
      const status = Object.fromEntries(report.hosts.map((h) => [h.name, h.status]));
      expect(status).toEqual({
        [`${stack}/director`]: 'ok',
        [web1.expectation.name]: 'unreachable',
        [web2.expectation.name]: 'unreachable',
      });
      expect(report.hosts.find((h) => h.name === web1.expectation.name)!.error).toMatch(/within 5 s|timed out|timeout/i);
      // Hosts are checked in parallel, each bounded by its own timeout.
      expect(elapsed).toBeLessThan(timeoutMs + 3_000);
    } finally {
      lab('plug', `${prefix}-web2`);
      silent.forEach((s) => s.destroy());
      blackhole.close();
    }
  });

  it('the CLI exits 1 on drift and prints the failing item', () => {
    const [first] = changes;
    sh(first.host, first.change);
    try {
      const run = cli(stack, '--synth-dir', synthDir);
      expect(run.code).toBe(EXIT.DRIFT);
      const item = first.failure.split(': ')[1].replace(/^ipvs-real /, '');
      expect(run.stdout).toMatch(new RegExp(`FAIL\\s+ipvs-real\\s+${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    } finally {
      sh(first.host, first.restore);
    }
  });
});
