import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { DrRealServer, HealthCheckOptions, LvsDirector, LvsDirectorPair } from '../lib';
import { LvsConfig, RealServerConfig, StackConfig, defineStacks } from '../stacks';
import { diffStack } from '../review/diff';
import { lineDiff } from '../review/line-diff';
import { mermaidOf, mermaidText } from '../review/mermaid';
import { buildReport } from '../review/report';
import { hostLabel } from '../review/labels';
import { StackSynth, parseStack } from '../synth/read';
import { fullJson } from './helpers';

/** Every stack as written to cdk.tf.json. */
function synthAll(config: LvsConfig = {}): Record<string, any> {
  return Object.fromEntries(defineStacks(Testing.app(), config).map((s) => [s.node.id, fullJson(s)]));
}

function stackOf(name: string, config: LvsConfig = {}): StackSynth {
  return parseStack(name, synthAll(config)[name]);
}

const DR_WEB = (n: number, extra: Partial<RealServerConfig> = {}): RealServerConfig => ({
  name: `web${n}`,
  connection: { host: `192.168.115.${111 + n}` },
  interface: { name: 'ens33', address: `192.168.115.${111 + n}/24` },
  webServer: 'httpd',
  ...extra,
});

function drWith(realServers: RealServerConfig[], service: StackConfig['service'] = {}): LvsConfig {
  return { stacks: { 'dr-stack': { realServers, service } } };
}

