/**
 * A machine-readable description of each stack's clusters, written into the
 * synthesized cdk.tf.json under "//" (which Terraform ignores), so that plan
 * review and verification work from synth output alone, including an older
 * synth output from another commit.
 */
import { IConstruct } from 'constructs';
import type { TerraformStack } from 'cdktf';
import { frameworkOf } from './framework';
import type { ConnectionSummary } from './connection';
import type { Forwarding, IpvsService, IpvsTimeouts } from './ipvs';
import type { ModuleParam, MssClampSpec } from './scripts/host';
import type { HostSettings } from './scripts/roles';
import type { VrrpInstance } from './scripts/keepalived';

/** Key under "//" in cdk.tf.json that holds the {@link Topology}. */
export const TOPOLOGY_KEY = 'lvs-cdktf';
/** Format version of the recorded {@link Topology} ({@link Topology.version}). */
export const TOPOLOGY_VERSION = 1;

/** What the host's scripts set on it (lib/scripts/roles.ts HostSettings), for verification. */
export interface TopologySettings {
  /** Parameters of the modules; absent without. */
  readonly moduleParams?: ModuleParam[];
  readonly modules: string[];
  readonly sysctls: { readonly key: string; readonly value: string }[];
  readonly linksUp: string[];
  readonly addresses: { readonly dev: string; readonly cidr: string }[];
  readonly routes: { readonly destination: string; readonly dev: string }[];
  readonly defaultRoutes: { readonly via: string; readonly dev: string }[];
  /** GUE: the UDP ports fou decapsulates on; absent without. */
  readonly fouPorts?: number[];
  /** TUN: the MSS clamps; absent without. */
  readonly mssClamps?: MssClampSpec[];
}

/** The settings of a host's scripts in the form the topology records. */
export function topologySettings(s: HostSettings): TopologySettings {
  return {
    ...(s.moduleParams ? { moduleParams: s.moduleParams } : {}),
    modules: s.modules,
    sysctls: s.sysctls.map(([key, value]) => ({ key, value: String(value) })),
    linksUp: s.linksUp,
    addresses: s.addresses.map(({ dev, cidr }) => ({ dev, cidr })),
    routes: s.routes,
    defaultRoutes: s.defaultRoutes,
    ...(s.fouPorts ? { fouPorts: s.fouPorts } : {}),
    ...(s.mssClamps ? { mssClamps: s.mssClamps } : {}),
  };
}

/** One {@link LvsDirector}, as the topology records it. */
export interface TopologyDirector {
  readonly path: string;
  readonly connection: ConnectionSummary;
  readonly interfaces: { readonly name: string; readonly address: string }[];
  readonly ownsWholeTable: boolean;
  /** Terraform addresses of the director's base, table and keepalived steps. */
  readonly resources: { readonly host: string; readonly services?: string; readonly keepalived?: string };
  readonly services: IpvsService[];
  /** The table as `ipvsadm -Sn` prints it. */
  readonly rules: string[];
  readonly settings: TopologySettings;
  /** The chain whose rules mark the firewall-mark services' traffic; absent when the director marks none. */
  readonly marksChain?: string;
  /** The IPVS timeouts the director sets; absent when it keeps the kernel's. */
  readonly timeouts?: IpvsTimeouts;
  /** In a director pair: the other director and this one's VRRP instance. */
  readonly pair?: { readonly peer: string; readonly vrrp: VrrpInstance };
}

/** One real server construct, as the topology records it. */
export interface TopologyRealServer {
  readonly path: string;
  readonly connection: ConnectionSummary;
  readonly forwarding: Forwarding;
  readonly interface: { readonly name: string; readonly address: string; readonly ipv6Address?: string };
  readonly vips: string[];
  readonly gateway?: string;
  readonly ipv6Gateway?: string;
  readonly webServer?: string;
  readonly resource: string;
  readonly settings: TopologySettings;
}

/** The clusters of one stack, recorded in its synthesized cdk.tf.json under {@link TOPOLOGY_KEY}. */
export interface Topology {
  readonly version: number;
  readonly directors: TopologyDirector[];
  readonly realServers: TopologyRealServer[];
  /** Real servers leaving the cluster (RetiredRealServer). */
  readonly retired: { readonly path: string; readonly resource: string }[];
}

/** What one construct adds to its stack's topology. */
export type TopologyPart =
  | { readonly director: TopologyDirector }
  | { readonly realServer: TopologyRealServer }
  | { readonly retired: Topology['retired'][number] };

type Part = () => TopologyPart;

const registries = new WeakMap<TerraformStack, Part[]>();

/** Adds a construct's part of the topology, produced at synth time. */
export function addTopology(scope: IConstruct, part: Part): void {
  const { Lazy, TerraformStack } = frameworkOf(scope);
  const stack = TerraformStack.of(scope);
  let parts = registries.get(stack);
  if (!parts) {
    const created: Part[] = [];
    registries.set(stack, created);
    // Recorded as one JSON string: cdktf resolves an object node by node, and at
    // 1,000 real servers that took 0.7 s of a 2.3 s synth (docs/benchmarks.md).
    stack.addOverride(
      `//.${TOPOLOGY_KEY}`,
      Lazy.stringValue({
        produce: () => {
          const parts = created.map((p) => p());
          const topology: Topology = {
            version: TOPOLOGY_VERSION,
            directors: parts.flatMap((p) => ('director' in p ? [p.director] : [])),
            realServers: parts.flatMap((p) => ('realServer' in p ? [p.realServer] : [])),
            retired: parts.flatMap((p) => ('retired' in p ? [p.retired] : [])),
          };
          return JSON.stringify(topology);
        },
      }),
    );
    parts = created;
  }
  parts.push(part);
}

/**
 * The topology recorded in a synthesized cdk.tf.json, if any; `stack` names
 * it in errors. Synth output of commits before it was a string holds it as
 * an object; reviews against such a commit still read it. A newer version
 * than this code knows fails rather than being misread.
 */
export function topologyOf(synthesized: { '//'?: Record<string, unknown> }, stack: string): Topology | undefined {
  const recorded = synthesized['//']?.[TOPOLOGY_KEY];
  const topology = typeof recorded === 'string' ? (JSON.parse(recorded) as Topology) : (recorded as Topology | undefined);
  if (topology && topology.version > TOPOLOGY_VERSION) {
    throw new Error(`${stack}: cdk.tf.json records topology version ${topology.version}; this lvs-cdktf reads up to ${TOPOLOGY_VERSION}: upgrade`);
  }
  return topology;
}
