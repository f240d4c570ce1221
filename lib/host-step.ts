/**
 * Places a rendered bundle in Terraform: one resource whose create-time
 * provisioner applies the bundle and whose destroy-time provisioner removes
 * it, both over SSH with a connection read only from the resource itself.
 */
import type { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import type { NullProvider } from '@cdktf/provider-null/lib/provider';
import { Construct, IConstruct } from 'constructs';
import type { DataResource, RemoteExecProvisioner, TerraformResource } from 'cdktf';
import { ConnectionRecord, referencePreconditions, selfConnection } from './connection';
import { frameworkOf } from './framework';
import { RenderedBundle } from './scripts/bundle';
import { LIBRARY, asRoot } from './scripts/shell';
import { claimNames } from './names';
import { checkId, checkOneOf, fail } from './validation';

/** Which Terraform resource type carries the provisioners. */
export enum ResourceKind {
  /** Built-in `terraform_data`: no provider download, works where the registry is unreachable. */
  TERRAFORM_DATA = 'terraform_data',
  /** `null_resource` from hashicorp/null (needs @cdktf/provider-null, which exists for cdktf only). */
  NULL_RESOURCE = 'null_resource',
}

/**
 * Construct context key selecting the resource kind for everything below
 * the scope it is set on (a stack, or the whole app through cdktf.json's
 * "context"). Stacks set it from their `resourceKind` prop.
 */
export const RESOURCE_KIND_CONTEXT = 'lvs-cdktf:resourceKind';

/**
 * The resource kind in effect for `scope`: the {@link RESOURCE_KIND_CONTEXT}
 * context value, else {@link ResourceKind.TERRAFORM_DATA}.
 */
export function resourceKindOf(scope: IConstruct): ResourceKind {
  const value = scope.node.tryGetContext(RESOURCE_KIND_CONTEXT) ?? ResourceKind.TERRAFORM_DATA;
  return checkOneOf(scope, `context "${RESOURCE_KIND_CONTEXT}"`, value, Object.values(ResourceKind));
}

/**
 * Terraform reads `${` and `%{` in strings as templates; scripts must reach
 * the host verbatim.
 */
export function escapeTemplate(s: string): string {
  return s.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/** Undoes {@link escapeTemplate}: the text as it reaches the host. */
export function unescapeTemplate(s: string): string {
  return s.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

/**
 * The resource's Terraform name, derived from its construct path inside the
 * stack so that it is readable and predictable (a `removed` block for a host
 * that leaves the cluster names the same address). Construct IDs are
 * therefore public contract: renaming one replaces the resource.
 */
export function logicalIdFor(scope: IConstruct, id: string): string {
  const stack = frameworkOf(scope).TerraformStack.of(scope);
  const parts = [...scope.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id), id];
  const name = parts.join('_').replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

/** The attribute of the resource that holds the connection and destroy script. @internal */
export function selfRoot(kind: ResourceKind): string {
  return kind === ResourceKind.TERRAFORM_DATA ? 'input' : 'triggers';
}

/** A destroy-time remote-exec provisioner; cdktf's type lacks `when`, Terraform accepts it. @internal */
export function destroyProvisioner(kind: ResourceKind): RemoteExecProvisioner {
  return { type: 'remote-exec', when: 'destroy', inline: [`\${self.${selfRoot(kind)}.destroy_script}`] } as RemoteExecProvisioner;
}

/** Props of a {@link HostStep}. */
export interface HostStepProps {
  /** Validated connection record (see `connectionRecord`). */
  readonly connection: ConnectionRecord;
  /**
   * What to apply on the host and how to remove it. Called once, at synth
   * time, so that services and real servers added after construction count.
   */
  readonly bundle: () => RenderedBundle;
  /**
   * Create the replacement before destroying the old resource. Needed where
   * a replacement must never leave a gap (the IPVS table under traffic).
   * @default false
   */
  readonly createBeforeDestroy?: boolean;
}

/** One bundle on one host, as one Terraform resource. */
export class HostStep extends Construct {
  /** @internal the Terraform resource; its type is the framework's */
  public readonly resource: TerraformResource;
  /** Which resource type {@link HostStep.resource} is. */
  public readonly kind: ResourceKind;
  private readonly after = new Set<HostStep>();

  constructor(scope: Construct, id: string, props: HostStepProps) {
    super(scope, checkId(scope, id));
    const fw = frameworkOf(this);
    claimNames(scope, { resource: logicalIdFor(scope, id), stateKey: ownerKeyFor(scope) });
    this.kind = resourceKindOf(this);
    const precondition = referencePreconditions(fw, scope.node.path, props.connection);
    const meta = {
      lifecycle:
        props.createBeforeDestroy || precondition.length > 0
          ? { createBeforeDestroy: props.createBeforeDestroy || undefined, precondition: precondition.length > 0 ? precondition : undefined }
          : undefined,
    };
    if (this.kind === ResourceKind.TERRAFORM_DATA) {
      this.resource = new fw.DataResource(this, 'Resource', meta);
    } else {
      const provider = nullProvider(this);
      const stack = fw.TerraformStack.of(this);
      if (!stack.node.tryFindChild(NULL_PROVIDER_ID)) new provider.NullProvider(stack, NULL_PROVIDER_ID);
      this.resource = new provider.Resource(this, 'Resource', meta);
    }
    this.resource.overrideLogicalId(logicalIdFor(scope, id));
    // Terraform's own block, as a `removed` block of a retired server has it too (RetiredRealServer).
    this.resource.addOverride('connection', selfConnection(selfRoot(this.kind), props.connection));
    // The bundle depends on services and servers added after construction, so
    // it is rendered at synth time, when aspects run.
    fw.Aspects.of(this).add({
      visit: (node) => {
        if (node === this) this.place(props.bundle(), props.connection);
      },
    });
  }

  /** Terraform address of the resource, e.g. `terraform_data.web1_Host`. */
  public get address(): string {
    return `${this.resource.terraformResourceType}.${this.resource.friendlyUniqueId}`;
  }

  /** This step runs after `other` on create, and before it on destroy. */
  public runsAfter(other: HostStep): void {
    if (this.after.has(other)) return;
    this.after.add(other);
    (this.resource.dependsOn ??= []).push(other.address);
  }

  private place(bundle: RenderedBundle, connection: ConnectionRecord): void {
    // Another login user gets root through sudo, for the destroy script too.
    const root = (s: string) => (connection.user === 'root' ? s : asRoot(s));
    const [head, , tail] = bundle.apply;
    this.resource.provisioners = [
      { type: 'remote-exec', inline: [escapeTemplate(root(head)), libraryReference(this), escapeTemplate(tail)] },
      destroyProvisioner(this.kind),
    ];
    const state = { ...connection, destroy_script: escapeTemplate(root(bundle.destroy)) };
    const identity = { owner: bundle.owner, generation: bundle.generation };
    if (this.kind === ResourceKind.TERRAFORM_DATA) {
      const data = this.resource as DataResource;
      data.input = state;
      // A new generation replaces the resource (provisioners run); a new address or port only updates it.
      data.triggersReplace = identity;
    } else {
      const all = { ...state, ...identity };
      (this.resource as NullResource).triggers = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, String(v)]));
    }
  }
}

