/**
 * verify/: the pure comparison against probe outputs recorded from the lab's
 * real hosts with each stack deployed (verify/fixtures/<stack>/<host>.txt),
 * drift cases made by editing those outputs, and the SSH side against
 * hosts that refuse, never speak SSH, or speak it (an in-process ssh2
 * server, directly and through a bastion).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { AddressInfo, Server as NetServer, Socket, connect as netConnect, createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { DrRealServer, LvsDirector, LvsDirectorPair, TunRealServer } from '../lib';
import { topologyOf } from '../lib/topology';
import { synthesize } from '../review/synthesize';
import { parseStack } from '../synth/read';
import { defineStacks } from '../stacks';
import { ed25519KeyPair, fullJson } from './helpers';
import { HostExpectation, directorExpectation, expectationsOf } from '../verify/expect';
import { StackPlan, loadStackPlan, planStack } from '../verify/plan';
import { evaluate, parseAddresses, parseRoutes, probeCommand } from '../verify/probe';
import { EXIT, Report, exitCodeOf, failures, formatText } from '../verify/report';
import { verifyStacks } from '../verify/run';
import type { SshTarget } from '../lib/connection';
import { RunResult, runOnHost } from '../verify/ssh';
import { distribution, parseAnswers, trafficChecks, trafficTargets } from '../verify/traffic';
import { parseArgs } from '../verify/cli';

const ROOT = resolve(__dirname, '..');
const FIXTURES = join(ROOT, 'verify', 'fixtures');
const STACKS = ['nat-stack', 'dr-stack', 'tun-stack'];

let synthDir: string;
const plans: Record<string, StackPlan> = {};

beforeAll(() => {
  synthDir = mkdtempSync(join(tmpdir(), 'lvs-verify-test-'));
  const saved = process.env.LVS_CDKTF_CONFIG;
  process.env.LVS_CDKTF_CONFIG = join(ROOT, 'lab', 'lab-config.yaml');
  try {
    synthesize(ROOT, synthDir);
  } finally {
    if (saved === undefined) delete process.env.LVS_CDKTF_CONFIG;
    else process.env.LVS_CDKTF_CONFIG = saved;
  }
  for (const s of STACKS) plans[s] = loadStackPlan(synthDir, s);
});

afterAll(() => rmSync(synthDir, { recursive: true, force: true }));

function fixture(stack: string, host: string): string {
  return readFileSync(join(FIXTURES, stack, `${host}.txt`), 'utf8');
}

/** A `run` that answers each host's probe with its recorded output, edited by `edit`. */
function recorded(stack: string, edit: (host: string, out: string) => string = (_h, o) => o) {
  const byPort = new Map(plans[stack].hosts.map((h) => [h.target.port, h.expectation.name.split('/').pop()!]));
  return async (target: SshTarget): Promise<RunResult> => {
    const host = byPort.get(target.port)!;
    return { ok: true, stdout: edit(host, fixture(stack, host)), stderr: '', code: 0, ms: 1 };
  };
}

async function verifyRecorded(stack: string, edit?: (host: string, out: string) => string): Promise<Report> {
  return verifyStacks([plans[stack]], { timeoutMs: 5000, run: recorded(stack, edit) });
}

/** Edits one host's recorded output. */
function on(host: string, f: (out: string) => string) {
  return (h: string, out: string) => (h === host ? f(out) : out);
}

describe('plan from synth output', () => {
  it('reads every host with the deploy connection (key path, port) and the declared state', () => {
    const nat = plans['nat-stack'];
    expect(nat.hosts.map((h) => [h.expectation.name, h.target.host, h.target.port, h.resource])).toEqual([
      ['nat-stack/director', '127.0.0.1', 2211, 'terraform_data.director_Host'],
      ['nat-stack/web1', '127.0.0.1', 2212, 'terraform_data.web1_Host'],
      ['nat-stack/web2', '127.0.0.1', 2213, 'terraform_data.web2_Host'],
    ]);
    expect(nat.hosts[0].target.privateKeyPath).toBe(join(ROOT, 'lab', '.state', 'id_ed25519'));
    expect(nat.hosts[0].target.user).toBe('root');
  });

  it('derives what each role sets on its host', () => {
    const [dir, web1] = plans['dr-stack'].hosts.map((h) => h.expectation);
    expect(dir.sysctls.map((s) => `${s.key}=${s.value}`)).toEqual([
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
      'net.ipv4.conf.ens33.send_redirects=0',
      'net.ipv4.vs.expire_nodest_conn=1',
      'net.ipv4.vs.expire_quiescent_template=1',
    ]);
    expect(dir.addresses).toContainEqual({ dev: 'ens33', cidr: '192.168.115.110/32', exclusive: true, role: 'VIP' });
    expect(web1.routes).toEqual([{ destination: '192.168.115.110/32', dev: 'lo' }]);
    const [tdir, tweb1] = plans['tun-stack'].hosts.map((h) => h.expectation);
    expect(tdir.addresses).toContainEqual({ dev: 'tunl0', cidr: '192.168.100.101/32', exclusive: true, role: 'VIP' });
    expect(tdir.modules).toEqual(['ip_vs', 'ipip']);
    expect(tweb1.sysctls.filter((s) => s.key.endsWith('rp_filter')).map((s) => s.key)).toEqual([
      'net.ipv4.conf.all.rp_filter',
      'net.ipv4.conf.default.rp_filter',
      'net.ipv4.conf.tunl0.rp_filter',
      'net.ipv4.conf.eth0.rp_filter',
    ]);
    const [, nweb1] = plans['nat-stack'].hosts.map((h) => h.expectation);
    expect(nweb1.routes).toEqual([{ destination: 'default', via: '192.168.116.111', dev: 'ens33' }]);
  });

  it('reads bastion and pinned host keys from null_resource triggers too', () => {
    const topo = plans['nat-stack'].topology;
    const directors = topo.directors.map((d) => ({ ...d, resources: { host: 'null_resource.director_Host' } }));
    const json = {
      '//': { 'lvs-cdktf': JSON.stringify({ ...topo, directors, realServers: [] }) },
      resource: {
        null_resource: {
          director_Host: {
            provisioner: [{ 'remote-exec': { inline: ['true'] } }],
            triggers: {
              host: '10.0.0.10', port: '2222', user: 'ops', private_key_path: '~/.ssh/id', host_key: 'ssh-ed25519 AAAAxyz',
              bastion_host: 'jump', bastion_port: '22', bastion_user: 'ops', bastion_private_key_path: '~/.ssh/jump', bastion_host_key: 'ssh-ed25519 AAAAjump',
            },
          },
        },
      },
    };
    expect(planStack(parseStack('x', json)).hosts[0].target).toEqual({
      host: '10.0.0.10', port: 2222, user: 'ops', privateKeyPath: '~/.ssh/id', hostKey: 'ssh-ed25519 AAAAxyz',
      bastion: { host: 'jump', port: 22, user: 'ops', privateKeyPath: '~/.ssh/jump', hostKey: 'ssh-ed25519 AAAAjump' },
    });
  });
});

