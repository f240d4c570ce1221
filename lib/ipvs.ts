/**
 * The IPVS model: a virtual service and its real-server entries, encoded as
 * ipvsadm arguments and as the rules `ipvsadm -Sn` prints, and decoded from a
 * live table. The constructs, the table scripts, the recorded topology, plan
 * review and verification all use this one model.
 */
import { hostPort } from './validation';

/** Transport protocol of an address service. */
export type Protocol = 'tcp' | 'udp' | 'sctp';
/** Every protocol a virtual service can use. */
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** IPVS forwarding method: NAT (masquerading, `-m`), DR (direct routing, `-g`) or TUN (IPIP tunnel, `-i`). */
export type Forwarding = 'nat' | 'dr' | 'tun';

/** How each forwarding method is named and which ipvsadm flag selects it. */
export const FORWARDING: Readonly<Record<Forwarding, { readonly name: string; readonly flag: string }>> = {
  nat: { name: 'NAT', flag: '-m' },
  dr: { name: 'DR', flag: '-g' },
  tun: { name: 'TUN', flag: '-i' },
};

/** Every scheduler ipvsadm knows. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const;
/** An IPVS scheduling algorithm: one of {@link SCHEDULERS}. */
export type Scheduler = (typeof SCHEDULERS)[number];

/**
 * How a TUN entry encapsulates: IPIP (the default), GUE (IPIP in UDP to
 * `port`, fou on the real server) or GRE. ipvsadm 1.31 and kernels from 5.2
 * (GUE) and 5.3 (GRE) have the last two.
 */
export type Tunnel = { readonly type: 'ipip' } | { readonly type: 'gue'; readonly port: number } | { readonly type: 'gre' };
/** Every tunnel type. */
export const TUNNEL_TYPES = ['ipip', 'gue', 'gre'] as const;

/** ipvsadm's options for a tunnel, as given (`saved`: as `ipvsadm -Sn` prints them, checksums off by default). */
function tunnelOptions(t: Tunnel, saved: boolean): string {
  const nocsum = saved && t.type !== 'ipip' ? ' --tun-nocsum' : '';
  // IPIP is given without options, which ipvsadm before 1.31 accepts too.
  if (t.type === 'ipip') return saved ? ' --tun-type ipip' : '';
  return ` --tun-type ${t.type}${t.type === 'gue' ? ` --tun-port ${t.port}` : ''}${nocsum}`;
}

/** One real server of a virtual service. */
export interface IpvsRealServer {
  /** Construct path of the real server. */
  readonly server: string;
  /** IPv4 or IPv6 address (RIP). */
  readonly address: string;
  /** Port on the real server; undefined for firewall-mark services. */
  readonly port?: number;
  readonly forwarding: Forwarding;
  /** TUN entries: the encapsulation; absent for IPIP and the other methods. */
  readonly tunnel?: Tunnel;
  readonly weight: number;
  /** 0: no limit. */
  readonly upperThreshold: number;
  /** 0: none. */
  readonly lowerThreshold: number;
}

/** Traffic a firewall-mark service selects: packets to `vip` of `protocol` to a port or a range (`8000:8100`). */
export interface IpvsMarkRule {
  readonly vip: string;
  readonly protocol: Protocol;
  /** One port (`443`) or a range (`8000:8100`), as iptables' --dport takes it. */
  readonly ports: string;
}

/** One virtual service: `{ protocol, vip, port }` for address services, or `{ fwmark }`. */
export interface IpvsService {
  /** Construct path of the service. */
  readonly path: string;
  /** {@link serviceKey}: unique per table. */
  readonly key: string;
  readonly protocol?: Protocol;
  readonly vip?: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly scheduler: string;
  readonly persistence?: { readonly timeout: number; readonly netmask?: string };
  /** Firewall-mark services: the traffic whose packets the director marks for it; absent when marked by other means. */
  readonly marks?: IpvsMarkRule[];
  /** One-packet scheduling (`-o`, UDP); absent when off. */
  readonly onePacket?: boolean;
  /** How keepalived checks each real server; present, keepalived owns the service's entries instead of the table step. */
  readonly healthCheck?: HealthCheck;
  readonly realServers: IpvsRealServer[];
  /** Health-checked services: the stand-in keepalived serves from while the real servers fall short of the quorum. */
  readonly sorry?: IpvsSorryServer;
}

/**
 * A health-checked service's sorry server, as keepalived runs it: while the
 * weights of the real servers that pass their checks add up to less than
 * `quorum`, keepalived takes those out and serves from `realServer` alone.
 */
export interface IpvsSorryServer {
  /** Its entry at weight 0, where it stays until keepalived serves from it at weight 1 (`sorry_server_inhibit`). */
  readonly realServer: IpvsRealServer;
  /** The live weight the service needs, at least 1 (keepalived's `quorum`). */
  readonly quorum: number;
  /** How far the live weight must pass the quorum, either way, to change over (keepalived's `hysteresis`). */
  readonly hysteresis: number;
}

