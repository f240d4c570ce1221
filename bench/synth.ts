/**
 * Synth benchmarks: the three default stacks through the project's app
 * command against a ts-node app (the cdktf template's default), alone and
 * through `cdktf synth`; then clusters of 10, 100 and 1,000 real servers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { LvsConfig } from '../stacks';
import { ROOT, Sample, machine, measure, repeat, stat, writeSection } from './common';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
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
const sizes = [10, 100, 1000].map((n) => {
  const file = cluster(n);
  return { n, samples: repeat(RUNS, () => measure(app[0], [...app[1]], { env: { ...out(`c${n}`), LVS_CDKTF_CONFIG: file } })) };
});
rmSync(scratch, { recursive: true, force: true });

const med = (s: Sample[]) => s.map((x) => x.seconds).sort((a, b) => a - b)[Math.floor(s.length / 2)];
const rows = [
  ['`npm run synth` = `node bin/app.js` (this project: esbuild + node)', results.appAlone],
  ['`ts-node main.ts`', results.tsNodeAlone],
  ['`cdktf synth`, app `node bin/app.js`', results.cliApp],
  ['`cdktf synth`, app `ts-node main.ts`', results.cliTsNode],
] as const;
writeSection(
  'synth',
  `## Synth

Machine: ${machine()}. ${RUNS} runs each; median (min-max). Run on ${new Date().toISOString().slice(0, 10)}.

### The three default stacks

| command | wall s | peak MB |
|---|---|---|
${rows.map(([name, s]) => `| ${name} | ${stat(s, (x) => x.seconds)} | ${stat(s, (x) => x.peakMb, 0)} |`).join('\n')}

Ratio, app alone: ts-node / ours = ${(med(results.tsNodeAlone) / med(results.appAlone)).toFixed(1)}x. Through the CLI: ${(med(results.cliTsNode) / med(results.cliApp)).toFixed(1)}x; the CLI's own start-up (~${(med(results.cliApp) - med(results.appAlone)).toFixed(1)} s here) is outside this project and bounds \`cdktf synth\`.

### nat-stack with N real servers (\`node bin/app.js\`, all three stacks synthesized)

| real servers | Terraform resources | wall s | peak MB |
|---|---|---|---|
${sizes.map(({ n, samples }) => `| ${n} | ${n + 2} | ${stat(samples, (x) => x.seconds)} | ${stat(samples, (x) => x.peakMb, 0)} |`).join('\n')}

Targets: three stacks <= 1 s (app alone: ${med(results.appAlone) <= 1 ? 'met' : 'missed'}); 1,000 real servers <= 2 s and <= 300 MB (${
    med(sizes[2].samples) <= 2 && Math.max(...sizes[2].samples.map((s) => s.peakMb)) <= 300 ? 'met' : 'missed'
  }).`,
);
console.log(`wrote ${join(ROOT, 'docs/benchmarks.md')}`);