describe('probe command', () => {
  it('is one read-only command per host: only ipvsadm -Sn, ip and shell built-ins', () => {
    for (const s of STACKS) {
      for (const h of plans[s].hosts) {
        const cmd = probeCommand(h.expectation);
        const programs = cmd
          .split('\n')
          .map((l) => l.trim().split(/\s+/)[0])
          .filter((w) => !['echo', 'for', 'do', 'done', 'if', 'then', 'else', 'fi'].includes(w));
        expect(new Set(programs)).toEqual(new Set(h.expectation.ipvs ? ['ipvsadm', 'ip'] : ['ip']));
        const calls = [...cmd.matchAll(/^(ipvsadm|ip) (.*?) 2>&1$/gm)].map((m) => `${m[1]} ${m[2]}`);
        expect(calls.every((c) => ['ipvsadm -Sn', 'ip -o addr show', 'ip route show table main', 'ip -6 route show table main'].includes(c))).toBe(true);
        // Nothing written: no output redirection other than stderr to stdout.
        expect(cmd.replace(/2>&1/g, '')).not.toMatch(/>/);
      }
    }
  });
});

describe.each(STACKS)('%s recorded from the lab', (stack) => {
  it('passes every check when deployed', async () => {
    const report = await verifyRecorded(stack);
    expect(failures(report)).toEqual([]);
    expect(report.exitCode).toBe(EXIT.OK);
    expect(report.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'ok']);
    const director = report.hosts[0];
    expect(director.checks.filter((c) => c.kind.startsWith('ipvs')).map((c) => c.status)).toEqual(['pass', 'pass', 'pass']);
    expect(report.summary.checks).toBeGreaterThanOrEqual(stack === 'nat-stack' ? 8 : 20);
  });
});

describe('fresh lab hosts, recorded before any deploy', () => {
  const bare = (stack: string) => async (target: SshTarget): Promise<RunResult> => {
    const host = plans[stack].hosts.find((h) => h.target.port === target.port)!.expectation.name.split('/').pop()!;
    return { ok: true, stdout: readFileSync(join(FIXTURES, 'bare', stack, `${host}.txt`), 'utf8'), stderr: '', code: 0, ms: 1 };
  };

  it('nat-stack: fails on exactly what the deploy sets', async () => {
    const report = await verifyStacks([plans['nat-stack']], { timeoutMs: 5000, run: bare('nat-stack') });
    expect(failures(report)).toEqual([
      'nat-stack/director: ipvs-service -t 192.168.115.111:80',
      'nat-stack/director: ipvs-real -t 192.168.115.111:80 -r 192.168.116.112:80',
      'nat-stack/director: ipvs-real -t 192.168.115.111:80 -r 192.168.116.113:80',
      'nat-stack/director: sysctl net.ipv4.ip_forward',
      'nat-stack/director: sysctl net.ipv4.vs.expire_nodest_conn',
      'nat-stack/director: sysctl net.ipv4.vs.expire_quiescent_template',
      'nat-stack/web1: route default via 192.168.116.111',
      'nat-stack/web2: route default via 192.168.116.111',
    ]);
  });

  it.each(['dr-stack', 'tun-stack'])('%s: every VIP, ARP and IPVS check fails; DIPs, RIPs and modules pass', async (stack) => {
    const report = await verifyStacks([plans[stack]], { timeoutMs: 5000, run: bare(stack) });
    const checks = report.hosts.flatMap((h) => h.checks);
    for (const c of checks) {
      // rp_filter is 0 by default on the lab's hosts: already as TUN needs it.
      const shouldPass = c.kind === 'module' || /^(DIP|RIP) /.test(c.item) || c.item.endsWith('.rp_filter');
      expect([c.item, c.status]).toEqual([c.item, shouldPass ? 'pass' : 'fail']);
    }
    expect(report.exitCode).toBe(EXIT.DRIFT);
  });
});