/** What a health check does: an HTTP GET, a TCP connect, a UDP datagram, or a command run on the director. */
export type HealthCheckType = 'http' | 'tcp' | 'udp' | 'command';
/** Every health check type. */
export const HEALTH_CHECK_TYPES: readonly HealthCheckType[] = ['http', 'tcp', 'udp', 'command'];

/** A real server's health check, checked and with its defaults, as keepalived runs it (see `HealthCheckOptions`). */
export interface HealthCheck {
  readonly type: HealthCheckType;
  /** http: the path requested. */
  readonly path?: string;
  /** http: the status codes that mean up (`200`, or a range `200-299`). */
  readonly statusCodes?: string[];
  /** command: the program and its arguments; the real server's address and port are appended. */
  readonly command?: string;
  /** udp: the datagram sent, as lower-case hex digits; absent: keepalived's own 32 bytes. */
  readonly payload?: string;
  /** udp: up only when the server answers within the timeout (otherwise up unless an ICMP error comes back). */
  readonly requireReply?: boolean;
  /** http, tcp, udp: the port checked; absent: the real server's. */
  readonly port?: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly retryDelaySeconds: number;
  /** A failed server stays in the table at weight 0 (its connections carry on) instead of being deleted. */
  readonly inhibitOnFailure: boolean;
}

type ServiceAddress = Pick<IpvsService, 'protocol' | 'vip' | 'port' | 'fwmark'>;

/** `protocol:vip:port` or `fwmark:N`. */
export function serviceKey(s: ServiceAddress): string {
  return s.fwmark !== undefined ? `fwmark:${s.fwmark}` : `${s.protocol}:${s.vip}:${s.port}`;
}

const PROTOCOL_FLAG: Record<Protocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

/** The service selector, e.g. `-t 192.168.115.111:80` or `-f 1`. */
export function serviceSelector(s: ServiceAddress): string {
  if (s.fwmark !== undefined) return `-f ${s.fwmark}`;
  return `${PROTOCOL_FLAG[s.protocol ?? 'tcp']} ${hostPort(s.vip!, s.port ?? 0)}`;
}

/** `192.168.115.110:80`, `[2001:db8::1]:80/udp` or `fwmark 5`: the service as ipvsadm users say it. */
export function serviceLabel(s: ServiceAddress): string {
  if (s.fwmark !== undefined) return `fwmark ${s.fwmark}`;
  const proto = s.protocol && s.protocol !== 'tcp' ? `/${s.protocol}` : '';
  return `${hostPort(s.vip ?? '?', s.port)}${proto}`;
}

/** The `-r` target of a real server, as ipvsadm prints it: port 0 for the real servers of a firewall-mark service. */
function realTarget(s: IpvsService, r: IpvsRealServer): string {
  return hostPort(r.address, s.fwmark !== undefined ? 0 : (r.port ?? 0));
}

function defaultNetmask(s: IpvsService): string {
  return (s.vip ?? '').includes(':') ? '128' : '255.255.255.255';
}

/**
 * One line per service and real server, in declaration order. `saved`
 * gives the form ipvsadm-save (`ipvsadm -Sn`, ipvsadm 1.30+) prints, which
 * verification compares with (thresholds are not saved; TUN entries carry
 * their `--tun-type`); otherwise the arguments the scripts pass to ipvsadm,
 * which older ipvsadm versions accept too.
 */
export function ruleLines(services: IpvsService[], saved: boolean): string[] {
  const lines: string[] = [];
  for (const s of services) {
    const sel = serviceSelector(s);
    let svc = `-A ${sel} -s ${s.scheduler}`;
    if (s.persistence) {
      svc += ` -p ${s.persistence.timeout}`;
      const mask = s.persistence.netmask;
      if (mask !== undefined && mask !== defaultNetmask(s)) svc += ` -M ${mask}`;
    }
    if (s.onePacket) svc += ' -o';
    lines.push(svc);
    for (const r of [...s.realServers, ...(s.sorry ? [s.sorry.realServer] : [])]) lines.push(realServerRule(s, r, saved));
  }
  return lines;
}

/** One real server's (or a sorry server's) `-a` line of {@link ruleLines}. */
export function realServerRule(s: IpvsService, r: IpvsRealServer, saved: boolean): string {
  let rs = `-a ${serviceSelector(s)} -r ${realTarget(s, r)} ${FORWARDING[r.forwarding].flag} -w ${r.weight}`;
  if (r.forwarding === 'tun') rs += tunnelOptions(r.tunnel ?? { type: 'ipip' }, saved);
  if (!saved) {
    if (r.upperThreshold) rs += ` -x ${r.upperThreshold}`;
    if (r.lowerThreshold) rs += ` -y ${r.lowerThreshold}`;
  }
  return rs;
}

/**
 * The rules as `ipvsadm -Sn` prints them for this table, in declaration
 * order (ipvsadm itself prints services in hash order: compare as sets).
 */
export function renderRules(services: IpvsService[]): string[] {
  return ruleLines(services, true);
}

