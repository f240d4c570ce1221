/**
 * Drives the lab (bash lab/lab.sh up) for the end-to-end tests and the
 * benchmarks: its hosts (real IPVS kernels reached over real SSH), commands
 * and traffic on them, and cdktf projects that deploy to them with the real
 * cdktf CLI and Terraform. Nothing here needs jest.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Testing } from 'cdktf';
import { ClusterStack, defineStacks, loadConfigFile } from '../stacks';
import { loadStackPlan } from '../verify/plan';
import { failures } from '../verify/report';
import { verifyStacks } from '../verify/run';

export const ROOT = resolve(__dirname, '..');
export const LAB = join(ROOT, 'lab');
export const LAB_CONFIG = join(LAB, 'lab-config.yaml');
export const LAB_STATE = join(LAB, '.state');
const CDKTF = join(ROOT, 'node_modules/.bin/cdktf');
/** How tests and benchmarks run cdktf and Terraform: no update check, no user CLI config, plain output. */
export const CLI_ENV = { CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', FORCE_COLOR: '0', CI: '1' };

interface LabHost {
  name: string;
  /** The UML guest it runs in (`lab.sh guest N`). */
  guest: number;
  sshPort: number;
  interfaces: { name: string; address: string; mac: string }[];
}

export function labHosts(): LabHost[] {
  return JSON.parse(readFileSync(join(LAB_STATE, 'hosts.json'), 'utf8')).hosts;
}

/** Fails with a clear message when the lab is not running. */
export function requireLab(): void {
  const res = spawnSync('bash', [join(LAB, 'lab.sh'), 'status'], { encoding: 'utf8' });
  if (res.status !== 0 || !/lab: up/.test(res.stdout + res.stderr)) {
    throw new Error(`the lab is not running: start it with "npm run lab:up"\n${res.stdout}${res.stderr}`);
  }
}

/** Runs a shell command on a lab host over SSH and returns its stdout. */
export function sh(host: string, command: string, input?: string): string {
  return execFileSync('ssh', ['-F', join(LAB_STATE, 'ssh_config'), host, command], {
    encoding: 'utf8',
    input,
    timeout: 180_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function lab(...args: string[]): string {
  return execFileSync('bash', [join(LAB, 'lab.sh'), ...args], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * A cdktf project directory of its own (cdktf.json pointing at this repo's
 * main.ts), so the tests' Terraform state never mixes with a user's.
 */
export class CdktfProject {
  public readonly dir = mkdtempSync(join(tmpdir(), 'lvs-e2e-'));
  /** The stack config the app reads (LVS_CDKTF_CONFIG). */
  public configFile = LAB_CONFIG;
  /**
   * More environment for cdktf and Terraform, such as a state backend's credentials.
   * @default - none
   */
  public env: NodeJS.ProcessEnv = {};

  constructor() {
    writeFileSync(
      join(this.dir, 'cdktf.json'),
      JSON.stringify({ language: 'typescript', app: `node ${ROOT}/bin/app.js`, sendCrashReports: 'false' }),
    );
  }

  public run(...args: string[]): string {
    const res = spawnSync(CDKTF, args, { cwd: this.dir, encoding: 'utf8', timeout: 900_000, env: this.cliEnv() });
    return this.outcome(args, res.status, `${res.stdout}${res.stderr}`);
  }

  /** `cdktf ARGS` while the test goes on: for a step that waits on something the test does meanwhile. */
  public start(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(CDKTF, args, { cwd: this.dir, env: this.cliEnv() });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill(), 900_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        try {
          resolve(this.outcome(args, code, out));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private cliEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env, LVS_CDKTF_CONFIG: this.configFile, ...CLI_ENV };
  }

  /** The output without colours, or an error with Terraform's error blocks first. */
  private outcome(args: string[], status: number | null, raw: string): string {
    // eslint-disable-next-line no-control-regex
    const out = raw.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
    if (status !== 0) {
      // Terraform's error blocks first: a long deploy log is cut in the middle when a CI summary shows it.
      const errors = out.split('\n').flatMap((line, i, lines) => (/\bError: /.test(line) ? [lines.slice(i, i + 8).join('\n')] : []));
      throw new Error(`cdktf ${args.join(' ')} failed (${status}):\n${errors.join('\n')}\n--- the end of its output:\n${out.slice(-6000)}`);
    }
    return out;
  }

  public deploy(stack: string): string {
    return this.run('deploy', stack, '--auto-approve');
  }

  public destroy(stack: string): string {
    return this.run('destroy', stack, '--auto-approve');
  }

  /** What `npm run verify` finds failing on the hosts of a stack this project synthesized: `host: kind item`. */
  public async verifyFailures(stack: string): Promise<string[]> {
    return failures(await verifyStacks([loadStackPlan(join(this.dir, 'cdktf.out'), stack)], { timeoutMs: 20_000 }));
  }
}

/** Polls `ready` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Seconds until `ready` holds, for timing a fault: `ready` is polled back to
 * back (each poll an SSH command, tens of milliseconds); fails naming `what`
 * after `limitSeconds`.
 */
export function secondsUntil(what: string, ready: () => boolean, limitSeconds: number): number {
  const t0 = Date.now();
  while (!ready()) {
    if (Date.now() - t0 > limitSeconds * 1000) throw new Error(`${what}: not after ${limitSeconds} s`);
  }
  return (Date.now() - t0) / 1000;
}

/** The stack as the lab config builds it, in-process. */
export function labStack(name: string, configFile = LAB_CONFIG): ClusterStack {
  const stack = defineStacks(Testing.app(), loadConfigFile(configFile)).find((s) => s.node.id === name);
  if (!stack) throw new Error(`no stack ${name}`);
  return stack;
}

/** Lab host name for an SSH port on 127.0.0.1. */
export function hostOfPort(port: number): string {
  const host = labHosts().find((h) => h.sshPort === port);
  if (!host) throw new Error(`no lab host on port ${port}`);
  return host.name;
}

/**
 * What the constructs may touch on a host: addresses, links, routes, kernel
 * modules, the IPVS table and its timeouts, the mangle table's rules, the sysctls they set (the whole
 * net.ipv4.vs tree), the files they write, web services. Hosts on one lab LAN
 * share a kernel, so each sees the modules the others loaded.
 */
const SNAPSHOT = String.raw`
echo '## addresses'; ip -o addr show | awk '{ $1 = ""; sub(/valid_lft.*/, ""); print }' | sort
echo '## links'; ip -o link show | awk '{ sub(/@if[0-9]+/, "", $2); print $2, $3 }' | sort
echo '## routes'; ip route show table main | sort; ip -6 route show table main | sort
# ipvsadm loads ip_vs when it is missing: only look when it is loaded.
echo '## modules'; cut -d' ' -f1 /proc/modules | sort
echo '## ipvs'; if [ -d /sys/module/ip_vs ]; then ipvsadm -Sn | sort; ipvsadm -L --timeout; fi
# iptables loads the mangle table's module when it is missing: only look when it is loaded.
echo '## mangle'; if [ -d /sys/module/iptable_mangle ]; then iptables -w -t mangle -S; fi
# IPv6: all.forwarding is what a director sets; per-device entries come with a device's IPv6 state (tunl0's appeared after
# a deploy brought it up, in backend.e2e), not with our settings.
echo '## sysctls'; sysctl -a 2>/dev/null | grep -E '^net\.(ipv4\.(ip_forward|conf\.[^.]+\.(arp_ignore|arp_announce|rp_filter|send_redirects)|vs\.[a-z_]+)|ipv6\.conf\.all\.forwarding) ' | sort
echo '## files'
for d in /etc/sysctl.d /etc/modules-load.d /etc/modprobe.d /etc/systemd/system /etc/systemd/system/multi-user.target.wants /var/lib/lvs-cdktf /var/www/html; do
  ls -A "$d" 2>/dev/null | sed "s|^|$d/|"
done | sort
md5sum /etc/ipvsadm.rules /var/www/html/index.html 2>/dev/null || true
echo '## services'
for s in nginx apache2 keepalived; do echo "$s $(systemctl is-active "$s" 2>/dev/null) $(systemctl is-enabled "$s" 2>/dev/null)"; done
`;

export function snapshot(host: string): string {
  return sh(host, SNAPSHOT);
}

/**
 * A snapshot without its kernel modules: for comparing one host while other
 * hosts on its lab LAN, which share its kernel, have modules of their own loaded.
 */
export function withoutModules(snap: string): string {
  return snap.replace(/^## modules\n(?:(?!## ).*\n)*/m, '');
}

/**
 * For a suite's afterAll: runs its teardown (a destroy), then resets to fresh
 * (`lab.sh reset`) every host that differs from its snapshot `before` or
 * cannot be read, so a suite that failed midway hands no configured or
 * unreachable host to the next suite. A failed teardown is still reported.
 */
export function leaveHostsAsFound(before: Record<string, string>, teardown: () => void): void {
  let failure: unknown;
  try {
    teardown();
  } catch (e) {
    failure = e;
  }
  const differ = Object.keys(before).filter((h) => {
    try {
      return snapshot(h) !== before[h];
    } catch {
      return true;
    }
  });
  if (differ.length > 0) {
    // What a later reader of the CI log needs to find the cause, before the reset wipes it.
    const clues = differ.map((h) => {
      try {
        return `${h}:\n${sh(h, 'systemctl --failed --no-legend --plain; journalctl -p warning -n 15 --no-pager -o short-precise')}`;
      } catch (e) {
        return `${h}: unreachable (${(e as Error).message.split('\n')[0]})`;
      }
    });
    console.warn(`hosts not as this suite found them, reset to fresh: ${differ.join(', ')}\n${clues.join('\n')}`);
    lab('reset', ...differ);
  }
  if (failure) throw failure;
}

/**
 * Requests to the VIP from the client host; returns the page each answer
 * showed, or `FAILED (curl exit N)` (28: no answer in 5 s, 7: refused, 56: reset).
 */
export function curlVip(client: string, vip: string, count: number): string[] {
  const out = sh(client, `for i in $(seq ${count}); do curl -s -m 5 http://${vip}/ || echo "FAILED (curl exit $?)"; done`);
  return out.trim().split('\n');
}

export interface LoadResult {
  sent: number;
  failed: string[];
  /** The longest time in seconds between two answers (from the start, to the stop), request time included: the gap a client sees. */
  longestGap: number;
  /** Answers per real server (the first word of its page). */
  servers: Record<string, number>;
}

/** An address as part of a file name: `fd00:115::1` → `fd00_115__1`. */
function fileSafe(address: string): string {
  return address.replace(/[^0-9A-Za-z]/g, '_');
}

/**
 * From `client`, one datagram to vip:port per source port in turn (lab/udp-ask.pl):
 * the first line of each answer, or `no answer`.
 */
export function udpAnswers(client: string, vip: string, port: number, sourcePorts: readonly number[]): string[] {
  return sh(client, `perl - ${vip} ${port} ${sourcePorts.join(' ')}`, readFileSync(join(LAB, 'udp-ask.pl'), 'utf8')).trim().split('\n');
}

/**
 * A bounded HTTP load loop from a lab client against a VIP (lab/load.pl):
 * started before a step, stopped after it, every failed request recorded.
 * It runs on the client host, so it goes on while a deploy blocks this process.
 */
export class LoadLoop {
  private static readonly MAX_REQUESTS = 50_000;
  private static readonly MAX_SECONDS = 900;
  private readonly files: string;

  constructor(
    private readonly client: string,
    private readonly vip: string,
    private readonly port = 80,
  ) {
    // One set of files per VIP, so loops against an IPv4 and an IPv6 VIP can run at once.
    this.files = `/tmp/lvs-load-${fileSafe(vip)}`;
  }

  public start(): void {
    const f = this.files;
    sh(this.client, `rm -f ${f}.*; cat > ${f}.pl`, readFileSync(join(LAB, 'load.pl'), 'utf8'));
    sh(
      this.client,
      `setsid perl ${f}.pl ${this.vip} ${this.port} ${f}.out ${f}.stop ${LoadLoop.MAX_REQUESTS} ${LoadLoop.MAX_SECONDS} </dev/null >${f}.log 2>&1 &`,
    );
  }

  public stop(): LoadResult {
    const f = this.files;
    const out = sh(this.client, `touch ${f}.stop; for i in $(seq 100); do [ -e ${f}.out ] && break; sleep 0.1; done; cat ${f}.out ${f}.log`);
    const sent = /^sent (\d+)$/m.exec(out);
    if (!sent) throw new Error(`load loop on ${this.client} left no result:\n${out}`);
    return {
      sent: Number(sent[1]),
      longestGap: Number(/^gap (\S+)$/m.exec(out)?.[1]),
      failed: [...out.matchAll(/^failed (.*)$/gm)].map((m) => m[1]),
      servers: Object.fromEntries([...out.matchAll(/^server (\S+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])])),
    };
  }

  /** Runs `step` under load; returns its value and what the load saw. */
  public during<T>(step: () => T): { value: T; load: LoadResult } {
    const { value, loads } = underLoad([this], step);
    return { value, load: loads[0] };
  }
}

/** Runs `step` with every loop of `loops` going; returns its value and what each loop saw, in order. */
export function underLoad<T>(loops: readonly LoadLoop[], step: () => T): { value: T; loads: LoadResult[] } {
  for (const l of loops) l.start();
  let value: T;
  try {
    value = step();
  } catch (e) {
    // Stopped on failure too, so no loop outlives its test.
    for (const l of loops) l.stop();
    throw e;
  }
  return { value, loads: loops.map((l) => l.stop()) };
}

/**
 * Slow downloads through a VIP (lab/slow-get.pl): each keeps its connection
 * established for size/rate seconds, a request in flight during a change.
 */
export class SlowDownloads {
  private readonly files: string;
  private started = 0;

  constructor(
    private readonly client: string,
    private readonly vip: string,
    private readonly path: string,
    private readonly bytesPerSecond = 100_000,
    private readonly maxSeconds = 150,
  ) {
    this.files = `/tmp/lvs-slow-${fileSafe(vip)}`;
  }

  public startOne(): void {
    const f = this.files;
    if (this.started === 0) sh(this.client, `rm -f ${f}.*; cat > ${f}.pl`, readFileSync(join(LAB, 'slow-get.pl'), 'utf8'));
    this.started++;
    sh(
      this.client,
      `setsid perl ${f}.pl ${this.vip} 80 ${this.path} ${this.bytesPerSecond} ${this.maxSeconds} ${f}.${this.started} </dev/null >/dev/null 2>&1 &`,
    );
  }

  /** "STATUS BODY_BYTES" of each download, once all ended ("timeout BYTES" for a stalled one). */
  public results(): string[] {
    const f = this.files;
    const out = sh(this.client, `for i in $(seq ${this.started}); do while [ ! -e ${f}.$i ]; do sleep 1; done; cat ${f}.$i; done`);
    return out.trim().split('\n');
  }
}

/**
 * Runs `body` with slow downloads (`size` bytes at 100 kB/s, from `client`
 * through `vip`) in flight, at least one of them on the real server `rip`
 * (its ActiveConn on `director` above 0); the file is on each of `webs` for
 * as long as `body` runs.
 */
export function withDownloadOn(
  at: { readonly client: string; readonly director: string; readonly vip: string; readonly rip: string; readonly webs: string[]; readonly size: number },
  body: (slow: SlowDownloads) => void,
): void {
  for (const h of at.webs) sh(h, `head -c ${at.size} /dev/zero > /var/www/html/big.bin`);
  try {
    const slow = new SlowDownloads(at.client, at.vip, '/big.bin');
    const rip = at.rip.replace(/\./g, '\\.');
    const active = () => Number(new RegExp(`-> ${rip}\\s+\\S+\\s+\\S+\\s+(\\d+)`).exec(sh(at.director, `ipvsadm -Ln -t ${at.vip}:80`))?.[1] ?? 0);
    for (let i = 0; i < 10 && active() === 0; i++) {
      slow.startOne();
      sh(at.client, 'sleep 0.5');
    }
    if (active() === 0) throw new Error(`no download through ${at.vip} went to ${at.rip} in 10 tries`);
    body(slow);
  } finally {
    for (const h of at.webs) sh(h, 'rm -f /var/www/html/big.bin');
  }
}

/**
 * A project whose app declares one stack on the lab: `body` runs with
 * `App`, `TerraformStack` and this repo's lib constructs in scope, plus `app`,
 * `stack` (named `stackName`), `key` (the lab's SSH key) and `at(port)` (the
 * connection to the lab host on that port), and the app is synthesized after it.
 */
export function labAppProject(stackName: string, body: string): CdktfProject {
  const project = new CdktfProject();
  const source = [
    `import { App, TerraformStack } from ${JSON.stringify(join(ROOT, 'node_modules/cdktf'))};`,
    `import { DrRealServer, LvsDirector, LvsDirectorPair, NatRealServer, SCHEDULERS, TunRealServer } from ${JSON.stringify(join(ROOT, 'lib'))};`,
    `const key = ${JSON.stringify(join(LAB_STATE, 'id_ed25519'))};`,
    "const at = (port: number) => ({ host: '127.0.0.1', port, privateKeyPath: key });",
    'const app = new App();',
    `const stack = new TerraformStack(app, ${JSON.stringify(stackName)});`,
    body,
    'app.synth();',
  ];
  writeFileSync(join(project.dir, 'app.ts'), source.join('\n'));
  writeFileSync(
    join(project.dir, 'cdktf.json'),
    JSON.stringify({ language: 'typescript', app: `${join(ROOT, 'node_modules/.bin/tsx')} app.ts`, sendCrashReports: 'false' }),
  );
  return project;
}

/** A host of a lab cluster: its name, SSH port and data-plane address (`address/prefix`); a NAT director's inside one too. */
export interface LabNode {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly inside?: { readonly dev: string; readonly address: string };
}

/** A director pair on one lab cluster, as the pair suites and the failover benchmark deploy it. */
export interface PairLab {
  readonly forwarding: 'nat' | 'dr' | 'tun';
  readonly vip: string;
  /** The data interface of every host of the cluster. */
  readonly dev: string;
  readonly directors: readonly [LabNode, LabNode];
  readonly webs: readonly [LabNode, LabNode];
  /** The real servers' data interface (NAT: on the inside LAN). */
  readonly webDev: string;
  readonly webServer: 'nginx' | 'httpd';
  readonly client: string;
  /** NAT: the floating gateway of the real servers. */
  readonly gateway?: string;
  /** DR: an IPv6 service beside the IPv4 one, its VIP and the hosts' IPv6 addresses (`address/prefix`) on the data interface. */
  readonly ipv6?: { readonly vip: string; readonly directors: readonly [string, string]; readonly webs: readonly [string, string] };
}

export const DR_PAIR: PairLab = {
  forwarding: 'dr',
  vip: '192.168.115.110',
  dev: 'ens33',
  directors: [
    { host: 'dr-director', port: 2221, address: '192.168.115.111/24' },
    { host: 'dr-director2', port: 2225, address: '192.168.115.108/24' },
  ],
  webs: [
    { host: 'dr-web1', port: 2222, address: '192.168.115.112/24' },
    { host: 'dr-web2', port: 2223, address: '192.168.115.113/24' },
  ],
  webDev: 'ens33',
  webServer: 'httpd',
  client: 'dr-client',
};

/** The lab's IPv6 addresses of DR_PAIR's hosts (fd00:<subnet>::<host>) and an IPv6 VIP beside its IPv4 one. */
export const DR_PAIR_IPV6: NonNullable<PairLab['ipv6']> = {
  vip: 'fd00:115::110',
  directors: ['fd00:115::111/64', 'fd00:115::108/64'],
  webs: ['fd00:115::112/64', 'fd00:115::113/64'],
};

export const NAT_PAIR: PairLab = {
  forwarding: 'nat',
  vip: '192.168.115.110',
  dev: 'ens33',
  directors: [
    { host: 'nat-director', port: 2211, address: '192.168.115.111/24', inside: { dev: 'ens34', address: '192.168.116.111/24' } },
    { host: 'nat-director2', port: 2215, address: '192.168.115.108/24', inside: { dev: 'ens34', address: '192.168.116.108/24' } },
  ],
  webs: [
    { host: 'nat-web1', port: 2212, address: '192.168.116.112/24' },
    { host: 'nat-web2', port: 2213, address: '192.168.116.113/24' },
  ],
  webDev: 'ens33',
  webServer: 'nginx',
  client: 'nat-client',
  gateway: '192.168.116.110/24',
};

export const TUN_PAIR: PairLab = {
  forwarding: 'tun',
  vip: '192.168.100.101',
  dev: 'eth0',
  directors: [
    { host: 'tun-director', port: 2231, address: '192.168.100.100/24' },
    { host: 'tun-director2', port: 2235, address: '192.168.100.99/24' },
  ],
  webs: [
    { host: 'tun-web1', port: 2232, address: '192.168.100.1/24' },
    { host: 'tun-web2', port: 2233, address: '192.168.100.2/24' },
  ],
  webDev: 'eth0',
  webServer: 'nginx',
  client: 'tun-client',
};

/**
 * A labAppProject body for the pair `p` (VRRP router 60) serving its VIP
 * on port 80 from its two web servers with an HTTP health check. LVS_PAIR
 * (JSON) adds to the pair's props; LVS_CHECK (JSON) replaces the check's
 * timing (every 1 s, 1 s timeout, 1 retry after 1 s); LVS_SINGLE=1 leaves
 * the second director and the pair out (the same ids otherwise).
 */
export function pairApp(p: PairLab): string {
  const director = (id: string, d: LabNode, i: number) => {
    const inside = d.inside ? `, { name: '${d.inside.dev}', address: '${d.inside.address}' }` : '';
    const v6 = p.ipv6 ? `, { name: '${p.dev}', address: '${p.ipv6.directors[i]}' }` : '';
    return `new LvsDirector(stack, '${id}', { connection: at(${d.port}), interfaces: [{ name: '${p.dev}', address: '${d.address}' }${v6}${inside}], drainSeconds: 60 })`;
  };
  const server = { nat: 'NatRealServer', dr: 'DrRealServer', tun: 'TunRealServer' }[p.forwarding];
  return [
    "const pairOptions = JSON.parse(process.env.LVS_PAIR ?? '{}');",
    `const check = JSON.parse(process.env.LVS_CHECK ?? '{ "intervalSeconds": 1, "timeoutSeconds": 1, "retries": 1, "retryDelaySeconds": 1 }');`,
    `const d1 = ${director('director', p.directors[0], 0)};`,
    `const web = d1.addService('web', { vip: '${p.vip}', scheduler: 'rr', healthCheck: { type: 'http', ...check } });`,
    ...(p.ipv6 ? [`const web6 = d1.addService('web6', { vip: '${p.ipv6.vip}', scheduler: 'rr', healthCheck: { type: 'http', ...check } });`] : []),
    // LVS_SINGLE=1: the first director on its own, as before a second one joins it. NAT servers
    // added after the pair take its floating gateway, without it the director's address.
    "if (process.env.LVS_SINGLE !== '1') {",
    `  const d2 = ${director('director2', p.directors[1], 1)};`,
    `  new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 60, ${p.gateway ? `gateway: '${p.gateway}', ` : ''}...pairOptions });`,
    '}',
    ...p.webs.flatMap((w, i) => {
      const v6 = p.ipv6 ? `, ipv6Address: '${p.ipv6.webs[i]}'` : '';
      return [
        `const web${i + 1} = new ${server}(stack, 'web${i + 1}', { connection: at(${w.port}), dataInterface: { name: '${p.webDev}', address: '${w.address}'${v6} }, webServer: { kind: '${p.webServer}' } });`,
        `web.addRealServer(web${i + 1});`,
        ...(p.ipv6 ? [`web6.addRealServer(web${i + 1});`] : []),
      ];
    }),
  ].join('\n');
}

/** The hosts among `hosts` holding `address/prefix` (a VIP's prefix: 32, or 128 for IPv6) on `dev`; one that cannot be reached (rebooting) holds nothing. */
export function vipHolders(hosts: string[], dev: string, address: string, prefix = address.includes(':') ? '128' : '32'): string[] {
  const family = address.includes(':') ? '-6' : '-4';
  return hosts.filter((h) => {
    try {
      return sh(h, `ip -o ${family} addr show dev ${dev}`).includes(` ${address}/${prefix} `);
    } catch {
      return false;
    }
  });
}

export function sortedLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l)
    .sort();
}

/** Every file under a directory, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
