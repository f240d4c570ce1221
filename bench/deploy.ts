/**
 * Deploy benchmarks in the lab, nat-stack with 2, 8 and 16 real servers:
 * `cdktf deploy` wall time split into the cdktf CLI (synth, init, its own
 * start-up), Terraform with SSH, and the remote scripts; compared with the
 * critical path (the longest chain of host scripts, each run alone over SSH).
 * Then a deploy with no change, and what adding one real server touches
 * (`terraform plan -json`). Runs on the bench lab (lab/topology-bench.conf),
 * starting it if no lab is up.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { LAB_STATE, hostOfPort, labHosts } from '../lab/client';
import { SynthesizedStep, readStack } from '../synth/read';
import { LvsConfig } from '../stacks';
import { ROOT, machine, median, stat, writeSection } from './common';
import { ENV, onHost, useLab } from './lab';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = [2, 8, 16];
/** Cluster sizes to which one real server is added (change cost). */
const ADD_TO = [2, 16];
const STACK = 'nat-stack';
const TOPOLOGY = 'lab/topology-bench.conf';

useLab(TOPOLOGY, Array.from({ length: Math.max(...SIZES) + 1 }, (_, i) => `nat-web${i + 1}`));
const hosts = labHosts();
const port = (name: string) => hosts.find((h) => h.name === name)!.sshPort;

const dir = mkdtempSync(join(tmpdir(), 'lvs-bench-deploy-'));
const configFile = join(dir, 'lvs.json');
const tfDir = join(dir, 'cdktf.out/stacks', STACK);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: `node ${join(ROOT, 'bin/app.js')}`, sendCrashReports: 'false' }));

function useServers(n: number): void {
  const cfg: LvsConfig = {
    defaults: { user: 'root', privateKeyPath: join(LAB_STATE, 'id_ed25519'), timeout: '1m' },
    stacks: {
      [STACK]: {
        director: { connection: { host: '127.0.0.1', port: port('nat-director') } },
        realServers: Array.from({ length: n }, (_, i) => ({
          name: `web${i + 1}`,
          connection: { host: '127.0.0.1', port: port(`nat-web${i + 1}`) },
          interface: { name: 'ens33', address: `192.168.116.${112 + i}/24` },
          webServer: 'nginx' as const,
        })),
      },
    },
  };
  writeFileSync(configFile, JSON.stringify(cfg));
}

