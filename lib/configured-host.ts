import { Construct, IConstruct } from 'constructs';
import { ConnectionRecord, ConnectionSummary, SshConnectionProps, connectionRecord, connectionSummary } from './connection';
import { frameworkOf } from './framework';
import { HostStep, HostStepProps, ownerKeyFor } from './host-step';
import { BundleSpec, renderBundle } from './scripts/bundle';
import { Fragment } from './scripts/host';
import { TopologyPart, addTopology } from './topology';
import { checkId, fail } from './validation';

/** Props every host this library configures takes. */
export interface ConfiguredHostProps {
  /** How Terraform reaches the host over SSH (its management address). */
  readonly connection: SshConnectionProps;
}

/**
 * A host this library configures over SSH: it owns the host's connection,
 * its steps (one Terraform resource each, the first of them `Host`, the
 * host's own settings) and its part of the recorded topology. The director
 * and the real servers derive from it.
 */
export abstract class ConfiguredHost extends Construct {
  /** The step that applies the host's own settings (Terraform resource `<path>_Host`). */
  public readonly host: HostStep;
  /** The validated connection, as each step stores it. @internal */
  protected readonly connection: ConnectionRecord;

  protected constructor(scope: Construct, id: string, props: ConfiguredHostProps) {
    super(scope, checkId(scope, id));
    // A tree from another copy of the framework fails here, naming this construct.
    frameworkOf(this);
    if (!props || typeof props !== 'object') fail(this, 'props', 'are required');
    this.connection = connectionRecord(this, props.connection);
    // Rendered at synth, so that services and real servers added after construction count.
    this.host = this.addStep('Host', () => ({ owner: ownerKeyFor(this), description: this.description, onChange: 'teardown', ...this.hostScripts() }), {
      createBeforeDestroy: this.hostCreateBeforeDestroy,
    });
    addTopology(this, () => this.topologyPart());
    // Advice needs the whole tree, so it is given when aspects run (at synth), as warnings.
    const { Annotations, Aspects } = frameworkOf(this);
    Aspects.of(this).add({
      visit: (node) => {
        if (node === this) this.advice().forEach(([scope, message]) => Annotations.of(scope).addWarning(message));
      },
    });
    this.node.addValidation({ validate: () => this.validateTree() });
  }

  /** Warnings about the finished tree: what synthesizes but is likely not what was meant. */
  protected advice(): [IConstruct, string][] {
    return [];
  }

  /** Errors only the finished tree shows (cdktf reports them at synth as `[path] message`). */
  protected validateTree(): string[] {
    return [];
  }

  /** One line saying what this host is, e.g. `LVS director nat-stack/director`. */
  protected abstract get description(): string;

  /** The shell of the `Host` step: what the host's role sets up and undoes, and what outlives its teardown. */
  protected abstract hostScripts(): Required<Fragment> & Pick<BundleSpec, 'handover'>;

  /**
   * Whether a new `Host` generation is created before the old resource is
   * destroyed: its create undoes the old generation itself (teardown), after
   * its handover ran, and the old destroy then leaves the host to it.
   */
  protected get hostCreateBeforeDestroy(): boolean {
    return false;
  }

  /** This host's part of the recorded topology. */
  protected abstract topologyPart(): TopologyPart;

  /** Where the host is reached, as the topology records it. */
  protected get connectionSummary(): ConnectionSummary {
    return connectionSummary(this, this.connection);
  }

  /** A step on this host, with this host's connection; its bundle is rendered at synth. */
  protected addStep(id: string, bundle: () => BundleSpec, options: Pick<HostStepProps, 'createBeforeDestroy'> = {}): HostStep {
    return new HostStep(this, id, { ...options, connection: this.connection, bundle: () => renderBundle(bundle()) });
  }
}
