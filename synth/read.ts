/**
 * Reads synthesized stacks (cdktf.out/stacks/<stack>/cdk.tf.json): the
 * recorded cluster topology and, per host step, how it reaches its host and
 * the scripts it runs there over SSH. The one reader of synth output, for
 * review, verify, the benchmarks and the tests, so that they agree on what a
 * stack holds. Works on synth output alone, so an older commit's output is
 * read the same way.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { targetOf } from '../lib/connection';
import { createScriptOf, unescapeTemplate } from '../lib/host-step';
import { splitLibrary } from '../lib/scripts/bundle';
import { embeddedFiles } from '../lib/scripts/shell';
import { Topology, topologyOf } from '../lib/topology';

/** One Terraform resource that runs scripts on one host. */
export interface SynthesizedStep {
  /** Terraform address, e.g. `terraform_data.web1_Host`. */
  readonly address: string;
  /** Construct path of the owning director or real server (e.g. `dr-stack/web1`). */
  readonly owner: string;
  /**
   * The step's `input` (terraform_data) or `triggers` (null_resource) as
   * synthesized: the connection record its provisioners read
   * (lib/connection.ts `connectionRecord`, snake_case keys) and its destroy
   * script; null_resource triggers hold every value as a string.
   */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** `attributes.host`. */
  readonly host: string;
  /** `attributes.port` as a number. */
  readonly port: number;
  /** Create-time script as it reaches the host: the library local put in, Terraform's escapes undone. */
  readonly create: string;
  /** The shell library the create script carries and installs (absent in output from before it); reports show it once. */
  readonly library?: string;
  /** Destroy-time script as it reaches the host. */
  readonly destroy: string;
  /** Files the create script writes through heredocs, by path on the host. */
  readonly files: Record<string, string>;
  readonly createBeforeDestroy: boolean;
  /** Content hash whose change makes Terraform replace the step (and so run its scripts). */
  readonly generation?: string;
}

export interface StackSynth {
  readonly name: string;
  /** Absent in output synthesized before the topology was recorded. */
  readonly topology?: Topology;
  readonly steps: SynthesizedStep[];
  /** Addresses in the stack's Terraform `removed` blocks (retired servers). */
  readonly removed: string[];
}

export { elideFiles, embeddedFiles } from '../lib/scripts/shell';
export { unescapeTemplate } from '../lib/host-step';

interface RawResource {
  readonly '//'?: { readonly metadata?: { readonly path?: string } };
  readonly input?: Record<string, unknown>;
  readonly triggers?: Record<string, unknown>;
  readonly provisioner?: { readonly 'remote-exec'?: { readonly inline?: string[]; readonly when?: string } }[];
  readonly lifecycle?: { readonly create_before_destroy?: boolean };
  readonly triggers_replace?: Record<string, unknown>;
}

/** Owners by Terraform address, from the topology; the construct path otherwise. */
function ownersOf(topology: Topology | undefined): Map<string, string> {
  const owners = new Map<string, string>();
  for (const d of topology?.directors ?? []) {
    owners.set(d.resources.host, d.path);
    if (d.resources.services) owners.set(d.resources.services, d.path);
  }
  for (const r of topology?.realServers ?? []) owners.set(r.resource, r.path);
  return owners;
}

/** Parses one stack's cdk.tf.json. */
export function parseStack(name: string, json: any): StackSynth {
  const topology = topologyOf(json, name);
  const owners = ownersOf(topology);
  const steps: SynthesizedStep[] = [];
  for (const [type, byName] of Object.entries<Record<string, RawResource>>(json.resource ?? {})) {
    for (const [id, body] of Object.entries(byName)) {
      const createRun = body.provisioner?.find((p) => p['remote-exec'] && p['remote-exec'].when !== 'destroy');
      const state = body.input ?? body.triggers;
      if (!createRun || !state) continue;
      const address = `${type}.${id}`;
      const { host, port } = targetOf(state);
      const create = createScriptOf(json, createRun['remote-exec']?.inline ?? []);
      const { library } = splitLibrary(create);
      steps.push({
        address,
        owner: owners.get(address) ?? (body['//']?.metadata?.path ?? address).replace(/\/Resource$/, ''),
        attributes: state,
        host,
        port,
        create,
        library,
        destroy: unescapeTemplate(String(state.destroy_script ?? '')),
        files: embeddedFiles(create),
        createBeforeDestroy: body.lifecycle?.create_before_destroy === true,
        generation: (body.triggers_replace ?? body.triggers)?.generation as string | undefined,
      });
    }
  }
  const removed = ((json.removed ?? []) as { from?: string }[]).flatMap((r) => (r.from ? [r.from] : []));
  return { name, topology, steps, removed };
}

/** Names of the stacks in a synth output directory (those with a cdk.tf.json), sorted. */
export function stacksIn(dir: string): string[] {
  const root = join(dir, 'stacks');
  if (!existsSync(root)) throw new Error(`${dir}: no stacks/ directory (expected cdktf synth output)`);
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'cdk.tf.json')))
    .sort();
}

/** Reads `stacks/<stack>/cdk.tf.json` under a synth output directory. */
export function readStack(dir: string, stack: string): StackSynth {
  const file = join(dir, 'stacks', stack, 'cdk.tf.json');
  if (!existsSync(file)) {
    throw new Error(`no stack "${stack}" in ${dir} (stacks there: ${stacksIn(dir).join(', ') || 'none'})`);
  }
  return parseStack(stack, JSON.parse(readFileSync(file, 'utf8')));
}

/** Reads every stack of a synth output directory. */
export function readSynthDir(dir: string): StackSynth[] {
  return stacksIn(dir).map((name) => readStack(dir, name));
}