/** Runs a command in the bench project; returns wall seconds and output. */
function timed(cmd: string, args: string[], cwd = dir): { seconds: number; out: string } {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(cmd, args, { cwd, env: { ...ENV, LVS_CDKTF_CONFIG: configFile }, encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = `${res.stdout}${res.stderr}`;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${out.slice(-4000)}`);
  return { seconds, out };
}
const cdktf = (...args: string[]) => timed(join(ROOT, 'node_modules/.bin/cdktf'), [...args, STACK, '--auto-approve']);
const terraform = (...args: string[]) => timed('terraform', [`-chdir=${tfDir}`, ...args]);
const cdktfSynth = () => timed(join(ROOT, 'node_modules/.bin/cdktf'), ['synth']);
const provisioners = (out: string) => (out.match(/Provisioning with 'remote-exec'/g) ?? []).length;

/**
 * Each host step of the current synth run alone (create timed, then its
 * destroy): the critical path is the slowest host step before the table
 * step, plus the table step. Also the sum of all steps (the work itself).
 */
function criticalPath(): { critical: number; sum: number } {
  const steps = readStack(join(dir, 'cdktf.out'), STACK).steps;
  const table = steps.find((s) => s.address.endsWith('director_Services'))!;
  const hostSteps = steps.filter((s) => s !== table);
  const run = (step: SynthesizedStep, script: string) => onHost(hostOfPort(step.port), script).seconds;
  const times = hostSteps.map((s) => {
    const t = run(s, s.create);
    if (s.address.endsWith('director_Host')) {
      const tt = run(table, table.create);
      run(table, table.destroy);
      run(s, s.destroy);
      return { t, table: tt };
    }
    run(s, s.destroy);
    return { t, table: 0 };
  });
  const tableTime = Math.max(...times.map((x) => x.table));
  const slowest = Math.max(...times.map((x) => x.t));
  return { critical: slowest + tableTime, sum: times.reduce((a, x) => a + x.t + x.table, 0) };
}

interface Row {
  n: number;
  deploy: number[];
  noChange: number[];
  noChangeRemote: number[];
  /** `terraform apply` alone with nothing to do: what is left of a deploy without the cdktf CLI. */
  terraformNoChange: number[];
  critical: number;
  sum: number;
}

interface Add {
  n: number;
  actions: Record<string, number>;
  seconds: number;
}

/**
 * With n servers deployed: what adding one more touches (`terraform plan
 * -json` actions) and how long its deploy takes. Leaves n + 1 deployed.
 */
function addOne(n: number): Add {
  useServers(n + 1);
  cdktfSynth();
  const plan = terraform('plan', '-json', '-input=false').out;
  const actions: Record<string, number> = {};
  for (const line of plan.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.type === 'planned_change') actions[msg.change.action] = (actions[msg.change.action] ?? 0) + 1;
  }
  return { n, actions, seconds: cdktf('deploy').seconds };
}

const rows: Row[] = [];
const adds: Add[] = [];
for (const n of SIZES) {
  const row: Row = { n, deploy: [], noChange: [], noChangeRemote: [], terraformNoChange: [], critical: 0, sum: 0 };
  for (let run = 0; run < RUNS; run++) {
    useServers(n);
    row.deploy.push(cdktf('deploy').seconds);
    const again = cdktf('deploy');
    row.noChange.push(again.seconds);
    row.noChangeRemote.push(provisioners(again.out));
    row.terraformNoChange.push(terraform('apply', '-auto-approve', '-input=false').seconds);
    if (run === 0 && ADD_TO.includes(n)) adds.push(addOne(n));
    // Destroyed with the config it was deployed with, so every host is cleaned.
    cdktf('destroy');
    console.log(`n=${n} run ${run + 1}: deploy ${row.deploy[run].toFixed(1)} s, no change ${again.seconds.toFixed(1)} s`);
  }
  // The hosts are clean again: each step alone, once (they take the same time on every run).
  useServers(n);
  cdktfSynth();
  Object.assign(row, criticalPath());
  console.log(`n=${n}: critical path ${row.critical.toFixed(1)} s, sum ${row.sum.toFixed(1)} s`);
  rows.push(row);
  // Written after each size, so a long run leaves what it measured.
  writeResults();
}
console.log(`wrote ${join(ROOT, 'docs/benchmarks.md')}`);

function writeResults(): void {
  const s = (xs: number[]) => stat(xs, (x) => x, 1);
  const m = median;
  const first = rows[0];
  const last = rows[rows.length - 1];
  const table = rows.map((r) => {
    const cli = m(r.noChange) - m(r.terraformNoChange);
    const rest = m(r.deploy) - cli - r.critical;
    return `| ${r.n} | ${s(r.deploy)} | ${cli.toFixed(1)} | ${r.critical.toFixed(1)} | ${rest.toFixed(1)} | ${r.sum.toFixed(1)} | ${(m(r.deploy) / r.critical).toFixed(2)} | ${s(r.noChange)} | ${Math.max(...r.noChangeRemote)} |`;
  });
  const addRows = adds.map(
    (a) => `| ${a.n} -> ${a.n + 1} | ${Object.entries(a.actions).map(([k, v]) => `${k} ${v}`).join(', ')} | ${a.seconds.toFixed(1)} |`,
  );
  writeSection(
    'deploy',
    `## Deploy in the lab

Machine: ${machine()}. Lab: user-mode-linux 6.1, all nat-stack hosts in one guest (one virtual CPU), \`lab/topology-bench.conf\`. Deploys: ${RUNS} runs each, median (min-max) seconds; host steps alone: once. Run on ${new Date().toISOString().slice(0, 10)} with \`npm run bench:deploy\`.

- **deploy**: \`cdktf deploy nat-stack\` on clean hosts.
- **cdktf CLI**: a \`cdktf deploy\` with nothing to change minus a \`terraform apply\` with nothing to change: the CLI's own start-up, synth and \`terraform init\`, paid once per deploy.
- **critical path**: each host step's create script run alone over SSH (then its destroy script), the slowest host step plus the table step: the remote scripts' share when hosts run in parallel. **Terraform and waiting**: deploy minus the two, i.e. Terraform, SSH set-up, and steps waiting for the lab's one CPU. **sum**: all host steps one after the other.
- **no change**: a second \`cdktf deploy\`; remote commands counted from Terraform's provisioner lines.

| real servers | deploy | cdktf CLI | critical path | Terraform and waiting | sum of steps | deploy / critical path | no change | remote commands on no change |
|---|---|---|---|---|---|---|---|---|
${table.join('\n')}

Adding one real server to a deployed cluster (\`terraform plan -json\` actions, then the deploy):

| cluster | planned actions | deploy s |
|---|---|---|
${addRows.join('\n')}

Where the time goes: in this lab every nat-stack host shares the guest's one virtual CPU, so the host steps Terraform runs side by side take turns on it and a deploy takes about the sum of its steps (deploy / sum: ${rows.map((r) => `${r.n}: ${(m(r.deploy) / r.sum).toFixed(2)}`).join(', ')}), not the critical path; what a step spends its time on is in the next section. On hosts with CPUs of their own the steps overlap, and the bound is the critical path plus Terraform's default parallelism of 10 host steps at a time (\`cdktf deploy --terraform-parallelism 32\` lifts it for larger clusters).

Targets: deploy within 1.5x of the critical path (${last.n} servers: ${(m(last.deploy) / last.critical).toFixed(2)}x); ${last.n} real servers in <= 1.5x the time of ${first.n} (${(m(last.deploy) / m(first.deploy)).toFixed(2)}x); adding one server touches O(1) resources (${adds.map((a) => `${a.n} -> ${a.n + 1}: ${Object.values(a.actions).reduce((x, y) => x + y, 0)} planned actions`).join('; ')}).`,
  );
}
