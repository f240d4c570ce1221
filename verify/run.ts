/**
 * Verification of synthesized stacks against live hosts: one probe per host
 * over SSH, all hosts in parallel, each bounded by the per-host timeout.
 */
import { StackPlan } from './plan';
import { Check, probeCommand, vrrpItem } from './probe';
import { HostReport, Report, hostReport, makeReport, statusOf } from './report';
import type { SshTarget } from '../lib/connection';
import { RunResult, runOnHost, targetLabel } from './ssh';
import { distribution, parseAnswers, trafficChecks, trafficCommand, trafficTargets } from './traffic';

export interface TrafficOptions {
  /** The client host that sends the requests. */
  readonly client: SshTarget;
  readonly requests: number;
}

export interface VerifyOptions {
  /** Per-host bound, connection included. */
  readonly timeoutMs: number;
  readonly traffic?: TrafficOptions;
  /** Hosts checked at once (default 32); each is bounded by `timeoutMs` from its own start. */
  readonly parallel?: number;
  /** How a command reaches a host; replaced in tests. */
  readonly run?: (target: SshTarget, command: string, timeoutMs: number) => Promise<RunResult>;
}

/** Per-request bound of the traffic check (curl -m). */
const REQUEST_SECONDS = 3;

async function trafficReport(plan: StackPlan, t: TrafficOptions, opts: VerifyOptions): Promise<HostReport[]> {
  const run = opts.run ?? runOnHost;
  const targets = trafficTargets(plan.topology);
  return Promise.all(
    targets.map(async (target): Promise<HostReport> => {
      // Every request may take its full bound; the connection gets the usual timeout on top.
      const bound = opts.timeoutMs + t.requests * REQUEST_SECONDS * 1000;
      const res = await run(t.client, trafficCommand(target.url, t.requests, REQUEST_SECONDS), bound);
      const base = { stack: plan.stack, name: `traffic ${target.selector}`, role: 'client' as const, target: targetLabel(t.client), ms: res.ms };
      if (!res.ok) return { ...base, status: 'unreachable', error: res.error, checks: [] };
      const checks = trafficChecks(target, distribution(target, parseAnswers(res.stdout)), t.requests);
      return { ...base, status: statusOf(checks), checks };
    }),
  );
}

/** Runs the tasks with at most `limit` in flight; results in task order. */
async function limited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return results;
}

/**
 * One report per director pair: each VIP held by exactly one of the two,
 * from what each director's vrrp checks found (each on its own interface,
 * whose name may differ). Undecided while one of them could not be checked
 * (that host's own report says why).
 */
export function pairReports(plans: StackPlan[], hosts: HostReport[]): HostReport[] {
  return plans.flatMap((plan) =>
    plan.hosts
      .filter((h) => h.expectation.vrrp && h.expectation.name < h.expectation.vrrp.peer)
      .map((h): HostReport => {
        const names = [h.expectation.name, h.expectation.vrrp!.peer];
        const sides = names.map((n) => ({
          report: hosts.find((r) => r.stack === plan.stack && r.name === n),
          addresses: plan.hosts.find((p) => p.expectation.name === n)?.expectation.vrrp?.addresses ?? [],
        }));
        const checks: Check[] = h.expectation.vrrp!.addresses.map((v) => {
          const item = `VIP ${v.cidr}`;
          const held = sides.map(({ report, addresses }) => {
            const own = addresses.find((a) => a.cidr === v.cidr);
            return own && report?.checks.find((c) => c.kind === 'vrrp' && c.item === vrrpItem(own))?.actual;
          });
          const expected = 'on exactly one director';
          if (held.some((a) => a === undefined)) return { kind: 'vrrp', item, expected, actual: 'unknown', status: 'info', note: 'a director could not be checked' };
          const on = names.filter((_, i) => held[i] === 'held');
          return { kind: 'vrrp', item, expected, actual: on.join(', ') || 'neither', status: on.length === 1 ? 'pass' : 'fail', note: on.length === 1 ? undefined : on.length ? 'held by both: ARP flaps between them' : 'held by neither: the service is down' };
        });
        return { stack: plan.stack, name: `pair ${names.join(' + ')}`, role: 'pair', target: '-', status: statusOf(checks), ms: 0, checks };
      }),
  );
}

export async function verifyStacks(plans: StackPlan[], opts: VerifyOptions): Promise<Report> {
  const run = opts.run ?? runOnHost;
  const tasks = plans.flatMap((plan) =>
    plan.hosts.map((h) => async () => {
      const res = await run(h.target, probeCommand(h.expectation), opts.timeoutMs);
      return hostReport(plan.stack, h.expectation, targetLabel(h.target), res);
    }),
  );
  const hostRuns = limited(tasks, opts.parallel ?? 32);
  const traffic = opts.traffic ? plans.map((p) => trafficReport(p, opts.traffic!, opts)) : [];
  const [hosts, clients] = await Promise.all([hostRuns, Promise.all(traffic)]);
  return makeReport([...hosts, ...pairReports(plans, hosts), ...clients.flat()]);
}
