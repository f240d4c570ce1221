/**
 * The one read-only shell command run on each host, and the comparison of
 * what it prints with what the host should look like. Pure: no SSH here.
 *
 * The command prints sections introduced by `@@@ lvs-verify <name> [arg]`
 * lines. It starts as few programs as possible (each one costs tens of
 * milliseconds on small hosts): `ipvsadm -Sn` on directors (and
 * `ipvsadm -Ln --thresholds`, `ipvsadm -L --timeout` when they set
 * thresholds, timeouts), `ip -o addr`, `ip route` where routes are checked,
 * `iptables -S` for the host's own chains and `ip fou show` for GUE;
 * sysctls, modules, their parameters, link flags and MTUs are read from
 * /proc and /sys with shell built-ins. Nothing that would load a module
 * (ipvsadm loads ip_vs, iptables its table) runs unless the module is loaded.
 */
import { FORWARDING, IpvsRule, IpvsThresholds, IpvsTimeouts, TIMEOUT_NAMES, parseRule, parseThresholds, parseTimeouts } from '../lib/ipvs';
import { MSS_WORD, ModuleParam } from '../lib/scripts/host';
import { sq } from '../lib/scripts/shell';
import { ExpectedAddress, ExpectedChain, ExpectedRoute, HostExpectation } from './expect';

/** `down`: a real server a health check took out of rotation, which is keepalived doing its job, not drift. */
export type CheckStatus = 'pass' | 'fail' | 'info' | 'down';

export type CheckKind = 'ipvs-service' | 'ipvs-real' | 'ipvs' | 'threshold' | 'timeout' | 'chain' | 'fou' | 'address' | 'route' | 'sysctl' | 'module' | 'link' | 'traffic' | 'vrrp';

export interface Check {
  readonly kind: CheckKind;
  /** What is checked, precisely enough to act on (`net.ipv4.conf.all.arp_ignore`, `-t 1.2.3.4:80 -r 10.0.0.2:80`). */
  readonly item: string;
  readonly expected: string;
  readonly actual: string;
  readonly status: CheckStatus;
  /** A short explanation for failures and infos. */
  readonly note?: string;
}

const MARK = '@@@ lvs-verify';
/** What the probe says for ipvsadm's exit status when ip_vs is not loaded (ipvsadm would load it). */
const IP_VS_MISSING = 'ip_vs-not-loaded';
/** What the probe prints for a chain when the mangle table's module is not loaded (iptables would load it). */
const NO_MANGLE = 'mangle table not loaded';

/** /proc/sys path of a sysctl key (dotted, or slash form for names with dots). */
export function sysctlPath(key: string): string {
  return key.includes('/') ? key : key.replace(/\./g, '/');
}

/** A module parameter's path under /sys/module. */
function paramPath(p: ModuleParam): string {
  return `${p.module}/parameters/${p.name}`;
}

