/**
 * Names that must be unique within a stack: Terraform resource names
 * (logicalIdFor turns punctuation into '_') and on-host state keys
 * (ownerKeyFor also lowercases). Construct ids that differ only there would
 * share a name, and one construct's step would silently replace the other's.
 * Claimed as each construct is built, because app synth skips node
 * validations.
 */
import { IConstruct } from 'constructs';
import { frameworkOf } from './framework';
import { fail } from './validation';

export interface Names {
  /** Terraform resource name, e.g. `web1_Host`. */
  readonly resource?: string;
  /** Key of the construct's state on its host, e.g. `nat-stack-web1`. */
  readonly stateKey?: string;
}

const claims = new WeakMap<IConstruct, Map<string, IConstruct>>();

/**
 * Takes `names` for `owner`; fails, naming both constructs, when another
 * construct holds one of them. Resource names are per stack (each stack is
 * its own Terraform configuration); state keys are per app, because stacks
 * whose ids fold together (nat-stack, Nat_Stack) may configure one host.
 */
export function claimNames(owner: IConstruct, names: Names): void {
  const stack = frameworkOf(owner).TerraformStack.of(owner);
  const scopes: Record<'Terraform resource name' | 'state key', IConstruct> = { 'Terraform resource name': stack, 'state key': stack.node.root };
  for (const [kind, name] of [['Terraform resource name', names.resource], ['state key', names.stateKey]] as const) {
    if (name === undefined) continue;
    const held = claims.get(scopes[kind]) ?? new Map<string, IConstruct>();
    claims.set(scopes[kind], held);
    const holder = held.get(`${kind} ${name}`);
    if (holder && holder !== owner) {
      fail(owner, 'id', `its ${kind} ${name} is also that of ${holder.node.path}; ids must differ in more than case and punctuation`);
    }
    held.set(`${kind} ${name}`, owner);
  }
}