describe('drift recorded outputs: each fails naming exactly that item', () => {
  it('an extra real server (ipvsadm -a)', async () => {
    const report = await verifyRecorded(
      'nat-stack',
      on('director', (o) => o.replace('@@@ lvs-verify ipvs-rc', '-a -t 192.168.115.111:80 -r 192.168.116.114:80 -m -w 1\n@@@ lvs-verify ipvs-rc')),
    );
    expect(failures(report)).toEqual(['nat-stack/director: ipvs-real -t 192.168.115.111:80 -r 192.168.116.114:80']);
    const c = report.hosts[0].checks.find((x) => x.status === 'fail')!;
    expect([c.expected, c.actual, c.note]).toEqual(['absent', '-a -t 192.168.115.111:80 -r 192.168.116.114:80 -m -w 1', 'real server not declared']);
    expect(report.exitCode).toBe(EXIT.DRIFT);
  });

  it('a changed weight (ipvsadm -e)', async () => {
    const report = await verifyRecorded(
      'dr-stack',
      on('director', (o) => o.replace('-r 192.168.115.113:80 -g -w 1', '-r 192.168.115.113:80 -g -w 3')),
    );
    expect(failures(report)).toEqual(['dr-stack/director: ipvs-real -t 192.168.115.110:80 -r 192.168.115.113:80']);
    const c = report.hosts[0].checks.find((x) => x.status === 'fail')!;
    expect(c.note).toBe('weight 1 → 3');
    expect(c.actual).toBe('-a -t 192.168.115.110:80 -r 192.168.115.113:80 -g -w 3');
  });

  it('a removed VIP on the director (ip addr del on ens33)', async () => {
    const report = await verifyRecorded('dr-stack', on('director', (o) => o.replace(/^.*192\.168\.115\.110\/32.*\n/m, '')));
    expect(failures(report)).toEqual(['dr-stack/director: address VIP 192.168.115.110/32 on ens33']);
  });

  it('a removed VIP on a TUN real server (ip addr del on tunl0)', async () => {
    const report = await verifyRecorded('tun-stack', on('web2', (o) => o.replace(/^.*tunl0 +inet 192\.168\.100\.101\/32.*\n/m, '')));
    expect(failures(report)).toEqual(['tun-stack/web2: address VIP 192.168.100.101/32 on tunl0']);
    expect(report.hosts[2].checks.find((c) => c.status === 'fail')!.note).toBe('VIP missing');
  });

  it('arp_ignore reset to 0 (sysctl -w net.ipv4.conf.all.arp_ignore=0)', async () => {
    const report = await verifyRecorded('dr-stack', on('web2', (o) => o.replace('net/ipv4/conf/all/arp_ignore=1', 'net/ipv4/conf/all/arp_ignore=0')));
    expect(failures(report)).toEqual(['dr-stack/web2: sysctl net.ipv4.conf.all.arp_ignore']);
    const c = report.hosts[2].checks.find((x) => x.status === 'fail')!;
    expect([c.expected, c.actual]).toEqual(['1', '0']);
  });

  it('a VIP also on the data interface of a DR real server', async () => {
    const report = await verifyRecorded(
      'dr-stack',
      on('web1', (o) => o.replace('@@@ lvs-verify route', '3: ens33    inet 192.168.115.110/24 scope global ens33\\ x\n@@@ lvs-verify route')),
    );
    expect(failures(report)).toEqual(['dr-stack/web1: address VIP 192.168.115.110/32 on lo']);
  });

  it('a missing host route, NAT default route elsewhere, tunl0 down, ip_forward off', async () => {
    expect(failures(await verifyRecorded('dr-stack', on('web1', (o) => o.replace(/^192\.168\.115\.110 dev lo.*\n/m, ''))))).toEqual([
      'dr-stack/web1: route 192.168.115.110/32 dev lo',
    ]);
    expect(
      failures(await verifyRecorded('nat-stack', on('web2', (o) => o.replace(/^default via 192\.168\.116\.111 dev ens33/m, 'default via 192.168.116.1 dev ens33')))),
    ).toEqual(['nat-stack/web2: route default via 192.168.116.111']);
    expect(failures(await verifyRecorded('tun-stack', on('web1', (o) => o.replace('tunl0 0x81', 'tunl0 0x80'))))).toEqual([
      'tun-stack/web1: link tunl0',
    ]);
    expect(failures(await verifyRecorded('tun-stack', on('director', (o) => o.replace('net/ipv4/ip_forward=1', 'net/ipv4/ip_forward=0'))))).toEqual([
      'tun-stack/director: sysctl net.ipv4.ip_forward',
    ]);
  });

  it('a missing real server and a changed scheduler', async () => {
    const report = await verifyRecorded(
      'tun-stack',
      on('director', (o) => o.replace(/^-a .*192\.168\.100\.2:80.*\n/m, '').replace('-s rr', '-s wlc')),
    );
    expect(failures(report)).toEqual([
      'tun-stack/director: ipvs-service -t 192.168.100.101:80',
      'tun-stack/director: ipvs-real -t 192.168.100.101:80 -r 192.168.100.2:80',
    ]);
    expect(report.hosts[0].checks.filter((c) => c.status === 'fail').map((c) => c.note)).toEqual(['scheduler rr → wlc', 'real server missing']);
  });

  it('a health-checked service: a server keepalived took out is down (exit 4), not drift; a changed weight is still drift', () => {
    const e = plans['tun-stack'].hosts[0].expectation;
    const checked = { ...e, ipvs: { ...e.ipvs!, checked: ['-t 192.168.100.101:80'] } };
    const out = fixture('tun-stack', 'director');
    const removed = out.replace(/^-a .*192\.168\.100\.2:80.*\n/m, '');
    const down = (o: string) => evaluate(checked, o).filter((c) => c.status !== 'pass' && c.status !== 'info').map((c) => [c.status, c.item, c.note]);
    expect(down(removed)).toEqual([['down', '-t 192.168.100.101:80 -r 192.168.100.2:80', 'out of rotation: its health check fails']]);
    // inhibit_on_failure: the failed server stays at weight 0.
    expect(down(out.replace(/^(-a .*192\.168\.100\.2:80.*) -w 1/m, '$1 -w 0'))).toEqual([['down', '-t 192.168.100.101:80 -r 192.168.100.2:80', 'out of rotation: its health check fails']]);
    expect(down(out.replace(/^(-a .*192\.168\.100\.2:80.*) -w 1/m, '$1 -w 3'))).toEqual([['fail', '-t 192.168.100.101:80 -r 192.168.100.2:80', 'weight 1 → 3']]);
    // The same server missing from a service without a check is drift.
    expect(evaluate(e, removed).filter((c) => c.status === 'fail').map((c) => c.note)).toEqual(['real server missing']);

    // A sorry server: at weight 0 while the quorum holds; at weight 1 (keepalived took the passing servers out) it is down too.
    const sorryLine = (w: number) => `-a -t 192.168.100.101:80 -r 192.168.100.9:80 -i -w ${w} --tun-type ipip`;
    const sorry = { ...checked, ipvs: { ...checked.ipvs, rules: [...checked.ipvs.rules, sorryLine(0)], sorry: [sorryLine(0)] } };
    const standingBy = out.replace(/^(-A -t 192\.168\.100\.101:80 .*)$/m, `$1\n${sorryLine(0)}`);
    const serving = out.replace(/^-a .*\n/gm, '').replace(/^(-A -t 192\.168\.100\.101:80 .*)$/m, `$1\n${sorryLine(1)}`);
    const notPassing = (exp: typeof e, o: string) => evaluate(exp, o).filter((c) => c.status !== 'pass' && c.status !== 'info').map((c) => [c.status, c.item, c.note]);
    expect(notPassing(sorry, standingBy)).toEqual([]);
    expect(notPassing(sorry, serving)).toEqual([
      ['down', '-t 192.168.100.101:80 -r 192.168.100.1:80', 'out of rotation: the sorry server serves instead'],
      ['down', '-t 192.168.100.101:80 -r 192.168.100.2:80', 'out of rotation: the sorry server serves instead'],
      ['down', '-t 192.168.100.101:80 -r 192.168.100.9:80', 'the sorry server serves: the real servers passing their checks fall short of the quorum'],
    ]);
    // Another weight, or the sorry server gone, is drift.
    expect(notPassing(sorry, standingBy.replace(sorryLine(0), sorryLine(2)))).toEqual([['fail', '-t 192.168.100.101:80 -r 192.168.100.9:80', 'weight 0 → 2']]);
    expect(notPassing(sorry, out)).toEqual([['fail', '-t 192.168.100.101:80 -r 192.168.100.9:80', 'sorry server missing']]);

    const host = (status: 'ok' | 'degraded') => ({ stack: 's', name: 'd', role: 'director' as const, target: 't', status, ms: 1, checks: [] });
    expect(exitCodeOf([host('ok'), host('degraded')])).toBe(EXIT.DEGRADED);
    expect(exitCodeOf([host('ok')])).toBe(EXIT.OK);
  });

  it('services of other owners are info unless the stack owns the whole table', async () => {
    const other = (o: string) =>
      o.replace('@@@ lvs-verify ipvs-rc', '-A -u 192.168.115.111:53 -s wrr\n-a -u 192.168.115.111:53 -r 192.168.116.120:53 -m -w 1\n@@@ lvs-verify ipvs-rc');
    const report = await verifyRecorded('nat-stack', on('director', other));
    expect(failures(report)).toEqual([]);
    const info = report.hosts[0].checks.filter((c) => c.status === 'info');
    expect(info.map((c) => [c.kind, c.item])).toEqual([['ipvs-service', '-u 192.168.115.111:53']]);

    const e = plans['nat-stack'].hosts[0].expectation;
    const owning = { ...e, ipvs: { ...e.ipvs!, ownsWholeTable: true } };
    const checks = evaluate(owning, other(fixture('nat-stack', 'director')));
    expect(checks.filter((c) => c.status === 'fail').map((c) => c.item)).toEqual(['-u 192.168.115.111:53']);
  });

  it('timeouts the director sets: each one compared, only those given; the table size as ip_vs runs with it', () => {
    const [nat] = defineStacks(Testing.app(), { stacks: { 'nat-stack': { director: { tunables: { tcpFinTimeout: 7, udpTimeout: 45, connTableBits: 10 } } } } });
    const e = directorExpectation(topologyOf(fullJson(nat), 'nat-stack')!.directors[0]);
    expect(e.timeouts).toEqual({ tcpFin: 7, udp: 45 });
    expect(probeCommand(e)).toContain('ipvsadm -L --timeout 2>&1');
    const out = (line: string) => fixture('nat-stack', 'director').replace('@@@ lvs-verify end', `@@@ lvs-verify timeouts\n${line}\n@@@ lvs-verify end`);
    const timeouts = (line: string) => evaluate(e, out(line)).filter((c) => c.kind === 'timeout');
    expect(timeouts('Timeout (tcp tcpfin udp): 900 7 45').map((c) => [c.item, c.status])).toEqual([
      ['ipvsadm timeout tcpfin', 'pass'],
      ['ipvsadm timeout udp', 'pass'],
    ]);
    expect(timeouts('Timeout (tcp tcpfin udp): 900 120 45').map((c) => [c.item, c.status, c.actual])).toEqual([
      ['ipvsadm timeout tcpfin', 'fail', '120'],
      ['ipvsadm timeout udp', 'pass', '45'],
    ]);
    expect(timeouts('sh: 1: ipvsadm: not found').map((c) => [c.item, c.status, c.actual])).toEqual([
      ['ipvsadm timeout tcpfin', 'fail', 'unreadable: sh: 1: ipvsadm: not found'],
      ['ipvsadm timeout udp', 'fail', 'unreadable: sh: 1: ipvsadm: not found'],
    ]);
    expect(directorExpectation(plans['nat-stack'].topology.directors[0]).timeouts).toBeUndefined();

    const size = (line: string) =>
      evaluate(e, fixture('nat-stack', 'director').replace('@@@ lvs-verify end', `@@@ lvs-verify params\n${line}\n@@@ lvs-verify end`))
        .filter((c) => c.item === 'ip_vs conn_tab_bits')
        .map((c) => [c.status, c.actual, c.note]);
    expect(probeCommand(e)).toContain(`for p in 'ip_vs/parameters/conn_tab_bits'; do`);
    expect(size('ip_vs/parameters/conn_tab_bits=10')).toEqual([['pass', '10', undefined]]);
    expect(size('ip_vs/parameters/conn_tab_bits=12')).toEqual([['fail', '12', 'applies when ip_vs is next loaded (at boot)']]);
    expect(size('')).toEqual([['fail', 'not loaded', undefined]]);
  });

  it('ipvsadm is not run where ip_vs is not loaded (it would load it): one failure says so', async () => {
    const cmd = probeCommand(plans['nat-stack'].hosts[0].expectation);
    expect(cmd).toContain("echo '@@@ lvs-verify ipvs'\nif [ -d /sys/module/ip_vs ]; then\nipvsadm -Sn 2>&1\n");
    const report = await verifyRecorded(
      'nat-stack',
      on('director', (o) => o.replace(/@@@ lvs-verify ipvs\n[\s\S]*?@@@ lvs-verify ipvs-rc 0/, '@@@ lvs-verify ipvs\n@@@ lvs-verify ipvs-rc ip_vs-not-loaded')),
    );
    const failed = report.hosts[0].checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => [c.kind, c.item, c.actual])).toEqual([['ipvs', 'ipvsadm -Sn', 'not run: ip_vs not loaded']]);
  });

  it('a failing ipvsadm and truncated output are reported, not crashed on', async () => {
    const report = await verifyRecorded(
      'nat-stack',
      (h, o) => (h === 'director' ? o.replace(/@@@ lvs-verify ipvs\n[\s\S]*?@@@ lvs-verify ipvs-rc 0/, '@@@ lvs-verify ipvs\nsh: 1: ipvsadm: not found\n@@@ lvs-verify ipvs-rc 127') : o.slice(0, 40)),
    );
    expect(failures(report)).toEqual(['nat-stack/director: ipvs ipvsadm -Sn']);
    expect(report.hosts.map((h) => h.status)).toEqual(['drift', 'error', 'error']);
    expect(report.exitCode).toBe(EXIT.DRIFT);
  });
});

