/**
 * End to end: tun-stack's Terraform state in PostgreSQL (Terraform's pg
 * backend; the server is started here, on loopback). One checkout deploys
 * to the lab; a second clean checkout plans against the same state and sees
 * no changes; applies from two checkouts at once are serialized by the
 * backend's lock, and the state comes out of it whole.
 *
 * @lab tun
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { readdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { CdktfProject, LAB_CONFIG, filesUnder, labStack, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines, waitFor } from '../../lab/client';
import { PostgresServer } from './postgres';
import { loadConfigFile } from '../../stacks';

const STACK = 'tun-stack';
const HOSTS = ['tun-director', 'tun-web1', 'tun-web2'];
const RESOURCES = ['director_Host', 'director_Services', 'web1_Host', 'web2_Host'].map((r) => `terraform_data.${r}`);

jest.setTimeout(900_000);

interface Run {
  readonly status: number | null;
  readonly out: string;
  /** When it ended, ms since the epoch. */
  readonly end: number;
  readonly ms: number;
}

/** A Terraform command still running. */
interface Running {
  readonly child: ChildProcess;
  output(): string;
  readonly done: Promise<Run>;
}

let pg: PostgresServer;
/** Checkouts of the same code: the one that deploys, a clean second one, and a branch that changes web2's weight. */
const main = new CdktfProject();
const second = new CdktfProject();
const branch = new CdktfProject();
const before: Record<string, string> = {};
const running: Running[] = [];
const timings: Record<string, number> = {};
let deployed = false;

