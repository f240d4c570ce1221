/**
 * Renderers for host settings. Each returns a Fragment: shell for the
 * bundle's `prepare`, `up` and `down` phases. `composeFragments` keeps
 * prepare/up in declaration order and runs `down` in reverse, so teardown
 * mirrors setup (a VIP goes before the ARP settings that protect it).
 */
import { createHash } from 'crypto';
import { IpvsTimeouts, timeoutsArgs } from '../ipvs';
import { sq, writeFile } from './shell';

export interface Fragment {
  readonly prepare?: string;
  readonly up?: string;
  readonly down?: string;
}

export function composeFragments(fragments: Fragment[]): Required<Fragment> {
  const join = (parts: (string | undefined)[]) => parts.filter((p): p is string => !!p).join('\n');
  return {
    prepare: join(fragments.map((f) => f.prepare)),
    up: join(fragments.map((f) => f.up)),
    down: join([...fragments].reverse().map((f) => f.down)),
  };
}

/** A sysctl key; interface names containing dots (VLANs) need the slash form. */
export function sysctlKey(...segments: string[]): string {
  return segments.some((s) => s.includes('.')) ? segments.join('/') : segments.join('.');
}

export type SysctlSetting = readonly [key: string, value: string | number];

/**
 * Sysctls through a drop-in in /etc/sysctl.d (never /etc/sysctl.conf).
 * Values seen before the first apply are recorded and restored by `down`;
 * so are those of `alsoRecord`, keys that a later `up` line sets itself.
 */
export function sysctlFragment(owner: string, settings: SysctlSetting[], alsoRecord: string[] = []): Fragment {
  if (settings.length === 0 && alsoRecord.length === 0) return {};
  const dropIn = `/etc/sysctl.d/90-lvs-cdktf-${owner}.conf`;
  const lines = settings.map(([k, v]) => `${k} = ${v}`);
  return {
    prepare: [
      `lvs_sysctl_record ${[...settings.map(([k]) => k), ...alsoRecord].map(sq).join(' ')}`,
      writeFile(dropIn, [`# Managed by lvs-cdktf (${owner}); removed on destroy.`, ...lines].join('\n')),
    ].join('\n'),
    up: `sysctl -q -p ${sq(dropIn)}`,
    down: `lvs_sysctl_restore ${sq(dropIn)}`,
  };
}

/** What a generation that also sets `settings` hands over: they stay through the teardown (lvs_sysctl_keep). */
export function sysctlHandover(settings: SysctlSetting[]): string {
  return `lvs_sysctl_keep ${settings.map(([k]) => sq(k)).join(' ')}`;
}

/**
 * Kernel modules: loaded now and at boot (modules-load.d). Which modules were
 * loaded before the first apply is recorded; the final destroy unloads those
 * the deploy loaded that nothing uses (lvs_modules_restore), so tunl0 and the
 * net.ipv4.vs tree go with them. Undoing one generation for the next leaves
 * them loaded: the next generation needs them.
 */
export function modulesFragment(owner: string, modules: string[]): Fragment {
  if (modules.length === 0) return {};
  const file = `/etc/modules-load.d/lvs-cdktf-${owner}.conf`;
  const list = modules.map(sq).join(' ');
  return {
    // Loaded in prepare too: later steps record sysctls (tunl0, net.ipv4.vs) that exist only once loaded.
    prepare: `lvs_modules_record ${list}\n${writeFile(file, modules.join('\n'))}\nmodprobe -a ${list}`,
    up: `modprobe -a ${list}`,
    down: `rm -f ${sq(file)}`,
  };
}

/** A kernel module parameter (`options MODULE NAME=VALUE`). */
export interface ModuleParam {
  readonly module: string;
  readonly name: string;
  readonly value: number;
}

/**
 * Module parameters through /etc/modprobe.d, written before the modules are
 * loaded; for a module loaded already with another value, the apply says
 * that the value applies from the next load (at boot).
 */
export function moduleParamsFragment(owner: string, params: ModuleParam[]): Fragment {
  if (params.length === 0) return {};
  const file = `/etc/modprobe.d/lvs-cdktf-${owner}.conf`;
  return {
    prepare: [
      writeFile(file, params.map((p) => `options ${p.module} ${p.name}=${p.value}`).join('\n')),
      ...params.map((p) => `lvs_module_param_check ${sq(p.module)} ${sq(p.name)} ${p.value}`),
    ].join('\n'),
    down: `rm -f ${sq(file)}`,
  };
}

/**
 * IPVS timeouts (`ipvsadm --set`, 0 keeps one as it is); the values before
 * the first apply are recorded and put back by `down`.
 */