describe('a director pair', () => {
  // dr-stack's director paired with a second one on its LAN, whose interface has another name:
  // both run the recorded director's probe output, one without the VIP.
  const stack = new TerraformStack(Testing.app(), 'dr-stack');
  const d1 = new LvsDirector(stack, 'director', { connection: { host: '127.0.0.1', port: 2221 }, interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }] });
  const d2 = new LvsDirector(stack, 'director2', { connection: { host: '127.0.0.1', port: 2225 }, interfaces: [{ name: 'eth0', address: '192.168.115.108/24' }] });
  const web = d1.addService('web', { vip: '192.168.115.110', scheduler: 'rr' });
  new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 60 });
  for (const [n, address] of [[1, '192.168.115.112/24'], [2, '192.168.115.113/24']] as const) {
    web.addRealServer(new DrRealServer(stack, `web${n}`, { connection: { host: '127.0.0.1', port: 2221 + n }, dataInterface: { name: 'ens33', address } }));
  }
  const plan = planStack(parseStack('dr-stack', fullJson(stack)));
  const withVip = fixture('dr-stack', 'director');
  const withoutVip = withVip.replace(/^.* 192\.168\.115\.110\/32 .*\n/m, '');
  const run = (holding: number[]) => async (target: SshTarget): Promise<RunResult> => {
    const recorded = holding.includes(target.port) ? withVip : withoutVip;
    // The second director has its own DIP, on eth0.
    const director = target.port === 2225 ? recorded.replace(/192\.168\.115\.111\/24/g, '192.168.115.108/24').replace(/\bens33\b/g, 'eth0') : recorded;
    const stdout = target.port === 2221 || target.port === 2225 ? director : fixture('dr-stack', target.port === 2222 ? 'web1' : 'web2');
    return { ok: true, stdout, stderr: '', code: 0, ms: 1 };
  };
  const pairChecks = async (holding: number[]) => {
    const report = await verifyStacks([plan], { timeoutMs: 5000, run: run(holding) });
    const pair = report.hosts.find((h) => h.role === 'pair')!;
    return { name: pair.name, checks: pair.checks.map((c) => [c.status, c.item, c.actual]), exit: report.exitCode, failures: failures(report) };
  };

  it('expects the VIP on exactly one of the two: either is in step, neither or both is drift', async () => {
    const item = 'VIP 192.168.115.110/32';
    expect(await pairChecks([2221])).toEqual({ name: 'pair dr-stack/director + dr-stack/director2', checks: [['pass', item, 'dr-stack/director']], exit: EXIT.OK, failures: [] });
    expect(await pairChecks([2225])).toEqual({ name: 'pair dr-stack/director + dr-stack/director2', checks: [['pass', item, 'dr-stack/director2']], exit: EXIT.OK, failures: [] });
    expect((await pairChecks([])).checks).toEqual([['fail', item, 'neither']]);
    expect((await pairChecks([2221, 2225])).checks).toEqual([['fail', item, 'dr-stack/director, dr-stack/director2']]);
    expect((await pairChecks([])).exit).toBe(EXIT.DRIFT);
  });
});