/** Structural problems that would stop Mermaid from rendering the flowchart (empty when fine). */
function mermaidProblems(src: string): string[] {
  const [first, ...lines] = src.trimEnd().split('\n');
  const problems: string[] = [];
  if (!/^flowchart (LR|TD)$/.test(first)) problems.push(`first line: ${first}`);
  const declared = new Set<string>();
  const id = (name: string, line: string) => {
    if (!/^[A-Za-z0-9_]+$/.test(name)) problems.push(`bad id ${name}: ${line}`);
  };
  const label = (text: string, line: string) => {
    const bare = text.replace(/<br\/>/g, '').replace(/#\d+;/g, '');
    if (/["[\]{}()<>|#]/.test(bare)) problems.push(`unescaped character in label: ${line}`);
  };
  const shapes: Record<string, string> = { '[': ']', '([': '])', '{{': '}}' };
  for (const line of lines) {
    const t = line.trim();
    if (t === 'end' || t === '') continue;
    let m = /^subgraph (\S+?)\["(.*)"\]$/.exec(t) ?? /^(\S+?)(\(\[|\[|\{\{)"(.*)"(\]\)|\]|\}\})$/.exec(t);
    if (m) {
      const [, name, ...rest] = m;
      if (rest.length === 3 && shapes[rest[0]] !== rest[2]) problems.push(`mismatched shape: ${line}`);
      id(name, line);
      if (declared.has(name)) problems.push(`declared twice: ${line}`);
      declared.add(name);
      label(rest.length === 3 ? rest[1] : rest[0], line);
      continue;
    }
    m = /^(\S+) (-->|-\.->|-\.-x)\|"(.*)"\| (\S+)$/.exec(t);
    if (!m) {
      problems.push(`unrecognised line: ${line}`);
      continue;
    }
    for (const end of [m[1], m[4]]) {
      id(end, line);
      if (!declared.has(end)) problems.push(`edge to undeclared node ${end}: ${line}`);
    }
    label(m[3], line);
  }
  return problems;
}

describe('report of each default stack', () => {
  const expected: Record<string, { vip: string; method: string; servers: [string, string][] }> = {
    'nat-stack': { vip: '192.168.115.111:80', method: 'NAT (-m)', servers: [['web1', '192.168.116.112:80'], ['web2', '192.168.116.113:80']] },
    'dr-stack': { vip: '192.168.115.110:80', method: 'DR (-g)', servers: [['web1', '192.168.115.112:80'], ['web2', '192.168.115.113:80']] },
    'tun-stack': { vip: '192.168.100.101:80', method: 'TUN (-i)', servers: [['web1', '192.168.100.1:80'], ['web2', '192.168.100.2:80']] },
  };

  test.each(Object.keys(expected))('%s', (name) => {
    const stack = stackOf(name);
    const report = buildReport(stack);
    expect(report).toMatchSnapshot();
    const want = expected[name];
    expect(report).toContain(`| ${want.vip} | tcp | rr | none | 2 | table step |`);
    for (const [server, target] of want.servers) expect(report).toContain(`| ${server} | ${target} | ${want.method} | 1 | - |`);
    expect(report).toContain('```mermaid\nflowchart LR\n');
    expect(report).not.toContain('What this change does');

    // One section per SSH host, each with a Create and a Destroy part naming every step on that host.
    const sections = report.split('\n### ').slice(1);
    const hosts = [...new Set(stack.steps.map(hostLabel))];
    expect(hosts.length).toBeGreaterThanOrEqual(3);
    for (const host of hosts) {
      const section = sections.find((s) => s.startsWith(`${host} (`));
      expect(section).toBeDefined();
      const [create, destroy] = section!.split('#### Destroy');
      expect(create).toContain('#### Create');
      for (const step of stack.steps.filter((s) => hostLabel(s) === host)) {
        const upPath = Object.keys(step.files).find((p) => p.endsWith('/up.sh'))!;
        expect(create).toContain(`**\`${step.address}\`**`);
        expect(create).toContain(`<summary>${upPath}: what runs at apply and at every boot</summary>`);
        expect(create).toContain(step.files[upPath].trimEnd());
        expect(create).not.toContain('$${');
        expect(destroy).toContain(`**\`${step.address}\`**`);
        expect(destroy).toContain(step.destroy.trimEnd());
      }
    }
  });
});

describe('mermaid diagram', () => {
  const configs: [string, string, LvsConfig][] = [
    ['nat-stack', 'default', {}],
    ['dr-stack', 'default', {}],
    ['tun-stack', 'default', {}],
    ['dr-stack', 'retired server, persistence, thresholds', drWith([DR_WEB(1, { weight: 3, upperThreshold: 100 }), DR_WEB(2, { retired: true })], { scheduler: 'wrr', persistence: { timeout: 300, netmask: '255.255.255.0' } })],
    ['dr-stack', 'health-checked (keepalived)', { stacks: { 'dr-stack': { service: { healthCheck: { type: 'http', path: '/health', statusCodes: [200, '301-302'] } } } } }],
    ['nat-stack', 'NAT port differing from the VIP port', { stacks: { 'nat-stack': { realServers: [{ name: 'app', connection: { host: '10.0.0.5' }, interface: { name: 'eth1', address: '192.168.116.50/24' }, port: 8080 }] } } }],
  ];

  test.each(configs)('%s (%s) is structurally valid', (name, _what, config) => {
    const src = mermaidOf(stackOf(name, config).topology!);
    expect(mermaidProblems(src)).toEqual([]);
  });

  test('a health-checked service names keepalived and its check, in the report and the diagram', () => {
    const stack = stackOf('dr-stack', { stacks: { 'dr-stack': { service: { healthCheck: { type: 'tcp', intervalSeconds: 2, retries: 2, inhibitOnFailure: true } } } } });
    const label = 'keepalived: TCP connect every 2 s, timeout 3 s, 2 retries after 1 s, weight 0 on failure';
    expect(buildReport(stack)).toContain(`| 192.168.115.110:80 | tcp | rr | none | 2 | ${label} |`);
    expect(buildReport(stack)).toContain('**`terraform_data.director_Keepalived`**');
    expect(mermaidOf(stack.topology!)).toContain(label);
  });

  test('a UDP check names the size of its datagram and whether it needs an answer', () => {
    const udp = (healthCheck: HealthCheckOptions) => buildReport(stackOf('dr-stack', { stacks: { 'dr-stack': { service: { port: 53, protocol: 'udp', healthCheck } } } }));
    expect(udp({ type: 'udp', payload: '6c76732d63646b7466', requireReply: true })).toContain('| keepalived: UDP datagram (9 bytes, answer required) every 5 s, timeout 3 s, 1 retry after 1 s |');
    expect(udp({ type: 'udp' })).toContain('| keepalived: UDP datagram every 5 s, timeout 3 s, 1 retry after 1 s |');
  });

  test('a director pair: each director shows its VRRP side, in the report and the diagram', () => {
    const stack = new TerraformStack(Testing.app(), 'ha');
    const lb = (id: string, dip: string) => new LvsDirector(stack, id, { connection: { host: id }, interfaces: [{ name: 'ens33', address: `${dip}/24` }] });
    const [lb1, lb2] = [lb('lb1', '10.0.0.10'), lb('lb2', '10.0.0.9')];
    lb1.addService('http', { vip: '10.0.0.100' }).addRealServer(new DrRealServer(stack, 'web1', { connection: { host: 'web1' }, dataInterface: { name: 'ens33', address: '10.0.0.11/24' } }));
    new LvsDirectorPair(stack, 'pair', { directors: [lb1, lb2], virtualRouterId: 51, preempt: 30 });
    const synth = parseStack('ha', fullJson(stack));
    const report = buildReport(synth);
    expect(report).toContain(
      'Director pair (keepalived holds the VIPs on the active one): pair with lb2: VRRP 51 (v2), priority 150, advertisements every 1 s by unicast to 10.0.0.9 on ens33, preempts after 30 s, connections synchronised, VIPs 10.0.0.100/32 on ens33.',
    );
    expect(report).toContain('pair with lb1: VRRP 51 (v2), priority 100, advertisements every 1 s by unicast to 10.0.0.10 on ens33');
    const src = mermaidOf(synth.topology!);
    expect(src).toContain('VRRP 51 priority 150, pair with lb2');
    expect(mermaidProblems(src)).toEqual([]);
  });

  test('shows the reply path of each method', () => {
    expect(mermaidOf(stackOf('nat-stack').topology!)).toContain('rs0 -.->|"reply via gateway 192.168.116.111"| dir0');
    expect(mermaidOf(stackOf('dr-stack').topology!)).toContain('rs0 -.->|"direct reply"| clients');
  });

  test('escapes characters that would end a label', () => {
    const text = mermaidText(['a "quoted" [x] {y} (z) <b> | #1']);
    expect(mermaidProblems(`flowchart TD\n  n["${text}"]`)).toEqual([]);
    expect(text).toBe('a #34;quoted#34; #91;x#93; #123;y#125; #40;z#41; #60;b#62; #124; #35;1');
  });

  test('the checker itself rejects broken charts', () => {
    expect(mermaidProblems('graph LR\n  a["x"]')).toHaveLength(1);
    expect(mermaidProblems('flowchart LR\n  a -->|"x"| b')).toHaveLength(2);
    expect(mermaidProblems('flowchart LR\n  a["x "y""]')).not.toEqual([]);
    expect(mermaidProblems('flowchart LR\n  a-b["x"]')).not.toEqual([]);
    expect(mermaidProblems('flowchart LR\n  a[x]')).not.toEqual([]);
  });
});

describe('diff against a previous synth', () => {
  const base = stackOf('dr-stack');
  const diffTo = (config: LvsConfig) => diffStack(base, stackOf('dr-stack', config));
  const summaries = (config: LvsConfig) => diffTo(config).hosts.map((h) => h.summary);

  test('no change', () => {
    expect(diffStack(base, stackOf('dr-stack'))).toEqual({ cluster: [], hosts: [], notes: [] });
    expect(buildReport(base, { label: 'main', before: base })).toContain('No change: no host runs anything.');
  });

  test('a real server added', () => {
    const config = drWith([DR_WEB(1), DR_WEB(2), DR_WEB(3)]);
    expect(diffTo(config).cluster).toEqual(['web3 added to 192.168.115.110:80 (DR, weight 1)']);
    expect(summaries(config)).toEqual([
      'scripts change on host 192.168.115.111:22 (dr-stack/director): terraform_data.director_Services is replaced, new create script first, then the old destroy script',
      'new step terraform_data.web3_Host on host 192.168.115.114:22 (dr-stack/web3): its create script runs',
    ]);
    const services = diffTo(config).hosts[0].diffs.map((d) => d.diff).join('\n');
    expect(services).toContain('+-a -t 192.168.115.110:80 -r 192.168.115.114:80 -g -w 1');
  });

  test('a real server retired', () => {
    const config = drWith([DR_WEB(1), DR_WEB(2, { retired: true })]);
    expect(diffTo(config).cluster).toEqual([
      'web2 retired from 192.168.115.110:80: drained and deleted, then its host is cleaned',
    ]);
    expect(summaries(config)).toContain(
      'terraform_data.web2_Host is retired: its destroy script (as recorded in Terraform state) runs on host 192.168.115.113:22 (dr-stack/web2)',
    );
    const report = buildReport(stackOf('dr-stack', config), { label: 'main', before: base });
    expect(report).toContain('### Retired: `terraform_data.web2_Host`\n\nRuns on 192.168.115.113:22');
  });

  test('a real server deleted outright is flagged: its host is not cleaned', () => {
    const config = drWith([DR_WEB(1)]);
    expect(diffTo(config).cluster).toEqual(['web2 removed from 192.168.115.110:80: drained and deleted']);
    expect(summaries(config).join('\n')).toContain(
      'terraform_data.web2_Host leaves the configuration without a `removed` block: Terraform drops it WITHOUT running its destroy script on host 192.168.115.113:22 (dr-stack/web2)',
    );
  });

  test('weights and thresholds change', () => {
    const config = drWith([DR_WEB(1, { weight: 3 }), DR_WEB(2, { upperThreshold: 500 })]);
    expect(diffTo(config).cluster).toEqual([
      'web1 weight 1 → 3 on 192.168.115.110:80',
      'web2 upper threshold 0 → 500 on 192.168.115.110:80',
    ]);
    // Weights live in the director's table, so only its services step runs anything.
    expect(summaries(config)).toEqual([expect.stringMatching(/^scripts change on host 192\.168\.115\.111:22 \(dr-stack\/director\): terraform_data\.director_Services is replaced/)]);
  });

  test('scheduler and persistence change', () => {
    const config = drWith([DR_WEB(1), DR_WEB(2)], { scheduler: 'wrr', persistence: { timeout: 300 } });
    expect(diffTo(config).cluster).toEqual([
      'scheduler rr → wrr on 192.168.115.110:80',
      'persistence none → 300 s on 192.168.115.110:80',
    ]);
    const report = buildReport(stackOf('dr-stack', config), { label: 'origin/main', before: base });
    expect(report).toContain('Compared with `origin/main`.');
    expect(report).toContain('- scheduler rr → wrr on 192.168.115.110:80');
    expect(report).toContain('```diff\n');
  });

  test('a service handed to keepalived, then its check changed', () => {
    const checked = drWith([DR_WEB(1), DR_WEB(2)], { healthCheck: { type: 'http' } });
    expect(diffTo(checked).cluster).toEqual(['owner table step → keepalived: HTTP GET / (200) every 5 s, timeout 3 s, 1 retry after 1 s on 192.168.115.110:80']);
    const tcp = stackOf('dr-stack', drWith([DR_WEB(1), DR_WEB(2)], { healthCheck: { type: 'tcp', intervalSeconds: 2 } }));
    expect(diffStack(stackOf('dr-stack', checked), tcp).cluster).toEqual([
      'owner keepalived: HTTP GET / (200) every 5 s, timeout 3 s, 1 retry after 1 s → keepalived: TCP connect every 2 s, timeout 3 s, 1 retry after 1 s on 192.168.115.110:80',
    ]);
  });

  test('a sorry server added and its quorum changed: in the summary, the service section and the diagram', () => {
    const checked = drWith([DR_WEB(1), DR_WEB(2)], { healthCheck: { type: 'tcp' } });
    const sorry = (quorum: number) => drWith([DR_WEB(1), DR_WEB(2), DR_WEB(3, { sorry: { quorum } })], { healthCheck: { type: 'tcp' } });
    // The sorry server keeps the real servers it replaces at weight 0 (inhibit_on_failure), which the owner line shows.
    expect(diffStack(stackOf('dr-stack', checked), stackOf('dr-stack', sorry(1))).cluster).toEqual([
      'owner keepalived: TCP connect every 5 s, timeout 3 s, 1 retry after 1 s → keepalived: TCP connect every 5 s, timeout 3 s, 1 retry after 1 s, weight 0 on failure on 192.168.115.110:80',
      'sorry server none → web3 192.168.115.114:80 while the passing weight is below 1 on 192.168.115.110:80',
    ]);
    expect(diffStack(stackOf('dr-stack', sorry(1)), stackOf('dr-stack', sorry(2))).cluster).toEqual([
      'sorry server web3 192.168.115.114:80 while the passing weight is below 1 → web3 192.168.115.114:80 while the passing weight is below 2 on 192.168.115.110:80',
    ]);
    const report = buildReport(stackOf('dr-stack', sorry(2)));
    expect(report).toContain('Sorry server (keepalived serves from it alone meanwhile): web3 192.168.115.114:80 while the passing weight is below 2.');
    expect(report).toMatch(/svc0_0 -\.->\|"sorry server below weight 2"\| rs2/);
  });

  test('a running director joining a pair, and a new service naming its owner', () => {
    const cluster = (paired: boolean, newFirst = false) => {
      const stack = new TerraformStack(Testing.app(), 'ha');
      const lb = (id: string, dip: string) => new LvsDirector(stack, id, { connection: { host: id }, interfaces: [{ name: 'ens33', address: `${dip}/24` }] });
      const lb1 = lb('lb1', '10.0.0.10');
      const web1 = new DrRealServer(stack, 'web1', { connection: { host: 'web1' }, dataInterface: { name: 'ens33', address: '10.0.0.11/24' } });
      lb1.addService('http', { vip: '10.0.0.100' }).addRealServer(web1);
      if (paired) {
        lb1.addService('dns', { vip: '10.0.0.100', port: 53, protocol: 'udp', healthCheck: { type: 'udp' } }).addRealServer(web1);
        const lb2 = lb('lb2', '10.0.0.9');
        new LvsDirectorPair(stack, 'pair', { directors: newFirst ? [lb2, lb1] : [lb1, lb2], virtualRouterId: 51 });
      }
      return parseStack('ha', fullJson(stack));
    };
    expect(diffStack(cluster(false), cluster(true)).cluster).toEqual([
      'lb1 no pair → pair with lb2: VRRP 51 (v2), priority 150, advertisements every 1 s by unicast to 10.0.0.9 on ens33, no preemption, connections synchronised, VIPs 10.0.0.100/32 on ens33',
      'service 10.0.0.100:53/udp added on lb1 (udp, scheduler wlc, persistence none, owner keepalived: UDP datagram every 5 s, timeout 3 s, 1 retry after 1 s)',
      'web1 added to 10.0.0.100:53/udp (DR, weight 1)',
      'director lb2 added on host lb2:22',
      'service 10.0.0.100:80 added on lb2 (tcp, scheduler wlc, persistence none, owner table step)',
      'web1 added to 10.0.0.100:80 (DR, weight 1)',
      'service 10.0.0.100:53/udp added on lb2 (udp, scheduler wlc, persistence none, owner keepalived: UDP datagram every 5 s, timeout 3 s, 1 retry after 1 s)',
      'web1 added to 10.0.0.100:53/udp (DR, weight 1)',
    ]);
    // The new director named first would take the VIPs from the running one.
    const warning = 'warning: lb1 serves now but comes second in the new pair: lb2 starts keepalived first and takes the VIPs before lb1 hands them over, so requests fail and connections are reset; name lb1 first in directors';
    expect(diffStack(cluster(false), cluster(true, true)).cluster).toContain(warning);
    expect(diffStack(cluster(false), cluster(true)).cluster.filter((l) => l.startsWith('warning:'))).toEqual([]);
    // Once the pair runs, its order is the operator's choice.
    expect(diffStack(cluster(true, true), cluster(true, true)).cluster).toEqual([]);
  });

  test('a new SSH address only updates the step in place', () => {
    const config = drWith([DR_WEB(1, { connection: { host: '10.0.0.12', port: 2212 } }), DR_WEB(2)]);
    expect(diffTo(config).cluster).toEqual([]);
    expect(summaries(config)).toEqual([
      'terraform_data.web1_Host now connects to host 10.0.0.12:2212 (dr-stack/web1) (was 192.168.115.112:22): updated in place, no script runs',
    ]);
  });

  test('a script change without a new generation runs nothing now', () => {
    const json = synthAll()['dr-stack'];
    json.resource.terraform_data.web1_Host.provisioner[0]['remote-exec'].inline[0] += '\n# changed\n';
    expect(diffStack(base, parseStack('dr-stack', json)).hosts.map((h) => h.summary)).toEqual([
      expect.stringContaining('scripts change on host 192.168.115.112:22 (dr-stack/web1): terraform_data.web1_Host is updated in place: nothing runs now'),
    ]);
  });

  test('a baseline without a recorded topology still lists script changes', () => {
    const old = synthAll()['dr-stack'];
    delete old['//'];
    const diff = diffStack(parseStack('dr-stack', old), stackOf('dr-stack', drWith([DR_WEB(1, { weight: 2 }), DR_WEB(2)])));
    expect(diff.cluster).toEqual([]);
    expect(diff.notes[0]).toMatch(/no recorded topology/);
    expect(diff.hosts).toHaveLength(1);
  });

  test('a new stack', () => {
    expect(diffStack(undefined, base).notes).toEqual(['dr-stack is new: every step is created.']);
  });

  test('a TUN server moving to another tunnel type, in the diff, the report and the diagram', () => {
    const tunWeb = (n: number, tunnel?: RealServerConfig['tunnel']): RealServerConfig => ({
      name: `web${n}`,
      connection: { host: `10.254.0.3${n}` },
      interface: { name: 'eth0', address: `192.168.100.${n}/24` },
      tunnel,
    });
    const tun = (web2?: RealServerConfig['tunnel']) => stackOf('tun-stack', { stacks: { 'tun-stack': { realServers: [tunWeb(1), tunWeb(2, web2)] } } });
    const after = tun({ type: 'gue', port: 5555 });
    expect(diffStack(tun(), after).cluster).toEqual(['web2 forwarding TUN → TUN over GUE port 5555 on 192.168.100.101:80']);
    expect(buildReport(after, { label: 'main', before: tun() })).toContain('| web2 | 192.168.100.2:80 | TUN (-i) over GUE port 5555 |');
    expect(mermaidOf(after.topology!)).toContain('TUN over GUE port 5555, weight 1');
  });
});

describe('config fields of another forwarding method', () => {
  it.each([
    ['dr-stack', { gateway: '192.168.115.111' }, 'dr-stack: cluster.realServers[0].gateway: only a NAT real server has a gateway; this stack is dr'],
    ['nat-stack', { tunnel: { type: 'gre' as const } }, 'nat-stack: cluster.realServers[0].tunnel: only a TUN real server has a tunnel; this stack is nat'],
  ])('%s refuses %j', (stack, extra, message) => {
    const web = { ...DR_WEB(1), ...extra };
    expect(() => synthAll({ stacks: { [stack]: { realServers: [web] } } })).toThrow(message);
  });
});

test('lineDiff shows removed before added lines, with context', () => {
  expect(lineDiff('a\nb\nc\nd\ne\nf', 'a\nb\nC\nd\ne\nf', 1)).toBe(' b\n-c\n+C\n d');
  expect(lineDiff('same', 'same')).toBe('');
});

describe('review CLI', () => {
  const root = join(__dirname, '..');
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lvs-cdktf-review-test-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function writeSynth(dir: string, config: LvsConfig): void {
    for (const [name, json] of Object.entries(synthAll(config))) {
      mkdirSync(join(dir, 'stacks', name), { recursive: true });
      writeFileSync(join(dir, 'stacks', name, 'cdk.tf.json'), JSON.stringify(json, null, 2));
    }
  }

  test('writes one report per stack from --synth-dir, compared with --against', () => {
    writeSynth(join(tmp, 'before'), {});
    writeSynth(join(tmp, 'after'), drWith([DR_WEB(1, { weight: 3 }), DR_WEB(2), DR_WEB(3)], { scheduler: 'wrr' }));
    const out = join(tmp, 'out');
    const r = spawnSync('npx', ['tsx', 'review/cli.ts', '--synth-dir', join(tmp, 'after'), '--against', join(tmp, 'before'), '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['dr-stack', 'nat-stack', 'tun-stack'].map((s) => join(out, `${s}.md`)));
    const dr = readFileSync(join(out, 'dr-stack.md'), 'utf8');
    expect(dr).toContain('- scheduler rr → wrr on 192.168.115.110:80');
    expect(dr).toContain('- web1 weight 1 → 3 on 192.168.115.110:80');
    expect(dr).toContain('- web3 added to 192.168.115.110:80 (DR, weight 1)');
    expect(dr).toContain('- new step terraform_data.web3_Host on host 192.168.115.114:22 (dr-stack/web3)');
    expect(readFileSync(join(out, 'nat-stack.md'), 'utf8')).toContain('No change: no host runs anything.');
  });

  test('synthesizes the checkout and a git ref itself', () => {
    const out = join(tmp, 'out-ref');
    const r = spawnSync('npx', ['tsx', 'review/cli.ts', '--against', 'HEAD', '--out', out, 'nat-stack'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${join(out, 'nat-stack.md')}\n`);
    const report = readFileSync(join(out, 'nat-stack.md'), 'utf8');
    expect(report).toContain('Compared with `HEAD`.');
    expect(report).toContain('| web1 | 192.168.116.112:80 | NAT (-m) | 1 | - |');
  });

  test('rejects an unknown stack with exit status 1', () => {
    const r = spawnSync('npx', ['tsx', 'review/cli.ts', '--synth-dir', join(tmp, 'after'), '--out', join(tmp, 'x'), 'no-such-stack'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no such stack: no-such-stack');
  });
});