/** The command run on the host for this expectation. Read-only; POSIX sh. */
export function probeCommand(e: HostExpectation): string {
  const lines: string[] = [`echo '${MARK} begin'`];
  if (e.ipvs) {
    // ipvsadm loads ip_vs when it is missing: run only when it is loaded.
    const listings = [
      ...(e.ipvs.thresholds ? [`echo '${MARK} thresholds'`, 'ipvsadm -Ln --thresholds 2>&1'] : []),
      ...(e.timeouts ? [`echo '${MARK} timeouts'`, 'ipvsadm -L --timeout 2>&1'] : []),
    ];
    lines.push(
      `echo '${MARK} ipvs'`,
      'if [ -d /sys/module/ip_vs ]; then',
      'ipvsadm -Sn 2>&1',
      `echo "${MARK} ipvs-rc $?"`,
      ...listings,
      'else',
      `echo '${MARK} ipvs-rc ${IP_VS_MISSING}'`,
      'fi',
    );
  }
  lines.push(`echo '${MARK} addr'`, 'ip -o addr show 2>&1');
  if (e.routes.some((r) => !(r.via ?? r.destination).includes(':'))) {
    lines.push(`echo '${MARK} route'`, 'ip route show table main 2>&1');
  }
  if (e.routes.some((r) => (r.via ?? r.destination).includes(':'))) {
    lines.push(`echo '${MARK} route6'`, 'ip -6 route show table main 2>&1');
  }
  if (e.sysctls.length) {
    const paths = e.sysctls.map((s) => sq(sysctlPath(s.key))).join(' ');
    lines.push(
      `echo '${MARK} sysctl'`,
      `for k in ${paths}; do if [ -r "/proc/sys/$k" ] && read -r v < "/proc/sys/$k"; then echo "$k=$v"; else echo "$k"; fi; done`,
    );
  }
  if (e.modules.length) {
    lines.push(
      `echo '${MARK} modules'`,
      `for m in ${e.modules.map(sq).join(' ')}; do if [ -d "/sys/module/$m" ]; then echo "$m"; fi; done`,
    );
  }
  if (e.moduleParams.length) {
    const paths = e.moduleParams.map((p) => sq(paramPath(p))).join(' ');
    lines.push(`echo '${MARK} params'`, `for p in ${paths}; do if [ -r "/sys/module/$p" ] && read -r v < "/sys/module/$p"; then echo "$p=$v"; fi; done`);
  }
  if (e.linksUp.length) {
    lines.push(
      `echo '${MARK} links'`,
      `for l in ${e.linksUp.map(sq).join(' ')}; do if [ -r "/sys/class/net/$l/flags" ] && read -r f < "/sys/class/net/$l/flags"; then echo "$l $f"; fi; done`,
    );
  }
  for (const c of e.chains) {
    lines.push(`echo '${MARK} ${chainSection(c)}'`);
    if (c.mss) lines.push(`if read -r m < ${sq(`/sys/class/net/${c.mss.dev}/mtu`)}; then echo "mtu $m"; fi`);
    // iptables would load the mangle table's module: read only when it is there (no chain can be otherwise).
    const table = c.cmd === 'iptables' ? 'iptable_mangle' : 'ip6table_mangle';
    lines.push(
      `if [ -d /sys/module/${table} ] || [ -d /sys/module/nft_compat ]; then for c in ${[c.hook, `${c.name}-a`, `${c.name}-b`].map(sq).join(' ')}; do ${c.cmd} -w -t mangle -S "$c" 2>&1; done; else echo '${NO_MANGLE}'; fi`,
    );
  }
  if (e.fouPorts.length) lines.push(`echo '${MARK} fou'`, 'if [ -d /sys/module/fou ]; then ip fou show 2>&1; fi');
  lines.push(`echo '${MARK} end'`);
  return lines.join('\n');
}

function chainSection(c: ExpectedChain): string {
  return `chain:${c.cmd}:${c.name}`;
}

/** Sections of the probe's output by name; `-rc` sections keep their argument as the only line. */
export function parseSections(output: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      const [name, ...arg] = line.slice(MARK.length + 1).trim().split(' ');
      current = arg.length ? [arg.join(' ')] : [];
      sections.set(name, current);
      if (arg.length) current = undefined;
    } else if (current && line.trim() !== '') {
      current.push(line.replace(/\r$/, ''));
    }
  }
  return sections;
}

// ---------------------------------------------------------------- ipvsadm

const OPTION_NAMES: Record<string, string> = {
  '-s': 'scheduler',
  '-p': 'persistence',
  '-M': 'netmask',
  '-w': 'weight',
  '--tun-type': 'tunnel type',
};

/** What differs between two rules of the same service or real server: `weight 1 → 3`. */
function ruleDiff(expected: IpvsRule, actual: IpvsRule): string {
  const flag = (r: IpvsRule) => (r.forwarding ? FORWARDING[r.forwarding].flag : undefined);
  const parts: string[] = [];
  if (expected.forwarding !== actual.forwarding) parts.push(`forwarding ${flag(expected) ?? '-'} → ${flag(actual) ?? '-'}`);
  for (const f of new Set([...expected.options.keys(), ...actual.options.keys()])) {
    const a = expected.options.get(f);
    const b = actual.options.get(f);
    if (a !== b) parts.push(`${OPTION_NAMES[f] ?? f} ${a ?? '-'} → ${b ?? '-'}`);
  }
  return parts.join(', ');
}