const terraformEnv = (p: CdktfProject) => ({ ...process.env, ...p.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' });
const stackDir = (p: CdktfProject) => join(p.dir, 'cdktf.out', 'stacks', STACK);

function terraform(p: CdktfProject, ...args: string[]): Run {
  const start = Date.now();
  const res = spawnSync('terraform', args, { cwd: stackDir(p), env: terraformEnv(p), encoding: 'utf8', timeout: 600_000 });
  const end = Date.now();
  return { status: res.status, out: `${res.stdout}${res.stderr}`, end, ms: end - start };
}

function startTerraform(p: CdktfProject, ...args: string[]): Running {
  const start = Date.now();
  const child = spawn('terraform', args, { cwd: stackDir(p), env: terraformEnv(p), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (status) => {
      const end = Date.now();
      resolve({ status, out, end, ms: end - start });
    }),
  );
  const run = { child, output: () => out, done };
  running.push(run);
  return run;
}

/** Advisory locks held in the state database: the pg backend's state lock is one. */
const heldLocks = () => Number(pg.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"));

/** The lab config with state in PostgreSQL; key paths absolute, so the file can live anywhere. */
function writeConfig(p: CdktfProject, change: (config: any) => void = () => undefined): void {
  const config = JSON.parse(JSON.stringify(loadConfigFile(LAB_CONFIG)));
  // No connection string in the file: Terraform takes it from PG_CONN_STR.
  config.backend = { type: 'pg' };
  change(config);
  p.configFile = join(p.dir, 'lvs-config.json');
  writeFileSync(p.configFile, JSON.stringify(config, null, 2));
  p.env = { PG_CONN_STR: pg.connStr };
}

const desiredTable = () => sortedLines(labStack(STACK).director.desiredRules.join('\n'));

beforeAll(async () => {
  requireLab();
  pg = await PostgresServer.start('lvs_state');
  writeConfig(main);
  writeConfig(second);
  writeConfig(branch, (config) => (config.stacks[STACK].realServers[1].weight = 2));
  // Modules are never unloaded by destroy (a documented limit): loaded before the "before" snapshot.
  for (const h of HOSTS) sh(h, 'modprobe -a ip_vs ipip');
  for (const h of HOSTS) before[h] = snapshot(h);
});

afterAll(async () => {
  // A Terraform left running (a failed test) is stopped first: it would hold the lock the destroy needs.
  for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill();
  await Promise.all(running.map((r) => r.done));
  try {
    // Never leave the stack deployed, whatever failed above.
    leaveHostsAsFound(before, () => deployed && main.destroy(STACK));
  } finally {
    pg?.stop();
    console.log(`backend e2e timings (ms): ${JSON.stringify(timings)}`);
  }
});

it('deploys tun-stack with its state in PostgreSQL: one schema for the stack, no state file, no connection string in cdktf.out', () => {
  const start = Date.now();
  deployed = true;
  const out = main.deploy(STACK);
  timings.deploy = Date.now() - start;
  expect(out).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
  expect(sortedLines(sh('tun-director', 'ipvsadm -Sn'))).toEqual(desiredTable());

  expect(pg.query("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'lvs_cdktf_%'")).toBe('lvs_cdktf_tun_stack');
  expect(pg.query('SELECT name FROM lvs_cdktf_tun_stack.states')).toBe('default');
  const state = JSON.parse(pg.query('SELECT data FROM lvs_cdktf_tun_stack.states'));
  expect(state.resources.map((r: any) => `${r.type}.${r.name}`).sort()).toEqual(RESOURCES);
  expect(readdirSync(main.dir).filter((f) => f.endsWith('.tfstate'))).toEqual([]);

  const files = filesUnder(join(main.dir, 'cdktf.out'));
  expect(files).toContain(join(stackDir(main), '.terraform', 'terraform.tfstate'));
  for (const f of files) expect(readFileSync(f, 'utf8')).not.toContain(`127.0.0.1:${pg.port}`);
});

it('a plan from a second clean checkout with the same backend reports no changes', () => {
  const start = Date.now();
  const out = second.run('plan', STACK);
  timings.secondCheckoutPlan = Date.now() - start;
  expect(out).toMatch(/No changes\. Your infrastructure matches the configuration/);
  const plan = terraform(second, 'plan', '-detailed-exitcode', '-input=false', '-no-color');
  expect(plan.out).toMatch(/No changes/);
  expect(plan.status).toBe(0);
});

let holder: Running;

it('while an apply holds the lock (waiting for approval), an apply from another checkout fails with the lock error', async () => {
  branch.run('synth');
  expect(terraform(branch, 'init', '-input=false', '-no-color').status).toBe(0);
  // A teammate's apply of a weight change, sitting at its approval prompt: Terraform holds the lock from plan to apply.
  holder = startTerraform(branch, 'apply', '-no-color', '-lock-timeout=0s');
  await waitFor('the approval prompt', () => /Enter a value:/.test(holder.output()), 120_000);
  expect(holder.output()).toMatch(/Plan: 1 to add, 0 to change, 1 to destroy/);
  expect(heldLocks()).toBe(1);

  const contender = terraform(second, 'apply', '-no-color', '-input=false', '-auto-approve', '-lock-timeout=0s');
  timings.lockErrorAfter = contender.ms;
  expect(contender.out).toContain('Error acquiring the state lock');
  expect(contender.out).toMatch(/Operation: +OperationTypeApply/);
  expect(contender.out).not.toMatch(/Plan:|Apply complete/);
  expect(contender.status).toBe(1);
});

it('an apply allowed to wait runs once the holder is done, planned on the state the holder wrote', async () => {
  const waiter = startTerraform(second, 'apply', '-no-color', '-input=false', '-auto-approve', '-lock-timeout=300s');
  await new Promise((r) => setTimeout(r, 3000));
  // Still waiting for the lock, so it has not planned anything.
  expect(waiter.child.exitCode).toBeNull();
  expect(waiter.output()).not.toMatch(/Plan:|Refreshing state/);

  holder.child.stdin!.end('yes\n');
  const held = await holder.done;
  expect(held.out).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
  expect(held.status).toBe(0);

  const waited = await waiter.done;
  timings.waiterTotal = waited.ms;
  timings.waiterAfterHolder = waited.end - held.end;
  // Planned on the holder's state (web2 at weight 2), it puts web2 back to the weight of its own code.
  // Had it planned on the state from before, it would have found nothing to do.
  expect(waited.out).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
  expect(waited.status).toBe(0);
  expect(waited.end).toBeGreaterThan(held.end);
});

it('an apply killed while it holds the lock leaves no lock behind (it dies with its connection)', async () => {
  const killed = startTerraform(branch, 'apply', '-no-color', '-lock-timeout=0s');
  await waitFor('the approval prompt', () => /Enter a value:/.test(killed.output()), 120_000);
  expect(heldLocks()).toBe(1);
  killed.child.kill('SIGKILL');
  await killed.done;
  const start = Date.now();
  await waitFor('the lock to go', () => heldLocks() === 0, 30_000);
  timings.lockGoneAfterKill = Date.now() - start;
  const plan = terraform(second, 'plan', '-detailed-exitcode', '-input=false', '-no-color', '-lock-timeout=0s');
  expect(plan.status).toBe(0);
});

it('afterwards the state is whole: both checkouts list every resource, read the same state and plan no changes', () => {
  const pulled = [main, second].map((p) => {
    expect(sortedLines(terraform(p, 'state', 'list', '-no-color').out)).toEqual(RESOURCES);
    const plan = terraform(p, 'plan', '-detailed-exitcode', '-input=false', '-no-color');
    expect(plan.out).toMatch(/No changes/);
    expect(plan.status).toBe(0);
    return JSON.parse(terraform(p, 'state', 'pull').out);
  });
  expect(pulled[1]).toEqual(pulled[0]);
  expect(heldLocks()).toBe(0);
  expect(sortedLines(sh('tun-director', 'ipvsadm -Sn'))).toEqual(desiredTable());
});

it('destroy from the second checkout empties the shared state and returns the hosts to their state before', () => {
  const start = Date.now();
  second.destroy(STACK);
  timings.destroy = Date.now() - start;
  deployed = false;
  expect(terraform(main, 'state', 'list', '-no-color').out.trim()).toBe('');
  for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
});
