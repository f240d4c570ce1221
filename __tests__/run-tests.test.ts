import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { clusterOf, parseSuite, planLanes } from '../lab/run-tests';

const ROOT = join(__dirname, '..');
const hosts = (placement: Record<string, number>) => Object.entries(placement).map(([name, guest]) => ({ name, guest }));
const doc = (tag: string, body = '') => `/**\n * A suite.\n *\n * ${tag}\n */\n${body}`;

describe('parseSuite', () => {
  it('reads the clusters of the @lab tag in the first doc comment', () => {
    expect(parseSuite('a.e2e.test.ts', doc('@lab nat tun')).clusters).toEqual(['nat', 'tun']);
  });

  it('fails naming the file when the tag is missing, or only in a later comment', () => {
    expect(() => parseSuite('a.e2e.test.ts', doc('no tag'))).toThrow('a.e2e.test.ts: no "@lab CLUSTER..." tag in its first doc comment');
    expect(() => parseSuite('b.e2e.test.ts', `${doc('x')}/**\n * @lab dr\n */\n`)).toThrow('b.e2e.test.ts: no "@lab');
  });
});

describe('planLanes', () => {
  const texts = new Map<string, string>();
  const suite = (file: string, clusters: string[], body = '') => {
    texts.set(file, body);
    return { file, clusters };
  };

  it('one lane per guest, named after its clusters, for the suites on one guest, beside the unit tests; suites on several guests after them', () => {
    const plan = planLanes(
      [suite('a', ['dr']), suite('b', ['nat']), suite('c', ['dr']), suite('d', ['dr', 'tun'])],
      texts,
      hosts({ 'nat-director': 1, 'dr-director': 0, 'dr-web1': 0, 'tun-director': 2 }),
    );
    expect(plan.lanes).toEqual([
      { name: 'unit', files: [] },
      { name: 'dr', files: ['a', 'c'] },
      { name: 'nat', files: ['b'] },
    ]);
    expect(plan.shared).toEqual({ name: 'shared', files: ['d'] });
  });

  it('clusters that share a guest share its lane (a machine with fewer guests)', () => {
    const plan = planLanes([suite('a', ['dr']), suite('b', ['nat']), suite('c', ['dr', 'nat'])], texts, hosts({ 'nat-director': 0, 'dr-director': 0 }));
    expect(plan.lanes).toEqual([
      { name: 'unit', files: [] },
      { name: 'dr+nat', files: ['a', 'b', 'c'] },
    ]);
    expect(plan.shared).toBeUndefined();
  });

  it('refuses a suite that uses a host of a cluster it does not name, and a cluster the lab lacks', () => {
    const lab = hosts({ 'nat-director': 1, 'dr-director': 0 });
    expect(() => planLanes([suite('a', ['dr'], "sh('nat-director', 'true')")], texts, lab)).toThrow('a: uses host nat-director but its @lab tag names only dr');
    expect(() => planLanes([suite('b', ['ha'])], texts, lab)).toThrow('b: @lab names cluster ha, which has no host in the running lab');
  });

  it("every e2e suite of the project has a tag that covers the hosts it names (lab/topology.conf's hosts, one guest per cluster)", () => {
    const topology = readFileSync(join(ROOT, 'lab', 'topology.conf'), 'utf8')
      .split('\n')
      .filter((l) => /^[a-z]/.test(l))
      .map((l) => l.split(/\s+/)[0]);
    const guestOf = new Map<string, number>();
    const lab = topology.map((name) => {
      const cluster = clusterOf(name);
      if (!guestOf.has(cluster)) guestOf.set(cluster, guestOf.size);
      return { name, guest: guestOf.get(cluster)! };
    });
    const dir = join(ROOT, '__tests__', 'e2e');
    const files = readdirSync(dir).filter((f) => f.endsWith('.e2e.test.ts'));
    const all = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const plan = planLanes(files.map((f) => parseSuite(f, all.get(f)!)), all, lab);
    expect([...plan.lanes.flatMap((l) => l.files), ...(plan.shared?.files ?? [])].sort()).toEqual(files.sort());
  });
});
