/** How the report names things, shared by the topology, diff and diagram. */
import { FORWARDING, Forwarding, IpvsRealServer, IpvsService } from '../lib/ipvs';
import type { TopologyDirector, TopologyRealServer } from '../lib/topology';
import { hostPort } from '../lib/validation';

export { serviceLabel } from '../lib/ipvs';

/** `DR` for dr; unknown methods (a newer synth) are shown as recorded. */
export function forwardingName(method: string): string {
  return FORWARDING[method as Forwarding]?.name ?? method;
}

/** `DR (-g)`: the method with its ipvsadm flag. */
export function forwardingLabel(method: string): string {
  const f = FORWARDING[method as Forwarding];
  return f ? `${f.name} (${f.flag})` : method;
}

/** ` over GUE port 6080`, ` over GRE`: a TUN entry's encapsulation other than IPIP (the default); empty otherwise. */
function tunnelText(r: IpvsRealServer): string {
  if (!r.tunnel) return '';
  return r.tunnel.type === 'gue' ? ` over GUE port ${r.tunnel.port}` : ` over ${r.tunnel.type.toUpperCase()}`;
}

/** `TUN over GUE port 6080`: an entry's forwarding method with its tunnel. */
export function entryForwardingName(r: IpvsRealServer): string {
  return forwardingName(r.forwarding) + tunnelText(r);
}

/** `TUN (-i) over GRE`: an entry's forwarding method, its ipvsadm flag and its tunnel. */
export function entryForwardingLabel(r: IpvsRealServer): string {
  return forwardingLabel(r.forwarding) + tunnelText(r);
}

/** `host:port` as the reviewer knows the machine (a host step's or a topology connection's). */
export function hostLabel(at: { host: string; port: number | string }): string {
  return hostPort(at.host, at.port);
}

/** `192.168.115.112:80`: where the director sends a real server's traffic (no port for a firewall-mark service). */
export function realServerTarget(r: IpvsRealServer): string {
  return hostPort(r.address, r.port);
}
/** `ens33 192.168.115.112/24 fd00:115::112/64`: a real server's data interface and its addresses. */
export function interfaceLabel(r: TopologyRealServer): string {
  return [r.interface.name, r.interface.address, r.interface.ipv6Address].filter((a) => a !== undefined).join(' ');
}

/** A NAT server's gateways (one per family), `-` for none. */
export function gatewayLabel(r: TopologyRealServer): string {
  return [r.gateway, r.ipv6Gateway].filter((g) => g !== undefined).join(', ') || '-';
}

/** `web1` for `dr-stack/web1`: paths are unique within a stack, names read better. */
export function shortName(path: string): string {
  return path.split('/').slice(1).join('/') || path;
}

/** `tcp`, `udp, one-packet` or `fwmark`. */
export function protocolLabel(s: IpvsService): string {
  return `${s.protocol ?? 'fwmark'}${s.onePacket ? ', one-packet' : ''}`;
}

export function persistenceLabel(s: IpvsService): string {
  const p = s.persistence;
  if (!p) return 'none';
  return `${p.timeout} s${p.netmask ? ` (netmask ${p.netmask})` : ''}`;
}

/**
 * Who owns the service's entries and how keepalived checks its servers:
 * `keepalived: HTTP GET /health (200, 301-302) every 5 s, timeout 3 s, 1 retry after 1 s`, or `table step`.
 */
export function healthCheckLabel(s: IpvsService): string {
  const c = s.healthCheck;
  if (!c) return 'table step';
  const what =
    c.type === 'http'
      ? `HTTP GET ${c.path} (${c.statusCodes!.join(', ')})`
      : c.type === 'tcp'
        ? 'TCP connect'
        : c.type === 'udp'
          ? `UDP datagram${udpDetails(c)}`
          : `command ${c.command}`;
  const port = c.port !== undefined ? ` port ${c.port}` : '';
  const retry = `${c.retries} ${c.retries === 1 ? 'retry' : 'retries'} after ${c.retryDelaySeconds} s`;
  return `keepalived: ${what}${port} every ${c.intervalSeconds} s, timeout ${c.timeoutSeconds} s, ${retry}${c.inhibitOnFailure ? ', weight 0 on failure' : ''}`;
}

/** `web3 192.168.116.114:8081 while the passing weight is below 2 (hysteresis 1)`, or `none`. */
export function sorryServerLabel(s: IpvsService): string {
  if (!s.sorry) return 'none';
  const { realServer: r, quorum, hysteresis } = s.sorry;
  return `${shortName(r.server)} ${realServerTarget(r)} while the passing weight is below ${quorum}${hysteresis ? ` (hysteresis ${hysteresis})` : ''}`;
}

/** ` (9 bytes, answer required)`: what a UDP check sends and needs, when not keepalived's defaults. */
function udpDetails(c: NonNullable<IpvsService['healthCheck']>): string {
  const details = [...(c.payload ? [`${c.payload.length / 2} bytes`] : []), ...(c.requireReply ? ['answer required'] : [])];
  return details.length ? ` (${details.join(', ')})` : '';
}

/**
 * A paired director's VRRP side: `pair with lb2: VRRP 51 (v2), priority 150, advertisements every 1 s by unicast to 10.0.0.9 on ens33, no preemption, connections synchronised; VIPs 10.0.0.100/32 on ens33`.
 */
export function vrrpLabel(pair: NonNullable<TopologyDirector['pair']>): string {
  const v = pair.vrrp;
  const preempt = v.preempt === false ? 'no preemption' : v.preempt === true ? 'preempts' : `preempts after ${v.preempt} s`;
  const to = v.unicast ? `by unicast to ${v.unicast.peer}` : 'by multicast';
  return [
    `pair with ${shortName(pair.peer)}: VRRP ${v.virtualRouterId} (v${v.version}), priority ${v.priority}`,
    `advertisements every ${v.advertIntervalSeconds} s ${to} on ${v.interface}${v.authPassword ? ' with a password' : ''}`,
    preempt,
    v.syncConnections ? 'connections synchronised' : 'connections not synchronised',
    `VIPs ${v.addresses.map((a) => `${a.cidr} on ${a.dev}`).join(', ') || 'none'}`,
  ].join(', ');
}

/** `upper 1000, lower 0`, or `-` when neither is set (0 means unlimited to ipvsadm). */
export function thresholdsLabel(r: IpvsRealServer): string {
  return r.upperThreshold || r.lowerThreshold ? `upper ${r.upperThreshold}, lower ${r.lowerThreshold}` : '-';
}
