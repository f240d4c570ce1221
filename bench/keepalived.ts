/**
 * Health checks and director failover on the lab, several trials each, with
 * the load loop from dr-client through the VIP: how long a real server whose
 * web server stopped stays in the table, and how many requests fail
 * meanwhile, for two check settings; how long the VIP is away when the
 * active director's data link is cut, for VRRPv2 at 1 s and VRRPv3 at 0.2 s,
 * and whether the faster one fails over without a fault.
 * Writes the "keepalived" section of docs/benchmarks.md.
 */
import { DR_PAIR, LoadLoop, LoadResult, lab, labAppProject, pairApp, secondsUntil, sh, vipHolders } from '../lab/client';
import { machine, stat, writeSection } from './common';
import { useLab } from './lab';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const { vip: VIP, dev: DEV, client: CLIENT } = DR_PAIR;
const DIRECTORS = DR_PAIR.directors.map((d) => d.host);
const WEB1 = DR_PAIR.webs[0].host;
const RIP1 = `${DR_PAIR.webs[0].address.split('/')[0]}:80`;

useLab('lab/topology.conf', [...DIRECTORS, ...DR_PAIR.webs.map((w) => w.host), CLIENT]);
const project = labAppProject('bench-pair', pairApp(DR_PAIR));
const load = new LoadLoop(CLIENT, VIP);

const active = () => {
  secondsUntil('the VIP on exactly one director', () => vipHolders(DIRECTORS, DEV, VIP).length === 1, 30);
  return vipHolders(DIRECTORS, DEV, VIP)[0];
};
const inTable = (director: string, rip: string) => sh(director, 'ipvsadm -Sn').includes(`-r ${rip} `);

interface CheckTrial {
  readonly exit: number;
  readonly failed: number;
  readonly back: number;
}
interface FailoverTrial {
  readonly takeover: number;
  readonly gap: number;
  readonly failed: number;
}

/** Stops apache2 on web1: seconds until the active director's keepalived takes it out, failed requests; then back. */
function checkTrial(): CheckTrial {
  const on = active();
  load.start();
  sh(CLIENT, 'sleep 1');
  sh(WEB1, 'systemctl stop apache2');
  const exit = secondsUntil(`${RIP1} out`, () => !inTable(on, RIP1), 60);
  sh(CLIENT, 'sleep 2');
  const l: LoadResult = load.stop();
  sh(WEB1, 'systemctl start apache2');
  const back = secondsUntil(`${RIP1} back`, () => inTable(on, RIP1), 60);
  return { exit, failed: l.failed.length, back };
}

/** Cuts the active director's data link: seconds until the other holds the VIP, the longest gap, failed requests. */
function failoverTrial(): FailoverTrial {
  const on = active();
  const other = DIRECTORS.find((d) => d !== on)!;
  load.start();
  sh(CLIENT, 'sleep 2');
  lab('link', on, DEV, 'down');
  const takeover = secondsUntil(`${other} holds the VIP`, () => vipHolders(DIRECTORS, DEV, VIP).includes(other), 60);
  sh(CLIENT, 'sleep 4');
  const l = load.stop();
  lab('link', on, DEV, 'up');
  // Back as backup (no preemption) before the next trial.
  sh(CLIENT, 'sleep 5');
  return { takeover, gap: l.longestGap, failed: l.failed.length };
}

/** VIP moves while nothing is wrong, over `seconds`. */
function spurious(seconds: number): number {
  let holder = active();
  let moves = 0;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const now = vipHolders(DIRECTORS, DEV, VIP);
    if (now.length !== 1 || now[0] !== holder) moves++;
    if (now.length === 1) holder = now[0];
    sh(CLIENT, 'sleep 0.5');
  }
  return moves;
}

const deploy = (check: object, pair: object) => {
  project.env = { LVS_CHECK: JSON.stringify(check), LVS_PAIR: JSON.stringify(pair) };
  project.deploy('bench-pair');
  active();
};