export function ipvsTimeoutsFragment(t: IpvsTimeouts): Fragment {
  return {
    prepare: 'lvs_ipvs_timeouts_record',
    up: `ipvsadm --set ${timeoutsArgs(t)}`,
    down: 'lvs_ipvs_timeouts_restore',
  };
}

/** A fou port decapsulating GUE (IPIP in UDP); `down` removes it only if it was not there before. */
export function fouPortFragment(port: number): Fragment {
  return { prepare: `lvs_fou_record ${port}`, up: `lvs_fou_up ${port}`, down: `lvs_fou_restore ${port}` };
}

/** What a generation that also opens `port` hands over: it stays open through the teardown (lvs_fou_keep). */
export function fouPortHandover(port: number): string {
  return `lvs_fou_keep ${port}`;
}

/** Brings a link up; `down` returns it to down only if it was down before. */
export function linkUpFragment(dev: string): Fragment {
  return {
    prepare: `lvs_link_record ${sq(dev)}`,
    up: `ip link set dev ${sq(dev)} up`,
    down: `lvs_link_restore ${sq(dev)}`,
  };
}

/** What a generation that also brings `dev` up hands over: it stays up through the teardown (lvs_link_keep). */
export function linkUpHandover(dev: string): string {
  return `lvs_link_keep ${sq(dev)}`;
}

export interface AddressSpec {
  /** Address with prefix length, e.g. 192.168.115.110/32. */
  readonly cidr: string;
  readonly dev: string;
  /** Optional label, e.g. lo:0 (IPv4 only). */
  readonly label?: string;
  /**
   * The interface to announce the address on by gratuitous ARP once it is
   * up (a director's IPv4 VIP: its LAN, also for one held on tunl0).
   * @default - not announced (a real server's VIP must never be)
   */
  readonly announceOn?: string;
}

/** The `ip` family word of an address, as the library's address functions take it. */
export function addressFamily(cidr: string): 'inet' | 'inet6' {
  return cidr.includes(':') ? 'inet6' : 'inet';
}

/**
 * An address on an interface. An address that was already there before the
 * first apply is left in place by `down`.
 */
export function addressFragment(a: AddressSpec): Fragment {
  const args = `${sq(a.dev)} ${addressFamily(a.cidr)} ${sq(a.cidr)}`;
  return {
    prepare: `lvs_address_record ${args}`,
    up: `lvs_address_up ${args}${a.label ? ` ${sq(a.label)}` : ''}`,
    down: `lvs_address_restore ${args}`,
  };
}

/** What a generation that also holds the address hands over: it stays through the teardown (lvs_address_keep). */
export function addressHandover(a: AddressSpec): string {
  return `lvs_address_keep ${sq(a.dev)} ${sq(a.cidr)}`;
}

/**
 * Gratuitous ARP for the announced IPv4 addresses (lvs_announce), at each
 * apply and boot: a client or router still holding the MAC of the host that
 * had a VIP before (a replaced director, the other of a dissolved pair)
 * sends there until its entry expires, minutes or hours on routers.
 */
export function announceFragment(addresses: AddressSpec[]): Fragment {
  const byDev = new Map<string, string[]>();
  for (const a of addresses) {
    if (a.announceOn && !a.cidr.includes(':')) byDev.set(a.announceOn, [...(byDev.get(a.announceOn) ?? []), a.cidr.split('/')[0]]);
  }
  if (byDev.size === 0) return {};
  return {
    prepare: 'lvs_arping_install',
    up: [...byDev].map(([dev, ips]) => `lvs_announce ${sq(dev)} ${ips.map(sq).join(' ')}`).join('\n'),
  };
}

/** A route that `ip route replace` keeps idempotent; removed by `down`. */
export function routeFragment(destination: string, dev: string): Fragment {
  const fam = destination.includes(':') ? '-6 ' : '';
  return {
    up: `ip ${fam}route replace ${sq(destination)} dev ${sq(dev)}`,
    down: `ip ${fam}route del ${sq(destination)} dev ${sq(dev)} 2>/dev/null || true`,
  };
}

/**
 * The default route through a gateway (NAT real servers). The routes that
 * were default before the first apply are recorded and put back by `down`.
 */
export function defaultRouteFragment(gateway: string, dev: string): Fragment {
  const fam = routeFamily(gateway);
  return {
    prepare: `lvs_default_route_record ${fam}`,
    up: `ip ${fam} route replace default via ${sq(gateway)} dev ${sq(dev)}`,
    down: `lvs_default_route_restore ${fam} ${sq(gateway)} ${sq(dev)}`,
  };
}