function ipvsChecks(declared: string[], ownsWholeTable: boolean, checked: ReadonlySet<string>, sorry: string[], live: string[], rc: string | undefined): Check[] {
  if (rc === IP_VS_MISSING) return [{ kind: 'ipvs', item: 'ipvsadm -Sn', expected: 'exit 0', actual: 'not run: ip_vs not loaded', status: 'fail' }];
  if (rc !== undefined && rc !== '0') {
    return [{ kind: 'ipvs', item: 'ipvsadm -Sn', expected: 'exit 0', actual: `exit ${rc}: ${live.join(' ').slice(0, 200)}`, status: 'fail' }];
  }
  const want = declared.map(parseRule).filter((r): r is IpvsRule => !!r);
  const have = live.map(parseRule).filter((r): r is IpvsRule => !!r);
  const checks: Check[] = [];
  const wantServices = new Set(want.filter((r) => r.op === '-A').map((r) => r.selector));
  const liveService = new Map(have.filter((r) => r.op === '-A').map((r) => [r.selector, r]));
  const liveReals = (sel: string) => have.filter((r) => r.op === '-a' && r.selector === sel);
  const sorryOf = new Map(sorry.map(parseRule).filter((r): r is IpvsRule => !!r).map((r) => [r.selector, r]));
  const isSorry = (r: IpvsRule) => sorryOf.get(r.selector)?.real === r.real;
  // keepalived serves from a sorry server (weight 0 → 1) below the quorum, and takes the passing real servers out meanwhile.
  const sorryServing = (sel: string) => liveReals(sel).some((l) => isSorry(l) && l.options.get('-w') !== '0');
  for (const w of want) {
    if (w.op === '-A') {
      const l = liveService.get(w.selector);
      checks.push({
        kind: 'ipvs-service',
        item: w.selector,
        expected: w.line,
        actual: l?.line ?? 'absent',
        status: l && l.line === w.line ? 'pass' : 'fail',
        note: !l ? 'service missing' : l.line !== w.line ? ruleDiff(w, l) : undefined,
      });
    } else {
      const l = liveReals(w.selector).find((r) => r.real === w.real);
      // keepalived deletes a failing server, or with inhibit_on_failure sets its weight to 0; a sorry server serving has weight 1.
      const down = isSorry(w)
        ? l?.line === w.line.replace(/ -w 0\b/, ' -w 1')
        : checked.has(w.selector) && (!l || (l.options.get('-w') === '0' && l.line === w.line.replace(/ -w \d+/, ' -w 0')));
      const outNote = isSorry(w) ? 'the sorry server serves: the real servers passing their checks fall short of the quorum' : sorryServing(w.selector) ? 'out of rotation: the sorry server serves instead' : 'out of rotation: its health check fails';
      checks.push({
        kind: 'ipvs-real',
        item: `${w.selector} -r ${w.real}`,
        expected: w.line,
        actual: l?.line ?? 'absent',
        status: l && l.line === w.line ? 'pass' : down ? 'down' : 'fail',
        note: down ? outNote : !l ? `${isSorry(w) ? 'sorry' : 'real'} server missing` : l.line !== w.line ? ruleDiff(w, l) : undefined,
      });
    }
  }
  // Real servers in this stack's services that it does not declare.
  for (const sel of wantServices) {
    for (const l of liveReals(sel)) {
      if (want.some((w) => w.op === '-a' && w.selector === sel && w.real === l.real)) continue;
      checks.push({ kind: 'ipvs-real', item: `${sel} -r ${l.real}`, expected: 'absent', actual: l.line, status: 'fail', note: 'real server not declared' });
    }
  }
  // Services of other owners: drift only when this stack owns the whole table.
  for (const [sel, l] of liveService) {
    if (wantServices.has(sel)) continue;
    const n = liveReals(sel).length;
    checks.push({
      kind: 'ipvs-service',
      item: sel,
      expected: ownsWholeTable ? 'absent' : 'not managed by this stack',
      actual: `${l.line} (${n} real server${n === 1 ? '' : 's'})`,
      status: ownsWholeTable ? 'fail' : 'info',
      note: ownsWholeTable ? 'service not declared (this stack owns the whole table)' : 'another owner’s service',
    });
  }
  return checks;
}

