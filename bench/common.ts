/** Shared pieces of the benchmarks: timing, statistics, machine description, results file. */
import { execFileSync, spawnSync } from 'child_process';
import { cpus, totalmem } from 'os';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';

export const ROOT = resolve(__dirname, '..');
export const RESULTS = join(ROOT, 'docs', 'benchmarks.md');

export interface Sample {
  readonly seconds: number;
  /** User plus system CPU seconds of the process tree: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  /** Peak resident memory of the measured process tree's largest process, in MB. */
  readonly peakMb: number;
}

/** Runs a command under GNU time; fails loudly if it fails. */
export function measure(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Sample {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', ...opts.env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
  const [secs, kb, user, sys] = res.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: secs, peakMb: kb / 1024, cpuSeconds: user + sys };
}

export function repeat(times: number, run: () => Sample): Sample[] {
  return Array.from({ length: times }, run);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "median (min-max)" of a statistic. */
export function stat<T>(samples: T[], pick: (s: T) => number, digits = 2): string {
  const xs = samples.map(pick);
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
}

export function machine(): string {
  const tf = execFileSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } }).split('\n')[0];
  const os = existsSync('/etc/os-release') ? /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : 'unknown';
  return [
    `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `${os}, Node ${process.version}, ${tf}`,
  ].join('; ');
}

/** Replaces the section between `<!-- name -->` markers in docs/benchmarks.md (creating it if needed). */
export function writeSection(name: string, body: string): void {
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  let doc = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmarks\n\nWritten by `npm run bench`: `npm run bench:synth`, then `npm run bench:deploy` (starts and stops its own lab, `lab/topology-bench.conf`), then `npm run bench:steps` and `npm run bench:keepalived` (the default lab, started if no lab is up). Numbers, not tests: nothing fails on a time.\n';
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, doc);
}
