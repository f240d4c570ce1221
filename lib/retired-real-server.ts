import { Construct } from 'constructs';
import type { TerraformStack } from 'cdktf';
import { SshConnectionProps, connectionRecord, selfConnection } from './connection';
import { frameworkOf } from './framework';
import { destroyProvisioner, logicalIdFor, ownerKeyFor, resourceKindOf, selfRoot } from './host-step';
import { claimNames } from './names';
import { addTopology } from './topology';
import { checkId } from './validation';

/** Props of a {@link RetiredRealServer}. */
export interface RetiredRealServerProps {
  /** The connection the server was deployed with (its values are read back from Terraform state). */
  readonly connection: SshConnectionProps;
}

/**
 * Cleans the host of a real server that leaves the cluster.
 *
 * Terraform does not run destroy provisioners of a resource deleted from the
 * configuration, so deleting a real server from the code would take it out of
 * the director's table but leave its VIP, sysctls and routes on the host.
 * Put this construct where the server was (same scope, same id) for one
 * deploy: it emits a Terraform `removed` block for the server's `Host`
 * resource whose destroy-time provisioner runs the cleanup script recorded in
 * state. The director's table, which depended on the server, is converged
 * first, so the server is drained and out of the table before its host is
 * cleaned. Afterwards the construct can be deleted.
 */
export class RetiredRealServer extends Construct {
  /** Terraform address of the resource being retired. */
  public readonly address: string;

  constructor(scope: Construct, id: string, props: RetiredRealServerProps) {
    super(scope, checkId(scope, id));
    // A tree from another copy of the framework fails here, naming this construct.
    frameworkOf(this);
    const record = connectionRecord(this, props?.connection);
    const kind = resourceKindOf(this);
    const name = logicalIdFor(this, 'Host');
    claimNames(this, { resource: name, stateKey: ownerKeyFor(this) });
    this.address = `${kind}.${name}`;
    removedBlocks(this).push({
      from: this.address,
      lifecycle: { destroy: true },
      connection: selfConnection(selfRoot(kind), record),
      provisioner: [{ 'remote-exec': { when: 'destroy', inline: destroyProvisioner(kind).inline } }],
    });
    addTopology(this, () => ({ retired: { path: this.node.path, resource: this.address } }));
  }
}

const blocks = new WeakMap<TerraformStack, object[]>();

/** The stack's `removed` blocks; cdktf has no construct for them, so they go in as an override. */
function removedBlocks(scope: Construct): object[] {
  const { Lazy, TerraformStack } = frameworkOf(scope);
  const stack = TerraformStack.of(scope);
  let list = blocks.get(stack);
  if (!list) {
    const created: object[] = [];
    blocks.set(stack, created);
    stack.addOverride('removed', Lazy.anyValue({ produce: () => created }));
    list = created;
  }
  return list;
}
