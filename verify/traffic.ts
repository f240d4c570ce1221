/**
 * Optional traffic check: N HTTP requests to each TCP service's VIP from a
 * client host, in one shell command, and how the answers spread over the
 * real servers (the pages the constructs install name their host:
 * "web1 (192.168.116.112)"). Pure: command rendering and analysis.
 */
import { sq } from '../lib/scripts/shell';
import { IpvsService, serviceSelector } from '../lib/ipvs';
import { Topology } from '../lib/topology';
import { hostPort } from '../lib/validation';
import { Check } from './probe';

const MARK = '@@@ lvs-verify';

export interface TrafficTarget {
  /** Service selector, e.g. `-t 192.168.115.111:80`. */
  readonly selector: string;
  readonly url: string;
  readonly service: IpvsService;
}

/** The TCP services of a stack that have a VIP and a port. */
export function trafficTargets(topology: Topology): TrafficTarget[] {
  return topology.directors.flatMap((d) =>
    d.services
      .filter((s) => s.vip !== undefined && s.port !== undefined && (s.protocol ?? 'tcp') === 'tcp')
      .map((s) => ({ selector: serviceSelector(s), url: `http://${hostPort(s.vip!, s.port)}/`, service: s })),
  );
}

/** One command that makes `requests` requests (a new connection each) to the URL. */
export function trafficCommand(url: string, requests: number, perRequestSeconds = 3): string {
  return [
    `echo '${MARK} begin'`,
    'i=0',
    `while [ "$i" -lt ${Math.max(1, Math.floor(requests))} ]; do`,
    '  i=$((i + 1))',
    `  echo '${MARK} req'`,
    `  curl -sS -m ${perRequestSeconds} ${sq(url)} 2>&1 || echo "${MARK} failed $?"`,
    'done',
    `echo '${MARK} end'`,
  ].join('\n');
}

export interface Answer {
  readonly ok: boolean;
  /** First non-empty line of the page, or curl's error. */
  readonly text: string;
}

export function parseAnswers(output: string): Answer[] {
  const answers: Answer[] = [];
  let cur: { lines: string[]; failed?: string } | undefined;
  const flush = () => {
    if (!cur) return;
    const text = cur.lines.find((l) => l.trim() !== '')?.trim() ?? '';
    answers.push(cur.failed !== undefined ? { ok: false, text: text || `curl exit ${cur.failed}` } : { ok: true, text });
  };
  for (const line of output.split('\n')) {
    if (line.startsWith(`${MARK} req`)) {
      flush();
      cur = { lines: [] };
    } else if (line.startsWith(`${MARK} failed`)) {
      if (cur) cur.failed = line.slice(`${MARK} failed`.length).trim();
    } else if (line.startsWith(`${MARK} end`)) {
      flush();
      cur = undefined;
    } else if (cur) {
      cur.lines.push(line.replace(/\r$/, ''));
    }
  }
  return answers;
}

export interface Distribution {
  readonly selector: string;
  readonly requests: number;
  readonly failed: number;
  /** Answers per real server (by `address:port`), then answers no real server claims, by text. */
  readonly byServer: { readonly real: string; readonly server: string; readonly weight: number; readonly count: number }[];
  readonly other: Record<string, number>;
  /** What the first failed request said (curl's error). */
  readonly firstError?: string;
}

/** Which real server wrote an answer: its address in the page ("web1 (192.168.116.112)"), else its construct id as the first word. */
export function distribution(target: TrafficTarget, answers: Answer[]): Distribution {
  const reals = target.service.realServers.map((r) => ({
    real: hostPort(r.address, r.port ?? target.service.port),
    address: r.address,
    id: r.server.split('/').pop() ?? r.server,
    server: r.server,
    weight: r.weight,
    count: 0,
  }));
  const other: Record<string, number> = {};
  for (const a of answers.filter((x) => x.ok)) {
    const words = a.text.split(/[\s()[\],]+/).filter(Boolean);
    const hit = reals.find((r) => words.includes(r.address)) ?? reals.find((r) => words[0] === r.id);
    if (hit) hit.count++;
    else other[a.text.slice(0, 80)] = (other[a.text.slice(0, 80)] ?? 0) + 1;
  }
  return {
    selector: target.selector,
    requests: answers.length,
    failed: answers.filter((a) => !a.ok).length,
    byServer: reals.map(({ real, server, weight, count }) => ({ real, server, weight, count })),
    other,
    firstError: answers.find((a) => !a.ok)?.text.slice(0, 120),
  };
}

/** Schedulers that give every server with weight > 0 a share of a short run of new connections from one client. */
const SPREADING = new Set(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq']);

export function trafficChecks(target: TrafficTarget, d: Distribution, expectedRequests: number): Check[] {
  const pct = (n: number) => (d.requests ? `${Math.round((100 * n) / d.requests)}%` : '-');
  const checks: Check[] = [
    {
      kind: 'traffic',
      item: `${target.selector} answers`,
      expected: `${expectedRequests}/${expectedRequests}`,
      actual: `${d.requests - d.failed}/${expectedRequests}`,
      status: d.failed === 0 && d.requests === expectedRequests ? 'pass' : 'fail',
      note: d.failed
        ? `${d.failed} request(s) failed${d.firstError ? `: ${d.firstError}` : ''}`
        : d.requests !== expectedRequests
          ? 'client output incomplete'
          : undefined,
    },
  ];
  const active = d.byServer.filter((s) => s.weight > 0).length;
  const strict = SPREADING.has(target.service.scheduler) && !target.service.persistence && d.requests - d.failed >= active;
  for (const s of d.byServer) {
    const want = s.weight === 0 ? 0 : undefined;
    let status: Check['status'] = 'info';
    let expected = 'any share';
    if (want === 0) {
      expected = '0 (weight 0)';
      status = s.count === 0 ? 'pass' : 'fail';
    } else if (strict) {
      expected = '≥ 1';
      status = s.count > 0 ? 'pass' : 'fail';
    }
    checks.push({
      kind: 'traffic',
      item: `${target.selector} -r ${s.real}`,
      expected,
      actual: `${s.count} (${pct(s.count)})`,
      status,
      note: status === 'fail' ? (want === 0 ? 'drained server answered' : 'server never answered') : undefined,
    });
  }
  for (const [text, n] of Object.entries(d.other)) {
    checks.push({ kind: 'traffic', item: `${target.selector} other answer`, expected: 'a real server page', actual: `${n}× ${text}`, status: 'info' });
  }
  return checks;
}
