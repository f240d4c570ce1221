/**
 * What a deployed stack must look like on each host, from the topology
 * recorded in the synthesized cdk.tf.json (lib/topology.ts), whose settings
 * are the same data the host scripts are rendered from. Pure.
 */
import { IpvsThresholds, IpvsTimeouts, realServerRule, serviceSelector, thresholdsOf } from '../lib/ipvs';
import { ChainSpec, MSS_WORD, ModuleParam, mssClampChain } from '../lib/scripts/host';
import { marksChain } from '../lib/scripts/table';
import { Topology, TopologyDirector, TopologyRealServer, TopologySettings } from '../lib/topology';

export type Role = 'director' | 'real-server';

/** An address that must be on exactly one interface (VIPs), or at least on it (DIPs, RIPs). */
export interface ExpectedAddress {
  readonly dev: string;
  /** `address/prefix`. */
  readonly cidr: string;
  /** A VIP: the address must be on `dev` with this prefix and on no other interface. */
  readonly exclusive: boolean;
  /** Why it is expected, shown in reports ("VIP", "DIP", "RIP"). */
  readonly role: string;
}

/** A route in the main table. `default` routes are matched with their gateway. */
export interface ExpectedRoute {
  /** `default` or `address/prefix`. */
  readonly destination: string;
  readonly dev: string;
  readonly via?: string;
}

/** An owner's iptables chain: one generation entered from its hook, holding exactly its rules. */
export interface ExpectedChain extends ChainSpec {
  /** Why it is expected, shown in reports ("marking", "MSS clamp"). */
  readonly role: string;
  /** `auto` MSS clamps: {@link MSS_WORD} in the rules is the MTU of `dev`, read on the host, less `overhead`. */
  readonly mss?: { readonly dev: string; readonly overhead: number };
}

export interface HostExpectation {
  /** Construct path of the director or real server, e.g. `dr-stack/web1`. */
  readonly name: string;
  readonly role: Role;
  /** Forwarding methods involved (director: of its services; real server: its own). */
  readonly forwarding: string[];
  /** Kernel modules that must be loaded. */
  readonly modules: string[];
  /** Module parameters the loaded modules must run with. */
  readonly moduleParams: ModuleParam[];
  /** Links that must be up. */
  readonly linksUp: string[];
  /** Sysctl keys (dotted, or slash form for names with dots) and their values. */
  readonly sysctls: { readonly key: string; readonly value: string }[];
  readonly addresses: ExpectedAddress[];
  readonly routes: ExpectedRoute[];
  /**
   * The director's IPVS table as `ipvsadm -Sn` prints it, and whether it owns
   * the whole table; where any real server has a threshold, every real
   * server's thresholds (`ipvsadm -Ln --thresholds`).
   */
  readonly ipvs?: {
    readonly rules: string[];
    readonly ownsWholeTable: boolean;
    /** Selectors of the health-checked services (keepalived's): a real server missing from one is down, not drift. */
    readonly checked: string[];
    /** The sorry servers' rules among `rules` (weight 0): keepalived gives one weight 1 while it serves from it. */
    readonly sorry: string[];
    readonly thresholds?: IpvsThresholds;
  };
  /** A director of a pair: the VIPs VRRP holds on it or on `peer`, never on both. */
  readonly vrrp?: { readonly peer: string; readonly addresses: { readonly cidr: string; readonly dev: string }[] };
  /** The IPVS timeouts the director sets (`ipvsadm -L --timeout`); only those given are checked. */
  readonly timeouts?: IpvsTimeouts;
  /** The host's own iptables chains (mangle table). */
  readonly chains: ExpectedChain[];
  /** UDP ports fou must decapsulate GUE on. */
  readonly fouPorts: number[];
}

/** The settings recorded by the constructs, with the data-plane addresses they rely on. */
function expectation(
  name: string,
  role: Role,
  forwarding: string[],
  settings: TopologySettings,
  assigned: { dev: string; cidr: string; role: string }[],
): HostExpectation {
  return {
    name,
    role,
    forwarding,
    modules: settings.modules,
    moduleParams: settings.moduleParams ?? [],
    linksUp: settings.linksUp,
    sysctls: settings.sysctls,
    addresses: [
      ...assigned.map((a) => ({ ...a, exclusive: false })),
      ...settings.addresses.map((a) => ({ ...a, exclusive: true, role: 'VIP' })),
    ],
    routes: [
      ...settings.routes,
      ...settings.defaultRoutes.map((r) => ({ destination: 'default', via: r.via, dev: r.dev })),
    ],
    chains: (settings.mssClamps ?? []).map((c) => ({
      ...mssClampChain(c, c.mss === 'auto' ? MSS_WORD : c.mss),
      role: 'MSS clamp',
      ...(c.mss === 'auto' ? { mss: { dev: c.dev, overhead: c.overhead } } : {}),
    })),
    fouPorts: settings.fouPorts ?? [],
  };
}

export function directorExpectation(d: TopologyDirector): HostExpectation {
  const forwarding = [...new Set(d.services.flatMap((s) => s.realServers.map((r) => r.forwarding)))];
  const dips = d.interfaces.map((i) => ({ dev: i.name, cidr: i.address, role: 'DIP' }));
  const host = expectation(d.path, 'director', forwarding, d.settings, dips);
  return {
    ...host,
    chains: [...host.chains, ...(d.marksChain ? [{ ...marksChain(d.services, d.marksChain), role: 'marking' }] : [])],
    ipvs: {
      rules: d.rules,
      ownsWholeTable: d.ownsWholeTable,
      checked: d.services.filter((s) => s.healthCheck).map(serviceSelector),
      sorry: d.services.flatMap((s) => (s.sorry ? [realServerRule(s, s.sorry.realServer, true)] : [])),
      ...(d.services.some((s) => s.realServers.some((r) => r.upperThreshold || r.lowerThreshold)) ? { thresholds: thresholdsOf(d.services) } : {}),
    },
    ...(d.timeouts ? { timeouts: d.timeouts } : {}),
    ...(d.pair ? { vrrp: { peer: d.pair.peer, addresses: d.pair.vrrp.addresses } } : {}),
  };
}

export function realServerExpectation(r: TopologyRealServer): HostExpectation {
  const rips = [r.interface.address, r.interface.ipv6Address].filter((a) => a !== undefined);
  return expectation(r.path, 'real-server', [r.forwarding], r.settings, rips.map((cidr) => ({ dev: r.interface.name, cidr, role: 'RIP' })));
}

/** Every host of a stack that verification checks (retired servers are leaving: not checked). */
export function expectationsOf(topology: Topology): HostExpectation[] {
  return [...topology.directors.map(directorExpectation), ...topology.realServers.map(realServerExpectation)];
}