describe('iptables chains and fou, against output as the lab prints it', () => {
  const hosts = (() => {
    const stack = new TerraformStack(Testing.app(), 'fw');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    d.addService('mark', { fwmark: 10, vip: '10.0.0.70', markRules: [{ ports: [80, '8000-8100'] }] })
      .addRealServer(new TunRealServer(stack, 'gue', { connection: { host: 'gue' }, dataInterface: { name: 'eth0', address: '10.0.0.2/24' }, tunnel: { type: 'gue', mss: 'auto' } }));
    return new Map(expectationsOf(topologyOf(fullJson(stack), 'fw')!).map((e) => [e.name.split('/').pop()!, e]));
  })();
  const lb = hosts.get('lb')!;
  const gue = hosts.get('gue')!;
  const chain = (e: HostExpectation) => e.chains[0].name;
  /** A probe output with these sections (name, lines). */
  const output = (sections: [string, string[]][]) => ['@@@ lvs-verify begin', ...sections.flatMap(([n, l]) => [`@@@ lvs-verify ${n}`, ...l]), '@@@ lvs-verify end'].join('\n');
  const failed = (e: HostExpectation, out: string) => evaluate(e, out).filter((c) => ['chain', 'fou'].includes(c.kind) && c.status === 'fail').map((c) => c.item);

  const marks = (gen: string, rules: string[]) => [
    '-P PREROUTING ACCEPT',
    `-A PREROUTING -j ${chain(lb)}-${gen}`,
    `-N ${chain(lb)}-${gen}`,
    ...rules.map((r) => `-A ${chain(lb)}-${gen} -d 10.0.0.70/32 -p tcp -m tcp --dport ${r} -j MARK --set-xmark 0xa/0xffffffff`),
    'iptables: No chain/target/match by that name.',
  ];
  const clamp = (mtu: number, mss: number) => [
    `mtu ${mtu}`,
    '-P OUTPUT ACCEPT',
    `-A OUTPUT -j ${chain(gue)}-a`,
    `-N ${chain(gue)}-a`,
    `-A ${chain(gue)}-a -s 10.0.0.70/32 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${mss}`,
  ];

  it('reads the chains only where their table is loaded, the MTU with a built-in, fou only for GUE', () => {
    expect(probeCommand(lb)).toContain(
      `if [ -d /sys/module/iptable_mangle ] || [ -d /sys/module/nft_compat ]; then for c in 'PREROUTING' '${chain(lb)}-a' '${chain(lb)}-b'; do iptables -w -t mangle -S "$c" 2>&1; done; else echo 'mangle table not loaded'; fi`,
    );
    expect(probeCommand(lb)).not.toContain('fou');
    expect(probeCommand(gue)).toContain("if read -r m < '/sys/class/net/eth0/mtu'; then echo \"mtu $m\"; fi");
    expect(probeCommand(gue)).toContain('if [ -d /sys/module/fou ]; then ip fou show 2>&1; fi');
    expect(gue.fouPorts).toEqual([6080]);
  });

  it('passes the declared marking rules in either generation, and names a missing, an extra or a second generation', () => {
    const section = `chain:iptables:${chain(lb)}`;
    expect(failed(lb, output([[section, marks('a', ['80', '8000:8100'])]]))).toEqual([]);
    expect(failed(lb, output([[section, marks('b', ['8000:8100', '80'])]]))).toEqual([]);
    const rule = (p: string) => `marking iptables PREROUTING -d 10.0.0.70/32 -p tcp -m tcp --dport ${p} -j MARK --set-xmark 0xa/0xffffffff`;
    expect(failed(lb, output([[section, marks('a', ['80', '443'])]]))).toEqual([rule('8000:8100'), rule('443')]);
    expect(failed(lb, output([[section, [...marks('a', ['80', '8000:8100']), `-A PREROUTING -j ${chain(lb)}-b`]]]))).toEqual([`marking iptables PREROUTING -j ${chain(lb)}`]);
    // Module not loaded: nothing read, so the chain is not entered.
    expect(failed(lb, output([[section, ['mangle table not loaded']]]))).toEqual([`marking iptables PREROUTING -j ${chain(lb)}`]);
    expect(evaluate(lb, output([[section, ['mangle table not loaded']]])).find((c) => c.kind === 'chain')!.note).toBe('mangle table not loaded: no chain can be there');
  });

  it('an auto MSS clamp is the MTU read on the host less the GUE overhead; a missing fou port fails', () => {
    const section = `chain:iptables:${chain(gue)}`;
    const fou: [string, string[]] = ['fou', ['port 6080 gue']];
    expect(failed(gue, output([[section, clamp(1500, 1428)], fou]))).toEqual([]);
    expect(failed(gue, output([[section, clamp(1400, 1428)], fou]))).toEqual([
      'MSS clamp iptables OUTPUT -s 10.0.0.70/32 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1328',
      'MSS clamp iptables OUTPUT -s 10.0.0.70/32 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1428',
    ]);
    expect(failed(gue, output([[section, clamp(1500, 1428).slice(1)], fou]))).toEqual(['MSS clamp iptables OUTPUT MTU of eth0']);
    expect(failed(gue, output([[section, clamp(1500, 1428)], ['fou', ['port 5555 gue']]]))).toEqual(['fou port 6080']);
    expect(failed(gue, output([[section, clamp(1500, 1428)]]))).toEqual(['fou port 6080']);
  });
});

