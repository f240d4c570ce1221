import { readFileSync } from 'fs';
import { join } from 'path';
import { App, Testing, TerraformStack } from 'cdktf';
import { ResourceKind, RESOURCE_KIND_CONTEXT } from '../lib';
import { SynthesizedStep, parseStack } from '../synth/read';
import { ClusterStack, LvsConfig, defineStacks } from '../stacks';

/** A host step of a stack, with what tests check of its resource beyond the reader's model. */
export interface SynthResource extends SynthesizedStep {
  readonly type: string;
  readonly name: string;
  /** The resource as synthesized (provisioners, connection, lifecycle, depends_on, ...). */
  readonly body: any;
}

export function synthJson(stack: TerraformStack): any {
  return JSON.parse(Testing.synth(stack));
}

/** cdk.tf.json as written by a real synth, with the "//" metadata that Testing.synth drops. */
export function fullJson(stack: TerraformStack): any {
  const dir = Testing.fullSynth(stack);
  return JSON.parse(readFileSync(join(dir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'));
}

/** The host steps of a stack, as the synth output reader reads them. */
export function resourcesOf(stack: TerraformStack): SynthResource[] {
  const json = synthJson(stack);
  return parseStack(stack.node.id, json).steps.map((step) => {
    const [type, name] = step.address.split('.');
    return { ...step, type, name, body: json.resource[type][name] };
  });
}

export function appWith(kind?: ResourceKind): App {
  return Testing.app({ context: kind ? { [RESOURCE_KIND_CONTEXT]: kind } : {} });
}

export function stacks(config: LvsConfig = {}, kind?: ResourceKind): ClusterStack[] {
  return defineStacks(appWith(kind), config);
}

const ssh2 = require('ssh2') as any;

/**
 * An ed25519 key pair in OpenSSH's formats, from ssh2's generator. For a key
 * that starts with a zero byte (1 in 256) ssh2 writes a 31-byte public key
 * and a private key it cannot parse itself, so such a key is drawn again.
 */
export function ed25519KeyPair(): { public: string; private: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
