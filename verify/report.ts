/**
 * Results of a verification run: per host, pure evaluation of a probe's
 * result into a host report, the exit code, and the text and JSON forms.
 */
import { HostExpectation } from './expect';
import { Check, evaluate } from './probe';
import { RunResult } from './ssh';

/**
 * ok: every check passed; degraded: no check failed, but a health check has
 * a real server out of rotation; drift: some check failed; unreachable: no
 * SSH session; error: the probe could not be read.
 */
export type HostStatus = 'ok' | 'degraded' | 'drift' | 'unreachable' | 'error';

export interface HostReport {
  readonly stack: string;
  /** Construct path (`nat-stack/director`), or `traffic from <client>`. */
  readonly name: string;
  readonly role: 'director' | 'real-server' | 'client' | 'pair';
  /** How it was reached: `127.0.0.1:2211`. */
  readonly target: string;
  readonly status: HostStatus;
  readonly error?: string;
  readonly ms: number;
  readonly checks: Check[];
}

export interface Report {
  readonly version: 1;
  readonly exitCode: ExitCode;
  readonly hosts: HostReport[];
  readonly summary: {
    readonly hosts: number;
    readonly checks: number;
    readonly failed: number;
    /** Real servers out of rotation by their health check. */
    readonly down: number;
    readonly drifted: number;
    readonly unreachable: number;
  };
}

/**
 * 0 in step; 1 drift found; 2 some host could not be checked (and no drift
 * found elsewhere); 3 usage or synth error; 4 in step but degraded: health
 * checks have real servers out of rotation (and nothing worse was found).
 */
export const EXIT = { OK: 0, DRIFT: 1, UNREACHABLE: 2, ERROR: 3, DEGRADED: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function statusOf(checks: Check[]): HostStatus {
  if (checks.some((c) => c.status === 'fail')) return 'drift';
  return checks.some((c) => c.status === 'down') ? 'degraded' : 'ok';
}

/** A host's report from its probe's result. Pure. */
export function hostReport(stack: string, e: HostExpectation, target: string, result: RunResult): HostReport {
  const base = { stack, name: e.name, role: e.role, target, ms: result.ms };
  if (!result.ok) return { ...base, status: 'unreachable', error: result.error, checks: [] };
  try {
    const checks = evaluate(e, result.stdout);
    return { ...base, status: statusOf(checks), checks };
  } catch (err) {
    const detail = [(err as Error).message, result.stderr.trim()].filter(Boolean).join('; ');
    return { ...base, status: 'error', error: `exit ${result.code}: ${detail}`.slice(0, 500), checks: [] };
  }
}

export function exitCodeOf(hosts: HostReport[]): ExitCode {
  if (hosts.some((h) => h.status === 'drift')) return EXIT.DRIFT;
  if (hosts.some((h) => h.status === 'unreachable' || h.status === 'error')) return EXIT.UNREACHABLE;
  return hosts.some((h) => h.status === 'degraded') ? EXIT.DEGRADED : EXIT.OK;
}

export function makeReport(hosts: HostReport[]): Report {
  const checks = hosts.flatMap((h) => h.checks);
  return {
    version: 1,
    exitCode: exitCodeOf(hosts),
    hosts,
    summary: {
      hosts: hosts.length,
      checks: checks.length,
      failed: checks.filter((c) => c.status === 'fail').length,
      down: checks.filter((c) => c.status === 'down').length,
      drifted: hosts.filter((h) => h.status === 'drift').length,
      unreachable: hosts.filter((h) => h.status === 'unreachable' || h.status === 'error').length,
    },
  };
}

/** The failing checks of a report, as `host: kind item`, for assertions and summaries. */
export function failures(report: Report): string[] {
  return report.hosts.flatMap((h) => h.checks.filter((c) => c.status === 'fail').map((c) => `${h.name}: ${c.kind} ${c.item}`));
}

const LABEL: Record<Check['status'], string> = { pass: 'ok', fail: 'FAIL', info: 'info', down: 'DOWN' };
const HOST_LABEL: Record<HostStatus, string> = { ok: 'OK', degraded: 'DEGRADED', drift: 'DRIFT', unreachable: 'UNREACHABLE', error: 'ERROR' };
const VERDICT: Record<ExitCode, string> = { 0: 'in step', 1: 'DRIFT', 2: 'INCOMPLETE (unreachable hosts)', 3: 'ERROR', 4: 'DEGRADED (real servers down by their health check)' };

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

/** The human-readable report: a table per host, then a summary line. */
export function formatText(report: Report): string {
  const out: string[] = [];
  for (const h of report.hosts) {
    out.push(`${h.name}  ${h.target}  ${HOST_LABEL[h.status]}  (${h.ms} ms)`);
    if (h.error) out.push(`  ${h.error}`);
    if (h.checks.length) {
      const rows = [['', 'CHECK', 'ITEM', 'EXPECTED', 'ACTUAL']];
      for (const c of h.checks) {
        const actual = c.status === 'pass' && c.actual === c.expected ? '=' : c.actual;
        rows.push([LABEL[c.status], c.kind, c.item, c.expected, c.note ? `${actual}  (${c.note})` : actual]);
      }
      out.push(...table(rows).map((l) => `  ${l}`));
    }
    out.push('');
  }
  const s = report.summary;
  out.push(
    `${VERDICT[report.exitCode]}: ${s.hosts} host(s), ${s.checks} check(s), ${s.failed} failed, ${s.down} down, ${s.drifted} drifted, ${s.unreachable} unreachable (exit ${report.exitCode})`,
  );
  return out.join('\n');
}

export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}