describe('connection thresholds, against ipvsadm -Ln --thresholds as the lab prints it', () => {
  const e = (() => {
    const stack = new TerraformStack(Testing.app(), 'th');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    const web = d.addService('web', { vip: '10.0.0.70' });
    const mark = d.addService('mark', { fwmark: 3 });
    for (const n of [2, 3]) {
      const r = new DrRealServer(stack, `web${n}`, { connection: { host: `w${n}` }, dataInterface: { name: 'eth0', address: `10.0.0.${n}/24` } });
      web.addRealServer(r, n === 2 ? { upperThreshold: 5, lowerThreshold: 2 } : {});
      if (n === 2) mark.addRealServer(r, { upperThreshold: 7 });
    }
    return directorExpectation(topologyOf(fullJson(stack), 'th')!.directors[0]);
  })();
  const listing = (web2: string) =>
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
      '  -> RemoteAddress:Port',
      'TCP  10.0.0.70:80 wlc',
      `  -> 10.0.0.2:80                 ${web2}          0          0         `,
      '  -> 10.0.0.3:80                 0          0          0          0         ',
      'FWM  3 wlc',
      '  -> 10.0.0.2:0                  7          0          0          0         ',
    ].join('\n');
  const checks = (web2: string) =>
    evaluate(e, `@@@ lvs-verify begin\n@@@ lvs-verify thresholds\n${listing(web2)}\n@@@ lvs-verify end`)
      .filter((c) => c.kind === 'threshold')
      .map((c) => [c.item, c.status, c.actual]);

  it('checks every real server once any has a threshold; one changed by hand is named', () => {
    expect(probeCommand(e)).toContain('ipvsadm -Ln --thresholds 2>&1');
    expect(checks('5          2')).toEqual([
      ['-t 10.0.0.70:80 -r 10.0.0.2:80', 'pass', 'upper 5 lower 2'],
      ['-t 10.0.0.70:80 -r 10.0.0.3:80', 'pass', 'upper 0 lower 0'],
      ['-f 3 -r 10.0.0.2:0', 'pass', 'upper 7 lower 0'],
    ]);
    expect(checks('9          2')[0]).toEqual(['-t 10.0.0.70:80 -r 10.0.0.2:80', 'fail', 'upper 9 lower 2']);
    const unreadable = evaluate(e, '@@@ lvs-verify begin\n@@@ lvs-verify thresholds\nipvsadm: invalid option -- \'-\'\n@@@ lvs-verify end').filter((c) => c.kind === 'threshold');
    expect(unreadable.map((c) => [c.item, c.status])).toEqual([['ipvsadm -Ln --thresholds', 'fail']]);
    expect(probeCommand(plans['dr-stack'].hosts[0].expectation)).not.toContain('--thresholds');
  });
});

