import { readFileSync } from 'fs';
import { join } from 'path';
import { App, Testing, TerraformStack } from 'cdktf';
import { ResourceKind, RESOURCE_KIND_CONTEXT } from '../lib';
import { embeddedFiles, unescapeTemplate as unescape } from '../synth/read';
import { ClusterStack, LvsConfig, defineStacks } from '../stacks';

export { embeddedFiles };

/** What a stack synthesizes, parsed. */
export interface SynthResource {
  readonly type: string;
  readonly name: string;
  readonly body: any;
  /** State attributes holding connection and destroy script (input or triggers). */
  readonly state: Record<string, any>;
  /** The create-time script as it reaches the host (Terraform template escapes undone). */
  readonly apply: string;
  readonly destroy: string;
}

export function synthJson(stack: TerraformStack): any {
  return JSON.parse(Testing.synth(stack));
}

/** cdk.tf.json as written by a real synth, with the "//" metadata that Testing.synth drops. */
export function fullJson(stack: TerraformStack): any {
  const dir = Testing.fullSynth(stack);
  return JSON.parse(readFileSync(join(dir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'));
}

/** The host steps of a stack (resources with provisioners). */
export function resourcesOf(stack: TerraformStack): SynthResource[] {
  const json = synthJson(stack);
  const out: SynthResource[] = [];
  for (const [type, byName] of Object.entries<any>(json.resource ?? {})) {
    for (const [name, body] of Object.entries<any>(byName)) {
      // Host steps only: other resources of the stack run no script.
      if (!body.provisioner) continue;
      const state = body.input ?? body.triggers;
      out.push({
        type,
        name,
        body,
        state,
        apply: unescape(body.provisioner[0]['remote-exec'].inline[0]),
        destroy: unescape(state.destroy_script),
      });
    }
  }
  return out;
}

export function appWith(kind?: ResourceKind): App {
  return Testing.app({ context: kind ? { [RESOURCE_KIND_CONTEXT]: kind } : {} });
}

export function stacks(config: LvsConfig = {}, kind?: ResourceKind): ClusterStack[] {
  return defineStacks(appWith(kind), config);
}
