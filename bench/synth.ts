/**
 * Synth benchmarks: the three default stacks through the project's app
 * command against a ts-node app (the cdktf template's default), alone and
 * through `cdktf synth`; then clusters of 10 to 10,000 real servers, and
 * `terraform plan` of the synthesized nat-stack from empty state.
 *
 * BENCH_RUNS (default 5) sets the runs per measurement; BENCH_SIZES and
 * BENCH_PLAN_SIZES (comma-separated real-server counts) shorten a quick run.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import { loadavg, tmpdir } from 'os';
import { join } from 'path';
import { LvsConfig } from '../stacks';
import { ROOT, Sample, machine, measure, repeat, stat, writeSection } from './common';
import { readStack } from '../synth/read';

/** The machine is shared: the load around the run says how far the numbers are from an idle machine's. */
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const loadAtStart = load();

function sizesFrom(name: string, fallback: string): number[] {
  const sizes = (process.env[name] ?? fallback).split(',').filter(Boolean).map(Number).sort((a, b) => a - b);
  for (const n of sizes) if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: ${n} is not a real-server count`);
  return sizes;
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = sizesFrom('BENCH_SIZES', '10,100,1000,10000');
const PLAN_SIZES = sizesFrom('BENCH_PLAN_SIZES', '10,1000');
const scratch = mkdtempSync(join(tmpdir(), 'lvs-bench-'));
const out = (name: string) => ({ CDKTF_OUTDIR: join(scratch, name) });

/** A cdktf project dir whose app is `app`, so the CLI can be timed with either app. */
function project(name: string, app: string): string {
  const dir = join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app, sendCrashReports: 'false' }));
  return dir;
}

function cluster(n: number): string {
  const servers = Array.from({ length: n }, (_, i) => {
    const address = `10.116.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    return { name: `web${i + 1}`, connection: { host: address }, interface: { name: 'ens33', address: `${address}/16` }, webServer: 'nginx' as const };
  });
  const cfg: LvsConfig = {
    stacks: {
      'nat-stack': {
        director: { interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }, { name: 'ens34', address: '10.116.255.1/16' }] },
        realServers: servers,
      },
    },
  };
  const file = join(scratch, `cluster-${n}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

const app = ['node', [join(ROOT, 'bin/app.js')]] as const;
const tsNode = ['node', [join(ROOT, 'node_modules/.bin/ts-node'), join(ROOT, 'main.ts')]] as const;
const cli = join(ROOT, 'node_modules/.bin/cdktf');

const results: Record<string, Sample[]> = {
  appAlone: repeat(RUNS, () => measure(app[0], [...app[1]], { env: out('a') })),
  tsNodeAlone: repeat(RUNS, () => measure(tsNode[0], [...tsNode[1]], { env: out('b') })),
  cliApp: repeat(RUNS, () => measure(cli, ['synth'], { cwd: project('p1', `node ${join(ROOT, 'bin/app.js')}`) })),
  cliTsNode: repeat(RUNS, () => measure(cli, ['synth'], { cwd: project("p2", `${join(ROOT, "node_modules/.bin/ts-node")} ${join(ROOT, "main.ts")}`) })),
};
/**
 * What the synth wrote for nat-stack: cdk.tf.json in MB; web1's own create
 * script (what it runs, less the shell library) in KB; and the shell library
 * the stack holds once in KB.
 */
function outputSizes(outdir: string): { jsonMb: number; scriptKb: number; libraryKb: number } {
  const web1 = readStack(outdir, 'nat-stack').steps.find((s) => s.address === 'terraform_data.web1_Host');
  if (!web1) throw new Error(`${outdir}: nat-stack has no terraform_data.web1_Host`);
  const kb = (s: string) => Buffer.byteLength(s) / 1024;
  const libraryKb = kb(web1.library ?? '');
  return { jsonMb: statSync(join(outdir, 'stacks', 'nat-stack', 'cdk.tf.json')).size / 2 ** 20, scriptKb: kb(web1.create) - libraryKb, libraryKb };
}

const sizes = SIZES.map((n) => {
  const file = cluster(n);
  const samples = repeat(RUNS, () => measure(app[0], [...app[1]], { env: { ...out(`c${n}`), LVS_CDKTF_CONFIG: file } }));
  return { n, samples, ...outputSizes(join(scratch, `c${n}`)) };
});

/** `terraform plan` of the n-server nat-stack from empty state, after one `terraform init` that is not counted. */
function plan(n: number): Sample[] {
  const cwd = join(scratch, `plan-${n}`);
  mkdirSync(cwd);
  // Synthesized from cwd, where the local backend puts its default state file:
  // the plan starts from empty state whatever state the checkout holds.
  measure(app[0], [...app[1]], { cwd, env: { CDKTF_OUTDIR: join(cwd, 'cdktf.out'), LVS_CDKTF_CONFIG: cluster(n) } });
  const stack = join(cwd, 'cdktf.out', 'stacks', 'nat-stack');
  measure('terraform', ['init', '-input=false'], { cwd: stack });
  return repeat(RUNS, () => measure('terraform', ['plan', '-input=false', '-refresh=false', '-out=plan.bin'], { cwd: stack }));
}
const plans = PLAN_SIZES.map((n) => ({ n, samples: plan(n) }));
rmSync(scratch, { recursive: true, force: true });
const loadAtEnd = load();

const med = (s: Sample[]) => s.map((x) => x.seconds).sort((a, b) => a - b)[Math.floor(s.length / 2)];
const rows = [
  ['`npm run synth` = `node bin/app.js` (this project: esbuild + node)', results.appAlone],
  ['`ts-node main.ts`', results.tsNodeAlone],
  ['`cdktf synth`, app `node bin/app.js`', results.cliApp],
  ['`cdktf synth`, app `ts-node main.ts`', results.cliTsNode],
] as const;

/** Whether a size's median time and largest peak are within a target; "not measured" when the size was left out. */
function target(measured: { n: number; samples: Sample[] }[], n: number, seconds: number, mb = Infinity): string {
  const row = measured.find((r) => r.n === n);
  if (!row) return 'not measured';
  return med(row.samples) <= seconds && Math.max(...row.samples.map((s) => s.peakMb)) <= mb ? 'met' : 'missed';
}

/**
 * The growth per resource from the smallest plan to the largest; the smallest
 * (a dozen resources by default) stands for the fixed part, Terraform's
 * start-up and writing the plan. The intercept of the line through both would
 * carry the load's noise instead, and on this machine it came out below zero.
 */
function planSplit(): string {
  if (plans.length < 2) return '';
  const [a, b] = [plans[0], plans[plans.length - 1]];
  const perResource = (med(b.samples) - med(a.samples)) / (b.n - a.n);
  return `\n\nFrom ${a.n} to ${b.n} real servers the plan grows by ${(perResource * 1000).toFixed(1)} ms per resource; the ${a.n}-server plan, ${med(a.samples).toFixed(2)} s, is about the fixed part.`;
}

writeSection(
  'synth',
  `## Synth

Machine: ${machine()}. ${RUNS} runs each; median (min-max). Run on ${new Date().toISOString().slice(0, 10)}.

The machine is shared with other jobs, so these numbers are upper bounds for an idle one. Load average (1, 5, 15 min, as \`uptime\` prints it): ${loadAtStart} at the start, ${loadAtEnd} at the end.

### The three default stacks

| command | wall s | peak MB |
|---|---|---|
${rows.map(([name, s]) => `| ${name} | ${stat(s, (x) => x.seconds)} | ${stat(s, (x) => x.peakMb, 0)} |`).join('\n')}

Ratio, app alone: ts-node / ours = ${(med(results.tsNodeAlone) / med(results.appAlone)).toFixed(1)}x. Through the CLI: ${(med(results.cliTsNode) / med(results.cliApp)).toFixed(1)}x; the CLI's own start-up (~${(med(results.cliApp) - med(results.appAlone)).toFixed(1)} s here) is outside this project and bounds \`cdktf synth\`.

### nat-stack with N real servers (\`node bin/app.js\`, all three stacks synthesized)

| real servers | Terraform resources | wall s | CPU s | peak MB | nat-stack cdk.tf.json MB | web1 create script KB | shared library KB |
|---|---|---|---|---|---|---|---|
${sizes
  .map(({ n, samples, jsonMb, scriptKb, libraryKb }) =>
    `| ${n} | ${n + 2} | ${stat(samples, (x) => x.seconds)} | ${stat(samples, (x) => x.cpuSeconds)} | ${stat(samples, (x) => x.peakMb, 0)} | ${jsonMb.toFixed(1)} | ${scriptKb.toFixed(1)} | ${libraryKb.toFixed(1)} |`,
  )
  .join('\n')}

### \`terraform plan\` of nat-stack from empty state

\`terraform plan -input=false -refresh=false -out=plan.bin\` in the stack's directory, after one \`terraform init -input=false\` (not counted). The stack is synthesized in a scratch directory, so its local backend's state file does not exist: the plan creates every resource.

| real servers | Terraform resources | wall s | CPU s | peak MB |
|---|---|---|---|---|
${plans.map(({ n, samples }) => `| ${n} | ${n + 2} | ${stat(samples, (x) => x.seconds)} | ${stat(samples, (x) => x.cpuSeconds)} | ${stat(samples, (x) => x.peakMb, 0)} |`).join('\n')}${planSplit()}

Targets: three stacks <= 1 s (app alone: ${med(results.appAlone) <= 1 ? 'met' : 'missed'}); 1,000 real servers <= 2 s and <= 300 MB (${target(sizes, 1000, 2, 300)}); 10,000 real servers <= 3 s and <= 500 MB (${target(sizes, 10000, 3, 500)}); \`terraform plan\` of 1,000 real servers <= 4 s (${target(plans, 1000, 4)}).`,
);
console.log(`wrote ${join(ROOT, 'docs/benchmarks.md')}`);