describe('parsers', () => {
  it('reads ip -o addr and ip route as the lab prints them', () => {
    expect(parseAddresses(['1: lo    inet 192.168.115.110/32 scope global lo:0\\       valid_lft forever preferred_lft forever'])).toEqual([
      { dev: 'lo', cidr: '192.168.115.110/32', address: '192.168.115.110' },
    ]);
    expect(parseRoutes(['default via 192.168.116.111 dev ens33 metric 5', '192.168.115.110 dev lo scope link ', 'blackhole 10.0.0.0/8'])).toEqual([
      { destination: 'default', via: '192.168.116.111', dev: 'ens33', metric: 5, line: 'default via 192.168.116.111 dev ens33 metric 5' },
      { destination: '192.168.115.110', dev: 'lo', via: undefined, metric: 0, line: '192.168.115.110 dev lo scope link' },
    ]);
  });

  it('persistence adds expire_quiescent_template on the director', () => {
    const [nat] = defineStacks(Testing.app(), { stacks: { 'nat-stack': { service: { persistence: { timeout: 300 } } } } });
    const e = directorExpectation(topologyOf(fullJson(nat), 'nat-stack')!.directors[0]);
    expect(e.sysctls).toContainEqual({ key: 'net.ipv4.vs.expire_quiescent_template', value: '1' });
  });
});

