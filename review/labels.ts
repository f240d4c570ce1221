/** How the report names things, shared by the topology, diff and diagram. */
import { TopologyRealServerEntry, TopologyService } from '../lib/topology';

const FORWARDING: Record<string, { readonly name: string; readonly flag: string }> = {
  nat: { name: 'NAT', flag: '-m' },
  dr: { name: 'DR', flag: '-g' },
  tun: { name: 'TUN', flag: '-i' },
};

/** `DR` for dr; unknown methods (a newer synth) are shown as recorded. */
export function forwardingName(method: string): string {
  return FORWARDING[method]?.name ?? method;
}

/** `DR (-g)`: the method with its ipvsadm flag. */
export function forwardingLabel(method: string): string {
  const f = FORWARDING[method];
  return f ? `${f.name} (${f.flag})` : method;
}

function hostPort(address: string, port: number | string | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

/** `host:port` as the reviewer knows the machine (a host step's or a topology connection's). */
export function hostLabel(at: { host: string; port: number | string }): string {
  return hostPort(at.host, at.port);
}

/** `192.168.115.110:80`, `[2001:db8::1]:80/udp` or `fwmark 5`: the service as ipvsadm users say it. */
export function serviceLabel(s: TopologyService): string {
  if (s.fwmark !== undefined) return `fwmark ${s.fwmark}`;
  const proto = s.protocol && s.protocol !== 'tcp' ? `/${s.protocol}` : '';
  return `${hostPort(s.vip ?? '?', s.port)}${proto}`;
}

/** `192.168.115.112:80`: where the director sends a real server's traffic. */
export function realServerTarget(r: TopologyRealServerEntry): string {
  return hostPort(r.address, r.port);
}

/** `web1` for `dr-stack/web1`: paths are unique within a stack, names read better. */
export function shortName(path: string): string {
  return path.split('/').slice(1).join('/') || path;
}

export function persistenceLabel(s: TopologyService): string {
  const p = s.persistence;
  if (!p) return 'none';
  return `${p.timeout} s${p.netmask ? ` (netmask ${p.netmask})` : ''}`;
}

/** `upper 1000, lower 0`, or `-` when neither is set (0 means unlimited to ipvsadm). */
export function thresholdsLabel(r: TopologyRealServerEntry): string {
  return r.upperThreshold || r.lowerThreshold ? `upper ${r.upperThreshold}, lower ${r.lowerThreshold}` : '-';
}
