/**
 * What each role does to its host, as the tutorial does it by hand, composed
 * from the host fragments. Pure: the constructs decide *what*, these decide
 * *how* in shell.
 */
import {
  AddressSpec,
  Fragment,
  MssClampSpec,
  SysctlSetting,
  WebServerKind,
  addressFamily,
  addressFragment,
  announceFragment,
  composeFragments,
  defaultRouteFragment,
  addressHandover,
  defaultRouteHandover,
  fouPortHandover,
  linkUpHandover,
  sysctlHandover,
  fouPortFragment,
  ipvsTimeoutsFragment,
  linkUpFragment,
  ModuleParam,
  moduleParamsFragment,
  modulesFragment,
  mssClampFragment,
  routeFragment,
  sysctlFragment,
  sysctlKey,
  chainNameOf,
  hostPrefix,
  webServerFragment,
  webServerHandover,
} from './host';
import { Forwarding, IpvsTimeouts, Protocol, Tunnel } from '../ipvs';
import { sq } from './shell';

export interface InterfaceAddress {
  readonly dev: string;
  /** Address with prefix length, e.g. 192.168.116.111/24. */
  readonly cidr: string;
}

export interface DirectorBaseSpec {
  readonly owner: string;
  /** Forwarding methods used by the director's services. */
  readonly forwarding: Forwarding[];
  /** Addresses the director must already carry (checked, never changed). */
  readonly interfaces: InterfaceAddress[];
  /** VIPs the director brings up itself. */
  readonly vips: AddressSpec[];
  /**
   * VIPs keepalived takes over (the director joined a pair): where the
   * director held them until now, kept local while keepalived starts (lvs_handover).
   */
  readonly handover: AddressSpec[];
  /**
   * A NAT pair's floating gateway (an address): a director that handed
   * over a VIP (it was serving) also answers for it while keepalived starts,
   * as its real servers move their default route to it (lvs_handover_gateway).
   */
  readonly gatewayHandover?: string;
  /** IPVS kernel settings. */
  readonly kernel: IpvsKernelSpec;
  /** Protocols of the traffic the director marks for firewall-mark services (their iptables modules). */
  readonly markProtocols: Protocol[];
  /** Whether any service or VIP is IPv6. */
  readonly ipv6: boolean;
}

/** A director's IPVS kernel settings, checked (LvsDirector's `tunables`). */
export interface IpvsKernelSpec {
  /** net.ipv4.vs.* settings with fixed values. */
  readonly sysctls: SysctlSetting[];
  /**
   * conn_reuse_mode decided on the host (`'auto'`): 0 on kernels before 5.9;
   * from 5.9 `later`, or the kernel's own value without it.
   */
  readonly connReuseAuto?: { readonly later?: 2 };
  /** `ipvsadm --set` in seconds; undefined keeps the kernel's value. */
  readonly timeouts?: IpvsTimeouts;
  /** The ip_vs module parameter conn_tab_bits. */
  readonly connTableBits?: number;
}

/** Fails the apply, before any change, when a declared address is missing. */
function expectAddresses(interfaces: InterfaceAddress[]): Fragment {
  return {
    prepare: interfaces.map(({ dev, cidr }) => `lvs_expect_address ${sq(dev)} ${addressFamily(cidr)} ${sq(cidr)}`).join('\n'),
  };
}

/**
 * The declarative part of a host's setup: what the scripts bring about and
 * what verification checks. `hostFragments` turns it into shell.
 */
export interface HostSettings {
  /** Parameters of the modules, set before they load. */
  readonly moduleParams?: ModuleParam[];
  readonly modules: string[];
  readonly sysctls: SysctlSetting[];
  readonly linksUp: string[];
  /** Addresses the host brings up itself (VIPs). */
  readonly addresses: AddressSpec[];
  /** Host routes (DR: each VIP/32 on lo). */
  readonly routes: { readonly destination: string; readonly dev: string }[];
  /** NAT real servers: the default route through the director, one per address family. */
  readonly defaultRoutes: { readonly via: string; readonly dev: string }[];
  /** GUE: the UDP ports fou decapsulates on. */
  readonly fouPorts?: number[];
  /** TUN: MSS clamps on SYN-ACKs from the VIPs, one per address family. */
  readonly mssClamps?: MssClampSpec[];
  /** Sysctls whose value `up` decides on the host (not checked by verify); recorded and restored with the others. */
  readonly hostDecidedSysctls?: { readonly keys: string[]; readonly up: string };
}

/**
 * What a host step's new generation hands over before the teardown of the
 * old one: the sysctls, links, GUE ports, addresses and default routes it
 * sets again stay as they are (it sets them itself right after), so no
 * packet meets them put back.
 */
function hostHandover(s: HostSettings): string[] {
  return [
    ...(s.sysctls.length > 0 ? [sysctlHandover(s.sysctls)] : []),
    ...s.linksUp.map(linkUpHandover),
    ...(s.fouPorts ?? []).map(fouPortHandover),
    ...s.addresses.map(addressHandover),
    ...s.defaultRoutes.map((r) => defaultRouteHandover(r.via)),
  ];
}