/** Name of the Terraform local that holds the shell library, once per stack. */
export const LIBRARY_LOCAL = 'lvs_cdktf_library';

/**
 * The shell library as a reference to the stack's one copy of it. Terraform's
 * cost of a plan grows with the text of every provisioner (it parses each as
 * a template), so each host step carries only what is particular to it.
 */
function libraryReference(scope: IConstruct): string {
  const { TerraformLocal, TerraformStack } = frameworkOf(scope);
  const stack = TerraformStack.of(scope);
  if (!stack.node.tryFindChild(LIBRARY_LOCAL)) {
    new TerraformLocal(stack, LIBRARY_LOCAL, escapeTemplate(LIBRARY)).overrideLogicalId(LIBRARY_LOCAL);
  }
  // A plain string, not the local's token: see selfConnection.
  return `\${local.${LIBRARY_LOCAL}}`;
}

/**
 * A synthesized host step's create script as it reaches the host: the
 * `inline` list joined as Terraform joins it, with the stack's library local
 * put in and Terraform's escapes undone. Reads synth output of every version
 * (before the library local, the script was one element).
 * @internal
 */
export function createScriptOf(synthesized: { readonly locals?: Record<string, unknown> }, inline: readonly string[]): string {
  const reference = `\${local.${LIBRARY_LOCAL}}`;
  return inline.map((part) => unescapeTemplate(part === reference ? String(synthesized.locals?.[LIBRARY_LOCAL] ?? '') : part)).join('\n');
}

const NULL_PROVIDER_ID = 'lvs-cdktf-null-provider';

/**
 * @cdktf/provider-null, loaded only for the null_resource kind: an optional
 * peer, published for cdktf alone, and it must share the app's copy of it.
 */
function nullProvider(scope: IConstruct): { Resource: typeof NullResource; NullProvider: typeof NullProvider } {
  const field = `context "${RESOURCE_KIND_CONTEXT}"`;
  let provider: { Resource: typeof NullResource; NullProvider: typeof NullProvider };
  try {
    provider = { Resource: require('@cdktf/provider-null/lib/resource').Resource, NullProvider: require('@cdktf/provider-null/lib/provider').NullProvider };
  } catch {
    fail(scope, field, 'null_resource needs the package @cdktf/provider-null installed next to cdktf (there is none for cdktn: use terraform_data)');
  }
  if (!(provider.Resource.prototype instanceof frameworkOf(scope).TerraformResource)) {
    fail(scope, field, "null_resource: @cdktf/provider-null loads another copy of cdktf than the app's; run `npm dedupe` so there is one (`npm ls cdktf`)");
  }
  return provider;
}

/**
 * The key under which a construct's state lives on its host
 * (/var/lib/lvs-cdktf/<key>, lvs-cdktf-<key>.service): stack name and
 * construct path, so two stacks or two constructs never share state.
 */
export function ownerKeyFor(scope: IConstruct, suffix?: string): string {
  const stack = frameworkOf(scope).TerraformStack.of(scope);
  const parts = [stack.node.id, ...scope.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id)];
  if (suffix) parts.push(suffix);
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
