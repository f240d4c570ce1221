/**
 * Re-records the unit tests' fixtures from live hosts (read-only):
 *
 *   npx tsx verify/record.ts STACK [--synth-dir DIR] [--out DIR] [--traffic HOST:PORT]
 *
 * Runs each host's probe command with the deploy's connection settings and
 * writes its output to verify/fixtures/STACK/<host>.txt (host = last part
 * of the construct path); with --traffic, the client's answers to 6
 * requests to the first TCP VIP go to traffic.txt. Without --synth-dir the
 * project is synthesized with LVS_CDKTF_CONFIG (default lab/lab-config.yaml).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { synthesize } from '../review/synthesize';
import { loadStackPlan } from './plan';
import { probeCommand } from './probe';
import { runOnHost } from './ssh';
import { trafficCommand, trafficTargets } from './traffic';

async function main(argv: string[]): Promise<number> {
  const stack = argv.find((a) => !a.startsWith('-'));
  const opt = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!stack) {
    process.stderr.write('usage: npx tsx verify/record.ts STACK [--synth-dir DIR] [--out DIR] [--traffic HOST:PORT]\n');
    return 3;
  }
  const root = resolve(__dirname, '..');
  let dir = opt('--synth-dir');
  let tmp: string | undefined;
  if (!dir) {
    tmp = dir = mkdtempSync(join(tmpdir(), 'lvs-cdktf-record-'));
    process.env.LVS_CDKTF_CONFIG ??= join(root, 'lab', 'lab-config.yaml');
    synthesize(root, dir);
  }
  try {
    const plan = loadStackPlan(dir, stack);
    const out = resolve(opt('--out') ?? join(__dirname, 'fixtures', stack));
    mkdirSync(out, { recursive: true });
    let failed = 0;
    await Promise.all(
      plan.hosts.map(async (h) => {
        const res = await runOnHost(h.target, probeCommand(h.expectation), 20_000);
        const file = join(out, `${h.expectation.name.split('/').pop()}.txt`);
        if (!res.ok) {
          failed++;
          process.stderr.write(`${h.expectation.name}: ${res.error}\n`);
        } else {
          writeFileSync(file, res.stdout);
          process.stdout.write(`${file}\n`);
        }
      }),
    );
    const traffic = opt('--traffic');
    if (traffic) {
      const [host, port] = [traffic.slice(0, traffic.lastIndexOf(':')), Number(traffic.slice(traffic.lastIndexOf(':') + 1))];
      const director = plan.hosts[0].target;
      const [target] = trafficTargets(plan.topology);
      const res = await runOnHost({ host, port, user: director.user, privateKeyPath: director.privateKeyPath }, trafficCommand(target.url, 6), 60_000);
      if (res.ok) writeFileSync(join(out, 'traffic.txt'), res.stdout);
      else failed++;
    }
    return failed ? 2 : 0;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(3);
  },
);