const CHECKS: [string, object, string][] = [
  ['every 1 s, timeout 1 s, 1 retry after 1 s', { intervalSeconds: 1, timeoutSeconds: 1, retries: 1, retryDelaySeconds: 1 }, '1 + 2 x 1 + 1 = 4 s'],
  ['every 3 s, timeout 2 s, 2 retries after 1 s', { intervalSeconds: 3, timeoutSeconds: 2, retries: 2, retryDelaySeconds: 1 }, '3 + 3 x 2 + 2 x 1 = 11 s'],
];
const VRRP: [string, object, string][] = [
  ['VRRPv2, advertisements every 1 s', {}, '3 x 1 + (256 - 100) / 256 x 1 = 3.6 s'],
  ['VRRPv3, advertisements every 0.2 s', { vrrpVersion: 3, advertIntervalSeconds: 0.2 }, '3 x 0.2 + 0.61 x 0.2 = 0.72 s'],
];

const checkRows: string[] = [];
const failoverRows: string[] = [];
try {
  for (const [name, check, bound] of CHECKS) {
    deploy(check, {});
    const trials = Array.from({ length: TRIALS }, checkTrial);
    checkRows.push(`| ${name} | ${bound} | ${stat(trials, (t) => t.exit, 1)} | ${stat(trials, (t) => t.failed, 0)} | ${stat(trials, (t) => t.back, 1)} |`);
    console.log(checkRows[checkRows.length - 1]);
  }
  for (const [name, pair, bound] of VRRP) {
    deploy(CHECKS[0][1], pair);
    const trials = Array.from({ length: TRIALS }, failoverTrial);
    const moves = spurious(60);
    failoverRows.push(`| ${name} | ${bound} | ${stat(trials, (t) => t.takeover, 1)} | ${stat(trials, (t) => t.gap, 2)} | ${stat(trials, (t) => t.failed, 0)} | ${moves} |`);
    console.log(failoverRows[failoverRows.length - 1]);
  }
} finally {
  for (const d of DIRECTORS) lab('link', d, DEV, 'up');
  project.env = {};
  project.destroy('bench-pair');
}

writeSection(
  'keepalived',
  [
    '## Health checks and director failover (issue 14)',
    '',
    `\`npm run bench:keepalived\` on the default lab: a DR pair (dr-director, dr-director2) with an HTTP health check, the load loop from dr-client through the VIP (one new connection every ~20 ms, 5 s timeout), ${TRIALS} trials per row, median (min-max). ${machine()}.`,
    '',
    'apache2 stopped on web1: seconds until the active director\'s keepalived has it out of the table (polled over SSH, tens of ms), requests that failed meanwhile (the ones scheduled to web1: refused), seconds until it is back once apache2 runs again. The bound is keepalived\'s: the fault can come just after a check passed, then `retries + 1` checks fail, each after at most `timeoutSeconds` (a refused connection fails at once, so stops come out well under it), with `retryDelaySeconds` between.',
    '',
    '| check | bound | s to leave the table | failed requests | s to return |',
    '|---|---|---|---|---|',
    ...checkRows,
    '',
    'The active director\'s data link cut (the LAN end of its veth, `lab.sh link`): seconds until the other director holds the VIP, the longest time the client went without an answer, failed requests, and VIP moves in 60 s without a fault afterwards. The bound is VRRP\'s master-down interval for the backup (priority 100); the client then also waits for its TCP SYN retransmission (1 s, then 3 s), so gaps cluster near those; a gap of 5 s is a request that timed out (the load loop\'s bound), counted as failed. Connections in flight carry on through the sync daemon (shown in `director-pair.e2e`).',
    '',
    '| VRRP | master-down bound | s until the other holds the VIP | longest gap, s | failed requests | VIP moves without a fault (60 s) |',
    '|---|---|---|---|---|---|',
    ...failoverRows,
  ].join('\n'),
);
