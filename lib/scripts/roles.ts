/**
 * What each role does to its host, as the tutorial does it by hand, composed
 * from the host fragments. Pure: the constructs decide *what*, these decide
 * *how* in shell.
 */
import {
  AddressSpec,
  Fragment,
  SysctlSetting,
  WebServerKind,
  addressFragment,
  composeFragments,
  defaultRouteFragment,
  linkUpFragment,
  modulesFragment,
  routeFragment,
  sysctlFragment,
  sysctlKey,
  webServerFragment,
} from './host';
import { Forwarding } from './ipvs';
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
  /** Whether any service uses persistence (expire templates of drained servers). */
  readonly persistence: boolean;
  /** Whether any service or VIP is IPv6. */
  readonly ipv6: boolean;
}

/** Fails the apply, before any change, when a declared address is missing. */
function expectAddresses(interfaces: InterfaceAddress[]): Fragment {
  return {
    prepare: interfaces
      .map(({ dev, cidr }) => {
        const fam = cidr.includes(':') ? 'inet6' : 'inet';
        return `ip -o addr show dev ${sq(dev)} 2>/dev/null | grep -qF ${sq(` ${fam} ${cidr} `)} || { echo ${sq(`lvs-cdktf: expected ${cidr} on ${dev}; configure the interface first`)} >&2; exit 1; }`;
      })
      .join('\n'),
  };
}

export function directorBase(spec: DirectorBaseSpec): Required<Fragment> {
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
  // A drained (weight 0) server would keep persistent clients until their templates expire.
  if (spec.persistence) sysctls.push(['net.ipv4.vs.expire_quiescent_template', 1]);

  return composeFragments([
    expectAddresses(spec.interfaces),
    { prepare: 'command -v ipvsadm >/dev/null 2>&1 || lvs_install ipvsadm' },
    modulesFragment(spec.owner, modes.has('tun') ? ['ip_vs', 'ipip'] : ['ip_vs']),
    modes.has('tun') ? linkUpFragment('tunl0') : {},
    sysctlFragment(spec.owner, sysctls),
    ...spec.vips.map(addressFragment),
  ]);
}

export interface RealServerSpec {
  readonly owner: string;
  /** The data-plane interface and the real server's address on it (RIP). */
  readonly dataInterface: InterfaceAddress;
  /** VIPs this real server accepts traffic for (DR and TUN). */
  readonly vips: string[];
  readonly webServer?: { readonly kind: WebServerKind; readonly page: string };
}

function webFragment(spec: RealServerSpec): Fragment {
  return spec.webServer ? webServerFragment(spec.webServer.kind, spec.webServer.page) : {};
}

function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** The ARP settings that keep a real server from answering for the VIP. */
function arpSysctls(devs: string[]): SysctlSetting[] {
  return devs.flatMap((dev): SysctlSetting[] => [
    [sysctlKey('net', 'ipv4', 'conf', dev, 'arp_ignore'), 1],
    [sysctlKey('net', 'ipv4', 'conf', dev, 'arp_announce'), 2],
  ]);
}

/** NAT: replies must go back through the director, so it becomes the default gateway. */
export function natRealServer(spec: RealServerSpec & { readonly gateway: string }): Required<Fragment> {
  return composeFragments([defaultRouteFragment(spec.gateway, spec.dataInterface.dev), webFragment(spec)]);
}

/** DR: ARP settings first, then each VIP as a /32 on lo with its host route. */
export function drRealServer(spec: RealServerSpec): Required<Fragment> {
  const dev = spec.dataInterface.dev;
  return composeFragments([
    sysctlFragment(spec.owner, arpSysctls(['all', 'default', 'lo', dev])),
    ...spec.vips.map((vip, i) =>
      addressFragment({ cidr: hostPrefix(vip), dev: 'lo', label: vip.includes(':') ? undefined : `lo:${i}` }),
    ),
    ...spec.vips.map((vip) => routeFragment(hostPrefix(vip), 'lo')),
    webFragment(spec),
  ]);
}

/**
 * TUN: ipip loaded, ARP settings, reverse-path filtering off (requests arrive
 * on tunl0, replies leave by the data interface), then each VIP on tunl0.
 * The tutorial adds the VIP as /24 and deletes the subnet route it creates;
 * a /32 gives the same result in one step.
 */
export function tunRealServer(spec: RealServerSpec): Required<Fragment> {
  const dev = spec.dataInterface.dev;
  const rpFilter: SysctlSetting[] = ['all', 'default', 'tunl0', dev].map((d) => [
    sysctlKey('net', 'ipv4', 'conf', d, 'rp_filter'),
    0,
  ]);
  return composeFragments([
    modulesFragment(spec.owner, ['ipip']),
    // tunl0 is listed too: created at boot after `default` is set, it would inherit values destroy cannot restore.
    sysctlFragment(spec.owner, [...arpSysctls(['all', 'default', 'lo', 'tunl0', dev]), ...rpFilter]),
    linkUpFragment('tunl0'),
    ...spec.vips.map((vip) => addressFragment({ cidr: hostPrefix(vip), dev: 'tunl0' })),
    webFragment(spec),
  ]);
}
