/**
 * npm run verify -- [STACK...] [--synth-dir DIR] [--timeout S] [--json]
 *                   [--traffic HOST:PORT [--requests N]]
 *
 * Compares the live state of every host of the stacks with what they
 * declare. See docs/verify.md.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { synthesize } from '../review/synthesize';
import { stacksIn } from '../synth/read';
import { StackPlan, loadStackPlan } from './plan';
import { EXIT, formatJson, formatText } from './report';
import { verifyStacks, TrafficOptions } from './run';
import { CONNECTION_DEFAULTS, SshTarget } from '../lib/connection';

const USAGE = `usage: npm run verify -- [STACK...] [options]

Checks every host of the stacks (default: all synthesized stacks) against
what they declare: IPVS services and real servers, VIPs, sysctls, routes.

  --synth-dir DIR       use this synth output instead of synthesizing
  --config FILE         stack config for synthesis (sets LVS_CDKTF_CONFIG)
  --timeout S           per-host bound in seconds, connection included (default 20)
  --parallel N          hosts checked at once (default 32)
  --json                print the report as JSON (for CI)
  --traffic HOST:PORT   also send requests to each VIP from this client host
                        (reached with the director's user and key)
  --requests N          requests per service for --traffic (default 20)
  --traffic-user U      user on the client (default: the director's)
  --traffic-key PATH    private key for the client (default: the director's)
  --traffic-host-key K  pinned host key of the client ("ssh-ed25519 AAAA...")

exit: 0 in step, 1 drift, 2 a host could not be checked, 3 usage or synth error,
      4 in step but real servers down by their health check`;

export interface CliOptions {
  stacks: string[];
  synthDir?: string;
  config?: string;
  timeoutSeconds: number;
  json: boolean;
  parallel: number;
  traffic?: { host: string; port: number };
  requests: number;
  trafficUser?: string;
  trafficKey?: string;
  trafficHostKey?: string;
}

class UsageError extends Error {}

function hostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s) ?? /^([^:]+)$/.exec(s);
  if (!m) throw new UsageError(`--traffic: expected HOST:PORT, got "${s}"`);
  const port = m[2] === undefined ? 22 : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`--traffic: bad port in "${s}"`);
  return { host: m[1], port };
}

function positive(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number, got "${v ?? ''}"`);
  return n;
}

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { stacks: [], timeoutSeconds: 20, json: false, parallel: 32, requests: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--synth-dir': o.synthDir = value(); break;
      case '--config': o.config = value(); break;
      case '--timeout': o.timeoutSeconds = positive(flag, value()); break;
      case '--json': o.json = true; break;
      case '--parallel': o.parallel = Math.floor(positive(flag, value())); break;
      case '--traffic': o.traffic = hostPort(value()); break;
      case '--requests': o.requests = Math.floor(positive(flag, value())); break;
      case '--traffic-user': o.trafficUser = value(); break;
      case '--traffic-key': o.trafficKey = value(); break;
      case '--traffic-host-key': o.trafficHostKey = value(); break;
      case '-h':
      case '--help': throw new UsageError('');
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        o.stacks.push(a);
    }
  }
  return o;
}

/** The client for --traffic: the given address, with the first director's user and key unless overridden. */
function trafficClient(o: CliOptions, plans: StackPlan[]): TrafficOptions | undefined {
  if (!o.traffic) return undefined;
  const director = plans.flatMap((p) => p.hosts).find((h) => h.expectation.role === 'director')?.target;
  const client: SshTarget = {
    host: o.traffic.host,
    port: o.traffic.port,
    user: o.trafficUser ?? director?.user ?? CONNECTION_DEFAULTS.user,
    privateKeyPath: o.trafficKey ?? director?.privateKeyPath,
    hostKey: o.trafficHostKey,
  };
  return { client, requests: o.requests };
}

export async function main(argv: string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(msg ? `verify: ${msg}\n${USAGE}\n` : `${USAGE}\n`);
    return msg ? EXIT.ERROR : EXIT.OK;
  }
  let tmp: string | undefined;
  try {
    let dir = o.synthDir;
    if (!dir) {
      tmp = mkdtempSync(join(tmpdir(), 'lvs-cdktf-verify-'));
      if (o.config) process.env.LVS_CDKTF_CONFIG = resolve(o.config);
      synthesize(resolve(__dirname, '..'), tmp);
      dir = tmp;
    }
    const names = o.stacks.length ? o.stacks : stacksIn(dir);
    const plans = names.map((n) => loadStackPlan(dir!, n));
    const report = await verifyStacks(plans, {
      timeoutMs: o.timeoutSeconds * 1000,
      parallel: o.parallel,
      traffic: trafficClient(o, plans),
    });
    process.stdout.write((o.json ? formatJson(report) : formatText(report)) + '\n');
    return report.exitCode;
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`verify: ${message}\n`);
    if (o.json) process.stdout.write(JSON.stringify({ version: 1, exitCode: EXIT.ERROR, error: message }, null, 2) + '\n');
    return EXIT.ERROR;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`verify: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(EXIT.ERROR);
    },
  );
}
