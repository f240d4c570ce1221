/**
 * What to verify for a stack, read from its synthesized cdk.tf.json: the
 * declared state of every host (from the recorded topology) and how to
 * reach it (from the connection each host step keeps in its own `input`
 * or `triggers` attribute, the one its destroy provisioner uses).
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { Topology, topologyOf } from '../lib/topology';
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

type Attrs = Record<string, unknown>;

/** The connection attributes of a resource, by Terraform address (`terraform_data.web1_Host`). */
function attributesOf(json: any, address: string): Attrs {
  const n = address.indexOf('.');
  const body = json.resource?.[address.slice(0, n)]?.[address.slice(n + 1)];
  const attrs = body?.input ?? body?.triggers;
  if (!attrs || typeof attrs !== 'object') throw new Error(`${address}: resource or its connection attributes not found in cdk.tf.json`);
  return attrs as Attrs;
}

export function planStack(stack: string, json: any): StackPlan {
  const topology = topologyOf(json);
  if (!topology) throw new Error(`${stack}: cdk.tf.json has no recorded topology ("//"."lvs-cdktf"); synthesize it with this version`);
  const hosts: PlannedHost[] = [
    ...topology.directors.map((d) => ({
      expectation: directorExpectation(d),
      resource: d.resources.host,
      target: targetOf(attributesOf(json, d.resources.host)),
    })),
    ...topology.realServers.map((r) => ({
      expectation: realServerExpectation(r),
      resource: r.resource,
      target: targetOf(attributesOf(json, r.resource)),
    })),
  ];
  return { stack, topology, hosts };
}

/** Stack names in a synth output directory. */
export function stacksIn(dir: string): string[] {
  const root = join(dir, 'stacks');
  if (!existsSync(root)) throw new Error(`${dir}: no stacks/ directory (expected cdktf synth output)`);
  return readdirSync(root)
    .filter((n) => existsSync(join(root, n, 'cdk.tf.json')))
    .sort();
}

export function loadStackPlan(dir: string, stack: string): StackPlan {
  const file = join(dir, 'stacks', stack, 'cdk.tf.json');
  if (!existsSync(file)) {
    throw new Error(`no stack "${stack}" in ${dir} (stacks there: ${stacksIn(dir).join(', ') || 'none'})`);
  }
  return planStack(stack, JSON.parse(readFileSync(file, 'utf8')));
}