/** Modules first, with their parameters (they create tunl0 and net.ipv4.vs.*), then sysctls (ARP before any VIP), links, addresses, routes. */
function hostFragments(owner: string, s: HostSettings): Fragment[] {
  return [
    moduleParamsFragment(owner, s.moduleParams ?? []),
    modulesFragment(owner, s.modules),
    sysctlFragment(owner, s.sysctls, s.hostDecidedSysctls?.keys),
    { up: s.hostDecidedSysctls?.up },
    ...(s.fouPorts ?? []).map(fouPortFragment),
    ...s.linksUp.map(linkUpFragment),
    ...s.addresses.map(addressFragment),
    announceFragment(s.addresses),
    ...s.routes.map((r) => routeFragment(r.destination, r.dev)),
    ...s.defaultRoutes.map((r) => defaultRouteFragment(r.via, r.dev)),
    ...(s.mssClamps ?? []).map(mssClampFragment),
  ];
}

export function directorSettings(spec: DirectorBaseSpec): HostSettings {
  const modes = new Set(spec.forwarding);
  const sysctls: SysctlSetting[] = [];
  if (modes.has('nat') || modes.has('tun')) {
    sysctls.push(['net.ipv4.ip_forward', 1]);
    if (spec.ipv6) sysctls.push(['net.ipv6.conf.all.forwarding', 1]);
  }
  if (modes.has('dr')) {
    // The director must not tell clients to bypass it for on-link real servers.
    for (const dev of ['all', 'default', ...new Set(spec.interfaces.map((i) => i.dev))]) {
      sysctls.push([sysctlKey('net', 'ipv4', 'conf', dev, 'send_redirects'), 0]);
    }
  }
  sysctls.push(...spec.kernel.sysctls);
  return {
    ...(spec.kernel.connTableBits === undefined ? {} : { moduleParams: [{ module: 'ip_vs', name: 'conn_tab_bits', value: spec.kernel.connTableBits }] }),
    modules: [
      'ip_vs',
      ...(modes.has('tun') ? ['ipip'] : []),
      // What iptables loads for the marking rules, loaded here so that destroy unloads it with the rest.
      ...(spec.markProtocols.length > 0 ? ['iptable_mangle', 'xt_mark'] : []),
      ...new Set(spec.markProtocols.map((p) => (p === 'sctp' ? 'xt_sctp' : 'xt_tcpudp'))),
    ],
    sysctls,
    linksUp: modes.has('tun') ? ['tunl0'] : [],
    addresses: spec.vips,
    routes: [],
    defaultRoutes: [],
    hostDecidedSysctls: spec.kernel.connReuseAuto
      ? { keys: ['net.ipv4.vs.conn_reuse_mode'], up: `lvs_conn_reuse_auto${spec.kernel.connReuseAuto.later === undefined ? '' : ` ${spec.kernel.connReuseAuto.later}`}` }
      : undefined,
  };
}

/** The director's Host step: its shell, and what it hands over before its previous generation is undone (the VIPs on their way to keepalived, see hostHandover). */
export function directorBase(spec: DirectorBaseSpec): Required<Fragment> & { readonly handover?: string } {
  const settings = directorSettings(spec);
  const handover = [
    ...spec.handover.map((a) => `lvs_handover ${addressFamily(a.cidr)} ${sq(a.cidr)} ${sq(a.dev)}`),
    ...(spec.gatewayHandover ? [`lvs_handover_gateway ${sq(`${spec.gatewayHandover}/32`)}`] : []),
    ...hostHandover(settings),
  ].join('\n');
  const fragment = composeFragments([
    expectAddresses(spec.interfaces),
    { prepare: 'command -v ipvsadm >/dev/null 2>&1 || lvs_install ipvsadm' },
    ...hostFragments(spec.owner, settings),
    spec.kernel.timeouts ? ipvsTimeoutsFragment(spec.kernel.timeouts) : {},
  ]);
  return handover ? { ...fragment, handover } : fragment;
}

export interface RealServerSpec {
  readonly owner: string;
  /** The data-plane interface and the real server's address on it (RIP). */
  readonly dataInterface: InterfaceAddress;
  /** VIPs this real server accepts traffic for (DR and TUN). */
  readonly vips: string[];
  readonly webServer?: { readonly kind: WebServerKind; readonly page: string };
}

/** The ARP settings that keep a real server from answering for the VIP. */
function arpSysctls(devs: string[]): SysctlSetting[] {
  return devs.flatMap((dev): SysctlSetting[] => [
    [sysctlKey('net', 'ipv4', 'conf', dev, 'arp_ignore'), 1],
    [sysctlKey('net', 'ipv4', 'conf', dev, 'arp_announce'), 2],
  ]);
}

const NONE: HostSettings = { modules: [], sysctls: [], linksUp: [], addresses: [], routes: [], defaultRoutes: [] };