describe('traffic', () => {
  it('reports the distribution of answers recorded from the lab client', () => {
    for (const stack of ['nat-stack', 'tun-stack']) {
      const [target] = trafficTargets(plans[stack].topology);
      const answers = parseAnswers(fixture(stack, 'traffic'));
      expect(answers.length).toBe(6);
      const d = distribution(target, answers);
      expect(d.failed).toBe(0);
      expect(d.byServer.reduce((n, s) => n + s.count, 0)).toBe(6);
      expect(d.byServer.every((s) => s.count > 0)).toBe(true);
      expect(trafficChecks(target, d, 6).filter((c) => c.status !== 'pass')).toEqual([]);
    }
  });

  it('fails on failed requests and on a server that never answers under rr', () => {
    const [target] = trafficTargets(plans['nat-stack'].topology);
    const out = ['@@@ lvs-verify begin', ...Array(4).fill('@@@ lvs-verify req\nweb1 (192.168.116.112)'), '@@@ lvs-verify req', 'curl: (28) Connection timed out', '@@@ lvs-verify failed 28', '@@@ lvs-verify end'].join('\n');
    const checks = trafficChecks(target, distribution(target, parseAnswers(out)), 5);
    expect(checks.filter((c) => c.status === 'fail').map((c) => [c.item, c.actual])).toEqual([
      ['-t 192.168.115.111:80 answers', '4/5'],
      ['-t 192.168.115.111:80 -r 192.168.116.113:80', '0 (0%)'],
    ]);
  });
});

describe('cli arguments', () => {
  it('parses stacks and options', () => {
    expect(parseArgs(['dr-stack', '--json', '--timeout', '5', '--traffic', '127.0.0.1:2229', '--requests=10'])).toMatchObject({
      stacks: ['dr-stack'], json: true, timeoutSeconds: 5, traffic: { host: '127.0.0.1', port: 2229 }, requests: 10,
    });
    expect(() => parseArgs(['--timeout', 'x'])).toThrow(/--timeout/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown option/);
  });
});

// ------------------------------------------------------------------ SSH

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ssh2 = require('ssh2') as any;

describe('ssh: unreachable hosts are reported within the timeout', () => {
  let dir: string;
  let keyPath: string;
  let silent: NetServer;
  const sockets: Socket[] = [];
  let silentPort: number;
  let closedPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lvs-verify-ssh-'));
    keyPath = join(dir, 'id_ed25519');
    writeFileSync(keyPath, ed25519KeyPair().private, { mode: 0o600 });
    // Accepts TCP, never says a word.
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a closed port and a port that never speaks SSH: unreachable, exit 2, bounded', async () => {
    const plan = plans['dr-stack'];
    const ports = [closedPort, silentPort, silentPort];
    const redirected: StackPlan = {
      ...plan,
      hosts: plan.hosts.map((h, i) => ({ ...h, target: { ...h.target, host: '127.0.0.1', port: ports[i], privateKeyPath: keyPath } })),
    };
    const started = Date.now();
    const report = await verifyStacks([redirected], { timeoutMs: 2000 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(4000);
    expect(report.hosts.map((h) => h.status)).toEqual(['unreachable', 'unreachable', 'unreachable']);
    expect(report.hosts[0].error).toMatch(/ECONNREFUSED/);
    expect(report.hosts[1].error).toMatch(/handshake|no answer within 2 s/);
    expect(report.hosts[0].ms).toBeLessThan(1500);
    expect(report.exitCode).toBe(EXIT.UNREACHABLE);
    expect(formatText(report)).toMatch(/UNREACHABLE/);
  });

  describe('against an ssh2 server', () => {
    const hostKey = ed25519KeyPair();
    let server: any;
    let port: number;
    const commands: string[] = [];

    beforeAll(async () => {
      server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client: any) => {
        client.on('error', () => undefined);
        client.on('authentication', (ctx: any) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
        client.on('ready', () => {
          client.on('session', (accept: any) => {
            accept().on('exec', (acceptExec: any, _reject: any, info: any) => {
              commands.push(info.command);
              const stream = acceptExec();
              stream.write(fixture('dr-stack', 'web1'));
              stream.exit(0);
              stream.end();
            });
          });
          // Forwarded channels for the bastion case.
          client.on('tcpip', (accept: any, _reject: any, info: any) => {
            const ch = accept();
            const sock = netConnect(info.destPort, info.destIP);
            sock.on('error', () => ch.destroy());
            ch.pipe(sock).pipe(ch);
          });
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = server.address().port;
    });

    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
      host: '127.0.0.1', port, user: 'root', privateKeyPath: keyPath, hostKey: hostKey.public, ...extra,
    });

    it('runs the probe with a pinned host key', async () => {
      const res = await runOnHost(target(), 'probe', 5000);
      expect(res.ok).toBe(true);
      expect(res.ok && res.stdout).toBe(fixture('dr-stack', 'web1'));
      expect(commands).toContain('probe');
    });

    it('refuses a host presenting another key', async () => {
      const other = ed25519KeyPair().public;
      const res = await runOnHost(target({ hostKey: other }), 'probe', 5000);
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error).toMatch(/does not match the pinned key/);
    });

    it('goes through a bastion with a forwarded channel', async () => {
      const res = await runOnHost(target({ bastion: { host: '127.0.0.1', port, user: 'root', privateKeyPath: keyPath, hostKey: hostKey.public } }), 'via', 5000);
      expect(res.ok).toBe(true);
      expect(commands).toContain('via');
    });

    it('the whole run on a host that answers: its report, the others unreachable', async () => {
      const plan = plans['dr-stack'];
      const ports = [closedPort, port, silentPort];
      const redirected: StackPlan = {
        ...plan,
        hosts: plan.hosts.map((h, i) => ({ ...h, target: { ...h.target, port: ports[i], privateKeyPath: keyPath, hostKey: hostKey.public } })),
      };
      const report = await verifyStacks([redirected], { timeoutMs: 2000 });
      expect(report.hosts.map((h) => h.status)).toEqual(['unreachable', 'ok', 'unreachable']);
      expect(report.exitCode).toBe(EXIT.UNREACHABLE);
    });
  });
});