/** One line of `ipvsadm -Sn`, decoded. */
export interface IpvsRule {
  /** `-A` (service) or `-a` (real server). */
  readonly op: '-A' | '-a';
  /** `-t 192.168.115.110:80`. */
  readonly selector: string;
  /** The `-r` target of a real-server line. */
  readonly real?: string;
  /** The forwarding method of a real-server line. */
  readonly forwarding?: Forwarding;
  /** Every other option by flag (`-s` → `wrr`); a flag without a value maps to ''. */
  readonly options: ReadonlyMap<string, string>;
  /** The line with its whitespace normalised. */
  readonly line: string;
}

const BY_FLAG = new Map(Object.entries(FORWARDING).map(([method, f]) => [f.flag, method as Forwarding]));

/** Decodes one line of `ipvsadm -Sn`; undefined for anything else. */
export function parseRule(raw: string): IpvsRule | undefined {
  const t = raw.trim().split(/\s+/);
  if ((t[0] !== '-A' && t[0] !== '-a') || t.length < 3) return undefined;
  const options = new Map<string, string>();
  let real: string | undefined;
  let forwarding: Forwarding | undefined;
  for (let i = 3; i < t.length; i++) {
    const flag = t[i];
    const next = t[i + 1];
    if (BY_FLAG.has(flag)) {
      forwarding = BY_FLAG.get(flag);
    } else if (next !== undefined && !next.startsWith('-')) {
      if (flag === '-r') real = next;
      else options.set(flag, next);
      i++;
    } else {
      options.set(flag, '');
    }
  }
  return { op: t[0], selector: `${t[1]} ${t[2]}`, real, forwarding, line: t.join(' '), options };
}

/**
 * iptables arguments (mangle table, PREROUTING) that give each firewall-mark
 * service's traffic its mark, in the form `iptables -S` prints them, so that
 * verification compares them as they are.
 */
export function markRuleArgs(services: IpvsService[]): string[] {
  return services.flatMap((s) =>
    (s.marks ?? []).map((m) => `-d ${m.vip}/32 -p ${m.protocol} -m ${m.protocol} --dport ${m.ports} -j MARK --set-xmark 0x${s.fwmark!.toString(16)}/0xffffffff`),
  );
}

/** IPVS connection timeouts in seconds (`ipvsadm --set`); an absent one keeps the kernel's value. */
export interface IpvsTimeouts {
  readonly tcp?: number;
  readonly tcpFin?: number;
  readonly udp?: number;
}

/** The timeouts in the order `ipvsadm --set` takes them and `ipvsadm -L --timeout` prints them, by the names ipvsadm uses. */
export const TIMEOUT_NAMES: readonly (readonly [keyof IpvsTimeouts, string])[] = [
  ['tcp', 'tcp'],
  ['tcpFin', 'tcpfin'],
  ['udp', 'udp'],
];

/** The arguments of `ipvsadm --set` (0 keeps a timeout as it is). */
export function timeoutsArgs(t: IpvsTimeouts): string {
  return TIMEOUT_NAMES.map(([k]) => t[k] ?? 0).join(' ');
}

/** Decodes `ipvsadm -L --timeout` (`Timeout (tcp tcpfin udp): 900 120 300`); undefined when the line is absent. */
export function parseTimeouts(lines: string[]): Required<IpvsTimeouts> | undefined {
  for (const line of lines) {
    const m = /^Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line.trim());
    if (m) return { tcp: Number(m[1]), tcpFin: Number(m[2]), udp: Number(m[3]) };
  }
  return undefined;
}

/** A real server's connection thresholds (0: none), keyed `<service selector> -r <target>` as ipvsadm names them (`-t 10.0.0.1:80 -r 10.0.0.2:80`). */
export type IpvsThresholds = ReadonlyMap<string, { readonly upper: number; readonly lower: number }>;

/** The thresholds of each real server of these services. */
export function thresholdsOf(services: IpvsService[]): IpvsThresholds {
  return new Map(
    services.flatMap((s) => s.realServers.map((r) => [`${serviceSelector(s)} -r ${realTarget(s, r)}`, { upper: r.upperThreshold, lower: r.lowerThreshold }] as const)),
  );
}

const LISTED_PROTOCOL: Record<string, string> = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service', FWM: '-f' };

/**
 * Decodes `ipvsadm -Ln --thresholds` (ipvsadm -Sn does not print
 * thresholds): `TCP  10.0.0.1:80 rr` starts a service, `  -> 10.0.0.2:80  5  2  0  0`
 * is one of its real servers.
 */
export function parseThresholds(lines: string[]): IpvsThresholds {
  const out = new Map<string, { upper: number; lower: number }>();
  let service: string | undefined;
  for (const line of lines) {
    const t = line.trim().split(/\s+/);
    if (LISTED_PROTOCOL[t[0]] && t[1]) service = `${LISTED_PROTOCOL[t[0]]} ${t[1]}`;
    else if (t[0] === '->' && service && /^\d+$/.test(t[2] ?? '') && /^\d+$/.test(t[3] ?? '')) out.set(`${service} -r ${t[1]}`, { upper: Number(t[2]), lower: Number(t[3]) });
  }
  return out;
}
