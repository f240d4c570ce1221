/**
 * What to verify for a stack, from the synth output reader: the declared
 * state of every host (from the recorded topology) and how to reach it (from
 * the connection each host step keeps in its own `input` or `triggers`
 * attribute, the one its destroy provisioner uses).
 */
import { Topology } from '../lib/topology';
import { StackSynth, readStack } from '../synth/read';
import { HostExpectation, directorExpectation, realServerExpectation } from './expect';
import { SshTarget, targetOf } from '../lib/connection';

export interface PlannedHost {
  readonly expectation: HostExpectation;
  readonly target: SshTarget;
  /** Terraform address of the step whose connection is used. */
  readonly resource: string;
}

export interface StackPlan {
  readonly stack: string;
  readonly topology: Topology;
  readonly hosts: PlannedHost[];
}

type Attrs = Readonly<Record<string, unknown>>;

export function planStack(synth: StackSynth): StackPlan {
  const { name: stack, topology } = synth;
  if (!topology) throw new Error(`${stack}: cdk.tf.json has no recorded topology ("//"."lvs-cdktf"); synthesize it with this version`);
  const steps = new Map(synth.steps.map((s) => [s.address, s]));
  /** The connection attributes of the step at a Terraform address (`terraform_data.web1_Host`). */
  const attributesOf = (address: string): Attrs => {
    const step = steps.get(address);
    if (!step) throw new Error(`${address}: resource or its connection attributes not found in cdk.tf.json`);
    return step.attributes;
  };
  const hosts: PlannedHost[] = [
    ...topology.directors.map((d) => ({
      expectation: directorExpectation(d),
      resource: d.resources.host,
      target: targetOf(attributesOf(d.resources.host)),
    })),
    ...topology.realServers.map((r) => ({
      expectation: realServerExpectation(r),
      resource: r.resource,
      target: targetOf(attributesOf(r.resource)),
    })),
  ];
  return { stack, topology, hosts };
}

export function loadStackPlan(dir: string, stack: string): StackPlan {
  return planStack(readStack(dir, stack));
}
