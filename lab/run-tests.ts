/**
 * `npm test`: the unit tests and every end-to-end suite, with suites that use
 * different UML guests running at once.
 *
 * The e2e suites spend most of their time waiting on hosts (boots, drains,
 * timeouts, load loops), and the lab's guests are separate kernels. Suites
 * whose hosts live in different guests cannot see each other: not their
 * addresses, tables or sysctls, and not their modules either, which are per
 * guest kernel and which the suites' snapshots include. Two suites sharing a
 * guest must not overlap, so each suite names the clusters it uses in its
 * first doc comment (`@lab dr`, `@lab nat tun`: the host-name prefixes of
 * lab/topology.conf), and this runner maps them to guests with the running
 * lab's hosts.json.
 *
 * Lanes: suites on exactly one guest run one after another in that guest's
 * lane, lanes at once, beside the unit tests; suites on several guests run
 * after the lanes, one after another. Each lane is one `jest --runInBand`
 * process; every output line is prefixed with its lane. Arguments go to
 * every jest (`npm test -- --ci`). Exit status 1 when any lane failed.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { labHosts, requireLab, ROOT } from './client';

/** One e2e suite and the clusters it declares. */
export interface Suite {
  readonly file: string;
  readonly clusters: readonly string[];
}

/** A `jest --runInBand` process: its name and its test files (none: the unit tests). */
export interface Lane {
  readonly name: string;
  readonly files: readonly string[];
}

/** What the runner runs: lanes at once, then the shared suites one by one. */
export interface Plan {
  readonly lanes: readonly Lane[];
  readonly shared: Lane | undefined;
}

/** Where the e2e suites are, relative to the project root (the runner's paths are). */
const E2E = join('__tests__', 'e2e');

/** A lab host's cluster: its name's prefix (`dr-web1` is in `dr`). */
export const clusterOf = (host: string): string => host.split('-')[0];

/** The clusters of a suite's `@lab` tag in its first doc comment; fails naming the file when there is none. */
export function parseSuite(file: string, text: string): Suite {
  const doc = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  const tag = doc && /@lab((?:[ \t]+[a-z0-9]+)+)[ \t]*$/m.exec(doc[1]);
  if (!tag) throw new Error(`${file}: no "@lab CLUSTER..." tag in its first doc comment (the clusters it uses, e.g. "@lab dr")`);
  return { file, clusters: tag[1].trim().split(/\s+/) };
}

/**
 * Lanes from the suites and the guest of each lab host. A suite naming a
 * cluster the lab has no host of, or using a host of a cluster it does not
 * name (any quoted host name in its text), fails here before anything runs.
 */
export function planLanes(suites: readonly Suite[], texts: ReadonlyMap<string, string>, hosts: readonly { name: string; guest: number }[]): Plan {
  const guestsOf = (cluster: string) => new Set(hosts.filter((h) => clusterOf(h.name) === cluster).map((h) => h.guest));
  const perGuest = new Map<number, string[]>();
  const shared: string[] = [];
  for (const s of suites) {
    for (const h of hosts) {
      if (!s.clusters.includes(clusterOf(h.name)) && texts.get(s.file)?.match(new RegExp(`['"\`]${h.name}['"\`]`))) {
        throw new Error(`${s.file}: uses host ${h.name} but its @lab tag names only ${s.clusters.join(' ')}`);
      }
    }
    const guests = new Set<number>();
    for (const c of s.clusters) {
      const g = guestsOf(c);
      if (g.size === 0) throw new Error(`${s.file}: @lab names cluster ${c}, which has no host in the running lab`);
      g.forEach((x) => guests.add(x));
    }
    if (guests.size === 1) {
      const [g] = guests;
      perGuest.set(g, [...(perGuest.get(g) ?? []), s.file]);
    } else {
      shared.push(s.file);
    }
  }
  const lanes: Lane[] = [{ name: 'unit', files: [] }];
  // A lane is named after the clusters its guest holds.
  const clustersOn = (g: number) => [...new Set(hosts.filter((h) => h.guest === g).map((h) => clusterOf(h.name)))].sort().join('+');
  for (const [g, files] of [...perGuest].sort(([a], [b]) => a - b)) lanes.push({ name: clustersOn(g), files });
  return { lanes, shared: shared.length ? { name: 'shared', files: shared } : undefined };
}

interface Outcome {
  readonly lane: string;
  readonly ok: boolean;
  readonly tests: number;
  readonly failed: number;
  readonly seconds: number;
}

function runLane(lane: Lane, args: readonly string[], out: string): Promise<Outcome> {
  const start = Date.now();
  const json = join(out, `${lane.name}.json`);
  const select = lane.files.length ? lane.files : ['--testPathIgnorePatterns', '/e2e/'];
  const jest = join(ROOT, 'node_modules', '.bin', 'jest');
  const child = spawn(jest, ['--runInBand', '--json', '--outputFile', json, ...args, ...select], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer, rest: { s: string }, to: NodeJS.WriteStream) => {
    const lines = (rest.s + chunk.toString()).split('\n');
    rest.s = lines.pop()!;
    for (const l of lines) to.write(`[${lane.name}] ${l}\n`);
  };
  const o = { s: '' };
  const e = { s: '' };
  child.stdout.on('data', (c: Buffer) => prefix(c, o, process.stdout));
  child.stderr.on('data', (c: Buffer) => prefix(c, e, process.stderr));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      for (const [r, to] of [[o, process.stdout], [e, process.stderr]] as const) if (r.s) to.write(`[${lane.name}] ${r.s}\n`);
      let tests = 0;
      let failed = 0;
      try {
        const res = JSON.parse(readFileSync(json, 'utf8'));
        tests = res.numTotalTests;
        failed = res.numFailedTests;
      } catch {
        // No results file: jest died before writing one; the exit code says so.
      }
      resolve({ lane: lane.name, ok: code === 0, tests, failed, seconds: Math.round((Date.now() - start) / 1000) });
    });
  });
}

async function main(args: string[]): Promise<number> {
  const files = readdirSync(join(ROOT, E2E)).filter((f) => f.endsWith('.e2e.test.ts')).sort().map((f) => join(E2E, f));
  const texts = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
  requireLab();
  const plan = planLanes(files.map((f) => parseSuite(f, texts.get(f)!)), texts, labHosts());
  for (const l of [...plan.lanes, ...(plan.shared ? [plan.shared] : [])]) {
    console.log(`lane ${l.name}: ${l.files.length ? l.files.map((f) => relative(E2E, f)).join(' ') : 'unit tests'}`);
  }
  const out = mkdtempSync(join(tmpdir(), 'lvs-tests-'));
  try {
    const outcomes = await Promise.all(plan.lanes.map((l) => runLane(l, args, out)));
    if (plan.shared) outcomes.push(await runLane(plan.shared, args, out));
    console.log('\n| lane | tests | failed | seconds |\n|---|---|---|---|');
    for (const r of outcomes) console.log(`| ${r.lane} | ${r.tests} | ${r.failed}${r.ok ? '' : ' (exit != 0)'} | ${r.seconds} |`);
    const total = outcomes.reduce((n, r) => n + r.tests, 0);
    const failed = outcomes.reduce((n, r) => n + r.failed, 0);
    const ok = outcomes.every((r) => r.ok);
    console.log(`all lanes: ${total} tests, ${failed} failed${ok ? '' : ', a lane exited non-zero'}`);
    return ok ? 0 : 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`run-tests: ${e.message}`);
      process.exit(1);
    },
  );
}