/** Each declared real server's thresholds; one missing from the table is left to its ipvs-real check. */
function thresholdChecks(want: IpvsThresholds, lines: string[]): Check[] {
  const live = parseThresholds(lines);
  if (live.size === 0) {
    const actual = lines.length ? `unreadable: ${lines.join(' ').slice(0, 200)}` : 'not run';
    return [{ kind: 'threshold', item: 'ipvsadm -Ln --thresholds', expected: 'the declared real servers', actual, status: 'fail' }];
  }
  const show = (t: { upper: number; lower: number }) => `upper ${t.upper} lower ${t.lower}`;
  return [...want].flatMap(([real, w]): Check[] => {
    const l = live.get(real);
    if (!l) return [];
    const ok = l.upper === w.upper && l.lower === w.lower;
    return [{ kind: 'threshold', item: real, expected: show(w), actual: show(l), status: ok ? 'pass' : 'fail' }];
  });
}

/** Each timeout the director sets against `ipvsadm -L --timeout`. */
function timeoutChecks(want: IpvsTimeouts, lines: string[]): Check[] {
  const live = parseTimeouts(lines);
  return TIMEOUT_NAMES.filter(([k]) => want[k] !== undefined).map(([k, name]) => {
    const actual = live ? String(live[k]) : `unreadable: ${lines.join(' ').slice(0, 200)}`;
    return { kind: 'timeout', item: `ipvsadm timeout ${name}`, expected: String(want[k]), actual, status: actual === String(want[k]) ? 'pass' : 'fail' };
  });
}

// ---------------------------------------------------------------- iptables chains and fou

/** One generation of the chain entered from its hook, holding exactly the declared rules. */
function chainChecks(c: ExpectedChain, lines: string[]): Check[] {
  const label = `${c.role} ${c.cmd} ${c.hook}`;
  const entry = `-A ${c.hook} -j `;
  const jumps = lines.filter((l) => l === `${entry}${c.name}-a` || l === `${entry}${c.name}-b`).map((l) => l.slice(entry.length));
  const jump: Check = {
    kind: 'chain',
    item: `${label} -j ${c.name}`,
    expected: `one jump to ${c.name}-a or ${c.name}-b`,
    actual: jumps.length ? jumps.map((j) => `-j ${j}`).join(', ') : 'absent',
    status: jumps.length === 1 ? 'pass' : 'fail',
    note:
      jumps.length === 1
        ? undefined
        : jumps.length
          ? 'more than one generation entered'
          : lines.includes(NO_MANGLE)
            ? `${NO_MANGLE}: no chain can be there`
            : 'chain not entered (iptables rules removed?)',
  };
  if (jumps.length !== 1) return [jump];
  const mtu = /^mtu (\d+)$/.exec(lines.find((l) => l.startsWith('mtu ')) ?? '');
  if (c.mss && !mtu) return [jump, { kind: 'chain', item: `${label} MTU of ${c.mss.dev}`, expected: 'readable', actual: 'absent', status: 'fail', note: 'interface missing' }];
  const mss = c.mss && mtu ? String(Number(mtu[1]) - c.mss.overhead) : undefined;
  const want = c.rules.map((r) => (mss ? r.replace(MSS_WORD, mss) : r));
  const prefix = `-A ${jumps[0]} `;
  const have = lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  return [
    jump,
    ...want.map((r): Check => {
      const ok = have.includes(r);
      return { kind: 'chain', item: `${label} ${r}`, expected: 'present', actual: ok ? 'present' : 'absent', status: ok ? 'pass' : 'fail', note: ok ? undefined : 'rule missing' };
    }),
    ...have
      .filter((r) => !want.includes(r))
      .map((r): Check => ({ kind: 'chain', item: `${label} ${r}`, expected: 'absent', actual: 'present', status: 'fail', note: 'rule not declared' })),
  ];
}

/** `ip fou show`: `port 6080 gue` (with `-6`, `local`, ... after it on some ports). */
function fouChecks(ports: number[], lines: string[]): Check[] {
  const live = new Set(lines.map((l) => /^port (\d+) gue\b/.exec(l.trim())?.[1]).filter((p) => p !== undefined));
  return ports.map((p) => {
    const ok = live.has(String(p));
    return { kind: 'fou', item: `fou port ${p}`, expected: 'gue', actual: ok ? 'gue' : 'absent', status: ok ? 'pass' : 'fail', note: ok ? undefined : 'GUE packets to this port are not decapsulated' };
  });
}

