/**
 * What a deployed stack must look like on each host, derived from the
 * topology recorded in the synthesized cdk.tf.json (lib/topology.ts) and
 * mirroring what the host scripts set (lib/scripts/roles.ts). Pure.
 */
import { Topology, TopologyDirector, TopologyRealServer } from '../lib/topology';
import { inSubnet } from '../lib/validation';

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

export interface HostExpectation {
  /** Construct path of the director or real server, e.g. `dr-stack/web1`. */
  readonly name: string;
  readonly role: Role;
  /** Forwarding methods involved (director: of its services; real server: its own). */
  readonly forwarding: string[];
  /** Kernel modules that must be loaded. */
  readonly modules: string[];
  /** Links that must be up. */
  readonly linksUp: string[];
  /** Sysctl keys (dotted, or slash form for names with dots) and their values. */
  readonly sysctls: { readonly key: string; readonly value: string }[];
  readonly addresses: ExpectedAddress[];
  readonly routes: ExpectedRoute[];
  /** The director's IPVS table as `ipvsadm -Sn` prints it, and whether it owns the whole table. */
  readonly ipvs?: { readonly rules: string[]; readonly ownsWholeTable: boolean };
}

function hostCidr(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

function cidrOf(s: string): { address: string; prefix: number; cidr: string } {
  const [address, prefix] = s.split('/');
  return { address, prefix: Number(prefix), cidr: s };
}

/** `net.ipv4.conf.<dev>.<name>`, in slash form when the device name has a dot (VLANs), as lib/scripts/host.ts writes it. */
function confKey(dev: string, name: string, family = 'ipv4'): string {
  const parts = ['net', family, 'conf', dev, name];
  return parts.some((p) => p.includes('.')) ? parts.join('/') : parts.join('.');
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

export function directorExpectation(d: TopologyDirector): HostExpectation {
  const forwarding = uniq(d.services.flatMap((s) => s.realServers.map((r) => r.forwarding)));
  const modes = new Set(forwarding);
  const ipv6 = d.services.some((s) => (s.vip ?? '').includes(':'));
  const sysctls: { key: string; value: string }[] = [];
  if (modes.has('nat') || modes.has('tun')) {
    sysctls.push({ key: 'net.ipv4.ip_forward', value: '1' });
    if (ipv6) sysctls.push({ key: 'net.ipv6.conf.all.forwarding', value: '1' });
  }
  if (modes.has('dr')) {
    for (const dev of uniq(['all', 'default', ...d.interfaces.map((i) => i.name)])) {
      sysctls.push({ key: confKey(dev, 'send_redirects'), value: '0' });
    }
  }
  if (d.services.some((s) => s.persistence !== undefined)) {
    sysctls.push({ key: 'net.ipv4.vs.expire_quiescent_template', value: '1' });
  }

  const addresses: ExpectedAddress[] = d.interfaces.map((i) => ({ dev: i.name, cidr: i.address, exclusive: false, role: 'DIP' }));
  // The VIPs the director brings up itself (LvsDirector.vipAddresses).
  const seen = new Set<string>();
  for (const s of d.services) {
    const vip = s.vip;
    if (vip === undefined || seen.has(vip) || d.interfaces.some((i) => cidrOf(i.address).address === vip)) continue;
    seen.add(vip);
    const dev =
      s.realServers[0]?.forwarding === 'tun'
        ? 'tunl0'
        : (d.interfaces.find((i) => inSubnet(vip, cidrOf(i.address))) ?? d.interfaces[0]).name;
    addresses.push({ dev, cidr: hostCidr(vip), exclusive: true, role: 'VIP' });
  }

  return {
    name: d.path,
    role: 'director',
    forwarding,
    modules: modes.has('tun') ? ['ip_vs', 'ipip'] : ['ip_vs'],
    linksUp: modes.has('tun') ? ['tunl0'] : [],
    sysctls,
    addresses,
    routes: [],
    ipvs: { rules: d.rules, ownsWholeTable: d.ownsWholeTable },
  };
}

export function realServerExpectation(r: TopologyRealServer): HostExpectation {
  const dev = r.interface.name;
  const addresses: ExpectedAddress[] = [{ dev, cidr: r.interface.address, exclusive: false, role: 'RIP' }];
  const sysctls: { key: string; value: string }[] = [];
  const routes: ExpectedRoute[] = [];
  const modules: string[] = [];
  const linksUp: string[] = [];
  const arp = () => {
    for (const d of ['all', 'default', 'lo', dev]) {
      sysctls.push({ key: confKey(d, 'arp_ignore'), value: '1' }, { key: confKey(d, 'arp_announce'), value: '2' });
    }
  };
  if (r.forwarding === 'nat') {
    if (r.gateway !== undefined) routes.push({ destination: 'default', via: r.gateway, dev });
  } else if (r.forwarding === 'dr') {
    arp();
    for (const vip of r.vips) {
      addresses.push({ dev: 'lo', cidr: hostCidr(vip), exclusive: true, role: 'VIP' });
      routes.push({ destination: hostCidr(vip), dev: 'lo' });
    }
  } else if (r.forwarding === 'tun') {
    modules.push('ipip');
    linksUp.push('tunl0');
    arp();
    for (const d of ['all', 'default', 'tunl0', dev]) sysctls.push({ key: confKey(d, 'rp_filter'), value: '0' });
    for (const vip of r.vips) addresses.push({ dev: 'tunl0', cidr: hostCidr(vip), exclusive: true, role: 'VIP' });
  }
  return { name: r.path, role: 'real-server', forwarding: [r.forwarding], modules, linksUp, sysctls, addresses, routes };
}

/** Every host of a stack that verification checks (retired servers are leaving: not checked). */
export function expectationsOf(topology: Topology): HostExpectation[] {
  return [...topology.directors.map(directorExpectation), ...topology.realServers.map(realServerExpectation)];
}