/** NAT: replies must go back through the director, so it becomes the default gateway (of each address family served). */
export function natRealServerSettings(spec: RealServerSpec & { readonly gateways: string[] }): HostSettings {
  return { ...NONE, defaultRoutes: spec.gateways.map((via) => ({ via, dev: spec.dataInterface.dev })) };
}

/** DR: ARP settings, then each VIP as a /32 on lo with its host route. */
export function drRealServerSettings(spec: RealServerSpec): HostSettings {
  return {
    ...NONE,
    sysctls: arpSysctls(['all', 'default', 'lo', spec.dataInterface.dev]),
    addresses: spec.vips.map((vip, i) => ({ cidr: hostPrefix(vip), dev: 'lo', label: vip.includes(':') ? undefined : `lo:${i}` })),
    routes: spec.vips.map((vip) => ({ destination: hostPrefix(vip), dev: 'lo' })),
  };
}

/**
 * TUN: the tunnel's modules loaded, ARP settings, reverse-path filtering off
 * (requests arrive on the tunnel device, replies leave by the data
 * interface), then each VIP on the tunnel device: tunl0 for IPIP and for GUE
 * (fou hands the inner IPIP packet to it), gre0 for GRE. The tutorial adds
 * the VIP as /24 and deletes the subnet route it creates; a /32 gives the
 * same result in one step. IPv6 VIPs arrive IPv6-in-IPv6 and go on ip6tnl0
 * (ip6_tunnel), which has no ARP or rp_filter to set.
 */
export function tunRealServerSettings(spec: RealServerSpec, tunnel: Tunnel = { type: 'ipip' }, mss?: number | 'auto'): HostSettings {
  const dev = spec.dataInterface.dev;
  const tunDev = tunnel.type === 'gre' ? 'gre0' : 'tunl0';
  const rpFilter = ['all', 'default', tunDev, dev].map((d): SysctlSetting => [sysctlKey('net', 'ipv4', 'conf', d, 'rp_filter'), 0]);
  const vips6 = spec.vips.filter((vip) => vip.includes(':'));
  const vips4 = spec.vips.filter((vip) => !vip.includes(':'));
  const chain = chainNameOf(spec.owner);
  // IP and TCP headers, then what the director's encapsulation adds (IPv6 services are IPv6-in-IPv6).
  const clamps: MssClampSpec[] =
    mss === undefined
      ? []
      : [
          { cmd: 'iptables' as const, vips: vips4, overhead: 40 + ENCAPSULATION[tunnel.type] },
          { cmd: 'ip6tables' as const, vips: vips6, overhead: 60 + 40 },
        ]
          .filter((c) => c.vips.length > 0)
          .map((c) => ({ ...c, chain, mss, dev }));
  return {
    ...NONE,
    modules: [
      ...{ ipip: ['ipip'], gue: ['ipip', 'fou'], gre: ['ip_gre'] }[tunnel.type],
      ...(vips6.length > 0 ? ['ip6_tunnel'] : []),
      // What iptables loads for the clamps, loaded here so that destroy unloads it with the rest.
      ...clamps.map((c) => (c.cmd === 'iptables' ? 'iptable_mangle' : 'ip6table_mangle')),
      ...(clamps.length > 0 ? ['xt_TCPMSS', 'xt_tcpudp'] : []),
    ],
    // The tunnel device is listed too: created at boot after `default` is set, it would inherit values destroy cannot restore.
    sysctls: [...arpSysctls(['all', 'default', 'lo', tunDev, dev]), ...rpFilter],
    linksUp: [tunDev, ...(vips6.length > 0 ? ['ip6tnl0'] : [])],
    addresses: spec.vips.map((vip) => ({ cidr: hostPrefix(vip), dev: vip.includes(':') ? 'ip6tnl0' : tunDev })),
    fouPorts: tunnel.type === 'gue' ? [tunnel.port] : undefined,
    mssClamps: clamps.length > 0 ? clamps : undefined,
  };
}

/** Bytes each IPv4 tunnel type adds to a packet: outer IPv4 header, and UDP + GUE header or GRE header. */
const ENCAPSULATION: Record<Tunnel['type'], number> = { ipip: 20, gue: 20 + 8 + 4, gre: 20 + 4 };

/**
 * A real server's scripts: its settings, then the optional web server. Its
 * sysctls, default routes and web server stay through the teardown of a
 * generation that had them too (see hostHandover).
 */
export function realServerRole(spec: RealServerSpec, settings: HostSettings): Required<Fragment> & { readonly handover?: string } {
  const fragment = composeFragments([
    ...hostFragments(spec.owner, settings),
    spec.webServer ? webServerFragment(spec.webServer.kind, spec.webServer.page) : {},
  ]);
  const handover = [...hostHandover(settings), ...(spec.webServer ? [webServerHandover(spec.webServer.kind)] : [])].join('\n');
  return handover ? { ...fragment, handover } : fragment;
}