// ---------------------------------------------------------------- addresses and routes

interface LiveAddress {
  readonly dev: string;
  readonly cidr: string;
  readonly address: string;
}

/** `ip -o addr show` lines: `4: ens33    inet 192.168.115.111/24 brd ... scope global ens33\ ...`. */
export function parseAddresses(lines: string[]): LiveAddress[] {
  const out: LiveAddress[] = [];
  for (const line of lines) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)/.exec(line);
    if (!m) continue;
    const dev = m[1].replace(/@.*$/, '');
    const cidr = m[3].includes('/') ? m[3] : `${m[3]}/${m[2] === 'inet6' ? 128 : 32}`;
    out.push({ dev, cidr, address: cidr.split('/')[0] });
  }
  return out;
}

function addressCheck(e: ExpectedAddress, live: LiveAddress[]): Check {
  const address = e.cidr.split('/')[0];
  const on = live.filter((a) => a.address === address);
  const actual = on.length ? on.map((a) => `${a.cidr} on ${a.dev}`).join(', ') : 'absent';
  const exact = on.some((a) => a.dev === e.dev && a.cidr === e.cidr);
  const ok = e.exclusive ? exact && on.length === 1 : exact;
  let note: string | undefined;
  if (!ok) {
    if (!on.length) note = `${e.role} missing`;
    else if (!exact) note = `${e.role} not on ${e.dev} as ${e.cidr}`;
    else note = `${e.role} also on another interface`;
  }
  const expected = `${e.cidr} on ${e.dev}${e.exclusive ? ' only' : ''}`;
  return { kind: 'address', item: `${e.role} ${e.cidr} on ${e.dev}`, expected, actual: ok ? expected : actual, status: ok ? 'pass' : 'fail', note };
}

interface LiveRoute {
  readonly destination: string;
  readonly dev?: string;
  readonly via?: string;
  readonly metric: number;
  readonly line: string;
}

/** `ip route show` lines: `default via 192.168.116.111 dev ens33`, `192.168.115.110 dev lo scope link`. */
export function parseRoutes(lines: string[]): LiveRoute[] {
  const out: LiveRoute[] = [];
  for (const line of lines) {
    const t = line.trim().split(/\s+/);
    if (!t[0] || t[0].startsWith('Error')) continue;
    // Route types other than unicast come first (`local`, `blackhole` ...): not what we check.
    if (['unreachable', 'blackhole', 'prohibit', 'throw', 'local', 'broadcast', 'multicast', 'nat', 'anycast'].includes(t[0])) continue;
    const destination = t[0];
    const get = (k: string) => {
      const n = t.indexOf(k, 1);
      return n >= 0 ? t[n + 1] : undefined;
    };
    out.push({ destination, dev: get('dev'), via: get('via'), metric: Number(get('metric') ?? 0), line: t.join(' ') });
  }
  return out;
}

function sameDestination(a: string, b: string): boolean {
  const norm = (d: string) => (d === 'default' || d.includes('/') ? d : `${d}/${d.includes(':') ? 128 : 32}`);
  return norm(a) === norm(b) || (a === 'default' && b === '::/0') || (b === 'default' && a === '::/0');
}

function routeCheck(e: ExpectedRoute, live: LiveRoute[]): Check {
  const matching = live.filter((r) => sameDestination(r.destination, e.destination)).sort((a, b) => a.metric - b.metric);
  // The route in effect is the one with the lowest metric.
  const best = matching[0];
  const ok = !!best && best.dev === e.dev && (e.via === undefined || best.via === e.via);
  const expected = `${e.destination}${e.via ? ` via ${e.via}` : ''} dev ${e.dev}`;
  return {
    kind: 'route',
    item: e.destination === 'default' ? `default via ${e.via}` : `${e.destination} dev ${e.dev}`,
    expected,
    actual: matching.length ? matching.map((r) => r.line).join('; ') : 'absent',
    status: ok ? 'pass' : 'fail',
    note: ok ? undefined : matching.length ? 'route points elsewhere' : 'route missing',
  };
}

// ---------------------------------------------------------------- evaluation