/** What a generation that also routes by `gateway` hands over: the default route stays through the teardown (lvs_default_route_keep). */
export function defaultRouteHandover(gateway: string): string {
  return `lvs_default_route_keep ${routeFamily(gateway)}`;
}

/** `ip`'s family option for an address: `-4` or `-6`. */
function routeFamily(address: string): string {
  return address.includes(':') ? '-6' : '-4';
}

/** The name of an owner's chains in the mangle table: within iptables' 28 characters with its -a/-b suffix, whatever the owner. */
export function chainNameOf(owner: string): string {
  return `LVS-CDKTF-${createHash('sha256').update(owner).digest('hex').slice(0, 8)}`;
}

/** `iptables` or `ip6tables`. */
export type Iptables = 'iptables' | 'ip6tables';

/** An owner's chain in the mangle table (lvs_chain_* in lvs.sh), entered from a built-in chain. */
export interface ChainSpec {
  readonly cmd: Iptables;
  /** The built-in chain that jumps to it: PREROUTING, OUTPUT. */
  readonly hook: string;
  /** {@link chainNameOf}; the live chain is `NAME-a` or `NAME-b`, one generation at a time. */
  readonly name: string;
  /** iptables arguments, one rule each, as `iptables -S` prints them after `-A NAME-a`. */
  readonly rules: string[];
}

/**
 * The chain holding its rules (taken literally), or removed when there are
 * none: so a chain an earlier generation left goes, and a host without rules
 * need not have iptables.
 */
export function chainUp(c: ChainSpec): string {
  if (c.rules.length === 0) return chainDown(c);
  return `lvs_chain_up ${c.cmd} ${c.hook} ${sq(c.name)} "$(cat <<'LVS_RULES'\n${c.rules.join('\n')}\nLVS_RULES\n)"`;
}

export function chainDown(c: Pick<ChainSpec, 'cmd' | 'hook' | 'name'>): string {
  return `lvs_chain_down ${c.cmd} ${c.hook} ${sq(c.name)}`;
}

/** An address as a host prefix: `/32`, or `/128` for IPv6. */
export function hostPrefix(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** What a TUN server announces as its MSS: a number, or `auto` (the data interface's MTU less `overhead`). */
export interface MssClampSpec {
  readonly cmd: Iptables;
  readonly chain: string;
  /** VIPs whose SYN-ACKs are clamped (one family, as `cmd`). */
  readonly vips: string[];
  readonly mss: number | 'auto';
  readonly dev: string;
  /** IP and TCP headers plus the tunnel's encapsulation, for `auto`. */
  readonly overhead: number;
}

/** The shell word an `auto` clamp's rules carry for the MSS, set on the host from its MTU. */
export const MSS_WORD = '$mss';

/** The clamp's chain (OUTPUT), with `mss` in its rules: the number, or {@link MSS_WORD}. */
export function mssClampChain(c: MssClampSpec, mss: number | string): ChainSpec {
  return {
    cmd: c.cmd,
    hook: 'OUTPUT',
    name: c.chain,
    rules: c.vips.map((vip) => `-s ${hostPrefix(vip)} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss ${mss}`),
  };
}

/**
 * Clamps the MSS of the SYN and SYN-ACK segments the host sends from each
 * VIP (iptables TCPMSS in OUTPUT), so clients size their segments to fit the
 * director's encapsulation without relying on path MTU discovery. `auto`
 * reads the MTU on the host at each apply and boot.
 */
export function mssClampFragment(c: MssClampSpec): Fragment {
  const chain = mssClampChain(c, MSS_WORD);
  return {
    up: [`mss=${c.mss === 'auto' ? `$(lvs_mtu_less ${sq(c.dev)} ${c.overhead})` : c.mss}`, `lvs_chain_up ${c.cmd} ${chain.hook} ${sq(c.chain)} "${chain.rules.join('\n')}"`].join('\n'),
    down: chainDown(chain),
  };
}

/** Web server a real server can run: nginx, or Apache httpd (apache2 on Debian-family hosts). */
export type WebServerKind = 'nginx' | 'httpd';

/**
 * A web server serving a page that names the host, so a curl of the VIP shows
 * which real server answered. The page that was there before is restored and
 * the service is stopped/disabled again on `down` if it was not running before.
 * Packages that had to be installed stay installed.
 */
export function webServerFragment(kind: WebServerKind, page: string): Fragment {
  return { prepare: `lvs_web_server ${kind} ${sq(page)}`, down: 'lvs_web_server_restore' };
}

/** What a generation that also runs `kind` hands over: the web server keeps serving through the teardown (lvs_web_server_keep). */
export function webServerHandover(kind: WebServerKind): string {
  return `lvs_web_server_keep ${kind}`;
}
