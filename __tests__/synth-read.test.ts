/**
 * synth/read.ts on a synth output directory: which stacks it lists, the
 * errors for a wrong directory or stack, and what it keeps of a host step.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ResourceKind } from '../lib';
import { readStack, readSynthDir, stacksIn } from '../synth/read';
import { fullJson, stacks } from './helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvs-synth-read-'));
  for (const s of stacks({}, ResourceKind.NULL_RESOURCE)) {
    mkdirSync(join(dir, 'stacks', s.node.id), { recursive: true });
    writeFileSync(join(dir, 'stacks', s.node.id, 'cdk.tf.json'), JSON.stringify(fullJson(s)));
  }
  // Not a stack: no cdk.tf.json.
  mkdirSync(join(dir, 'stacks', 'leftover'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('lists the stacks that have a cdk.tf.json, sorted, and reads them all', () => {
  expect(stacksIn(dir)).toEqual(['dr-stack', 'nat-stack', 'tun-stack']);
  expect(readSynthDir(dir).map((s) => s.name)).toEqual(['dr-stack', 'nat-stack', 'tun-stack']);
});

it('names what is there when the directory or the stack is wrong', () => {
  expect(() => stacksIn(join(dir, 'stacks'))).toThrow(new Error(`${join(dir, 'stacks')}: no stacks/ directory (expected cdktf synth output)`));
  expect(() => readStack(dir, 'leftover')).toThrow(new Error(`no stack "leftover" in ${dir} (stacks there: dr-stack, nat-stack, tun-stack)`));
});

it("keeps a step's input or triggers as synthesized, and reads host and port from them", () => {
  const web1 = readStack(dir, 'nat-stack').steps.find((s) => s.address === 'null_resource.web1_Host')!;
  expect(web1.owner).toBe('nat-stack/web1');
  expect(web1.attributes).toMatchObject({ host: '192.168.116.112', port: '22', user: 'root' });
  expect([web1.host, web1.port]).toEqual(['192.168.116.112', 22]);
  // Terraform's template escapes ($${) are undone in what reaches the host: the library the step references.
  expect(web1.library).toContain(' ${ID:-} ');
  expect(web1.library).not.toContain('$${');
  // The create script is the whole text the host runs, library included (the e2e suites run it again on the hosts).
  expect(web1.create).toContain('lvs_begin() {');
  expect(web1.create).toContain(web1.library!.trimEnd());
});

it('fails on a topology newer than this code knows, naming the stack', () => {
  const newer = join(dir, 'newer');
  const json = fullJson(stacks()[2]);
  json['//']['lvs-cdktf'] = JSON.stringify({ ...JSON.parse(json['//']['lvs-cdktf']), version: 2 });
  mkdirSync(join(newer, 'stacks', 'tun-stack'), { recursive: true });
  writeFileSync(join(newer, 'stacks', 'tun-stack', 'cdk.tf.json'), JSON.stringify(json));
  expect(() => readSynthDir(newer)).toThrow(new Error('tun-stack: cdk.tf.json records topology version 2; this lvs-cdktf reads up to 1: upgrade'));
});