/** The checks for one host, from its expectation and the probe's output. */
/** A director's vrrp check names the VIP and its interface there: `VIP 10.0.0.100/32 on ens33`. */
export function vrrpItem(v: { readonly cidr: string; readonly dev: string }): string {
  return `VIP ${v.cidr} on ${v.dev}`;
}

export function evaluate(e: HostExpectation, output: string): Check[] {
  const s = parseSections(output);
  if (!s.has('begin') || !s.has('end')) {
    throw new Error(`incomplete probe output (${output.length} bytes): ${output.slice(-300)}`);
  }
  const checks: Check[] = [];
  if (e.ipvs) checks.push(...ipvsChecks(e.ipvs.rules, e.ipvs.ownsWholeTable, new Set(e.ipvs.checked), e.ipvs.sorry, s.get('ipvs') ?? [], s.get('ipvs-rc')?.[0]));
  // Without ip_vs nothing was listed: the ipvs check says so once.
  const listed = s.get('ipvs-rc')?.[0] !== IP_VS_MISSING;
  if (e.ipvs?.thresholds && listed) checks.push(...thresholdChecks(e.ipvs.thresholds, s.get('thresholds') ?? []));
  if (e.timeouts && listed) checks.push(...timeoutChecks(e.timeouts, s.get('timeouts') ?? []));

  const addrs = parseAddresses(s.get('addr') ?? []);
  for (const a of e.addresses) checks.push(addressCheck(a, addrs));
  // Which of a pair holds a VIP is VRRP's choice: each director says what it holds; the pair check counts them.
  for (const v of e.vrrp?.addresses ?? []) {
    const held = addrs.some((a) => a.cidr === v.cidr && a.dev === v.dev);
    checks.push({ kind: 'vrrp', item: vrrpItem(v), expected: `here or on ${e.vrrp!.peer}`, actual: held ? 'held' : 'not held', status: 'info' });
  }

  const routes = [...parseRoutes(s.get('route') ?? []), ...parseRoutes(s.get('route6') ?? [])];
  for (const r of e.routes) checks.push(routeCheck(r, routes));

  const sysctls = new Map<string, string | undefined>();
  for (const line of s.get('sysctl') ?? []) {
    const n = line.indexOf('=');
    if (n < 0) sysctls.set(line.trim(), undefined);
    else sysctls.set(line.slice(0, n), line.slice(n + 1).trim());
  }
  for (const { key, value } of e.sysctls) {
    const actual = sysctls.get(sysctlPath(key));
    checks.push({
      kind: 'sysctl',
      item: key,
      expected: value,
      actual: actual ?? 'missing',
      status: actual === value ? 'pass' : 'fail',
      note: actual === undefined ? 'no such sysctl (module or interface missing?)' : undefined,
    });
  }

  const loaded = new Set(s.get('modules') ?? []);
  for (const m of e.modules) {
    checks.push({ kind: 'module', item: m, expected: 'loaded', actual: loaded.has(m) ? 'loaded' : 'not loaded', status: loaded.has(m) ? 'pass' : 'fail' });
  }

  for (const c of e.chains) checks.push(...chainChecks(c, s.get(chainSection(c)) ?? []));
  checks.push(...fouChecks(e.fouPorts, s.get('fou') ?? []));

  const params = new Map((s.get('params') ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
  for (const p of e.moduleParams) {
    const actual = params.get(paramPath(p));
    checks.push({
      kind: 'module',
      item: `${p.module} ${p.name}`,
      expected: String(p.value),
      actual: actual ?? 'not loaded',
      status: actual === String(p.value) ? 'pass' : 'fail',
      note: actual !== undefined && actual !== String(p.value) ? `applies when ${p.module} is next loaded (at boot)` : undefined,
    });
  }

  const flags = new Map((s.get('links') ?? []).map((l) => l.trim().split(/\s+/) as [string, string]));
  for (const l of e.linksUp) {
    const f = flags.get(l);
    const up = f !== undefined && (parseInt(f, 16) & 1) === 1;
    checks.push({ kind: 'link', item: l, expected: 'up', actual: f === undefined ? 'absent' : up ? 'up' : 'down', status: up ? 'pass' : 'fail' });
  }
  return checks;
}
