import { Construct, IConstruct } from 'constructs';
import { HEALTH_CHECK_TYPES, HealthCheck, HealthCheckType, IpvsMarkRule, IpvsRealServer, IpvsService, IpvsSorryServer, PROTOCOLS, Protocol, SCHEDULERS, Scheduler, serviceKey } from './ipvs';
import { RealServer, TunRealServer } from './real-server';
import { Cidr, checkBool, checkId, checkInt, checkIp, checkOneOf, checkPort, checkString, checkVip, fail, subnetEdge } from './validation';

// What ipvsadm 1.31 accepts (ipvsadm.c, parse_options and parse_fwmark):
// -p 1..MAX_TIMEOUT (86400*31, 31 days), -w 0..65535 (the kernel takes up to
// INT_MAX, but ipvsadm only from a 2025 patch), -x and -y 0..INT_MAX,
// -f 1..UINT_MAX, and for IPv6 -M 1..128.
const MAX_PERSISTENCE_TIMEOUT = 86400 * 31;
const MAX_WEIGHT = 65535;
const MAX_THRESHOLD = 2147483647;
const MAX_FWMARK = 4294967295;
// keepalived reads quorum and hysteresis as unsigned ints.
const MAX_QUORUM = 4294967295;

/** Client affinity: connections from one client (or netmask of clients) go to one real server. */
export interface PersistenceOptions {
  /** Seconds a client stays with its real server after its last connection, 1 to 2678400 (31 days, ipvsadm's limit). @default 300 */
  readonly timeout?: number;
  /** Granularity: clients in one netmask share a real server (IPv4 mask or IPv6 prefix length). @default - one client address */
  readonly netmask?: string;
}

/** Options of {@link LvsDirector.addService}. */
export interface VirtualServiceOptions {
  /**
   * The virtual IP clients connect to. Required for address services; for a
   * firewall-mark service it is optional and only decides which address the
   * director and DR/TUN real servers bring up. A unicast address that clients
   * are routed to: not loopback, multicast, broadcast, unspecified,
   * link-local or IPv4-mapped, not the network or broadcast address of a
   * director subnet, and not a real server's address.
   */
  readonly vip?: string;
  /**
   * Port clients connect to (address services only).
   * @default 80
   */
  readonly port?: number;
  /**
   * Transport protocol (address services only).
   * @default 'tcp'
   */
  readonly protocol?: Protocol;
  /** Match packets by firewall mark (set by iptables) instead of VIP/port/protocol. @default - an address service */
  readonly fwmark?: number;
  /**
   * Firewall-mark services: the traffic to the service's `vip` that the
   * director marks for it (iptables, mangle table, in a chain of the
   * director's own), so several ports or protocols share one service and one
   * real-server choice. Applied at boot with the table, removed on destroy.
   * @default - none: the marks are set by other means
   */
  readonly markRules?: MarkRuleOptions[];
  /**
   * How the director picks a real server for a new connection.
   * @default 'wlc' (ipvsadm's default)
   */
  readonly scheduler?: Scheduler;
  /**
   * Keep each client with one real server.
   * @default - no persistence
   */
  readonly persistence?: PersistenceOptions;
  /**
   * One-packet scheduling (`ipvsadm -o`, UDP services only): each datagram is
   * scheduled on its own instead of a client's flow sticking to one real
   * server until the UDP timeout, for request/response protocols such as DNS
   * or syslog where one client sends much of the traffic.
   * @default false
   */
  readonly onePacket?: boolean;
  /**
   * Check each real server and take it out of new scheduling while it
   * fails. keepalived, installed and configured on the director, then owns
   * the service's IPVS entries instead of the table step.
   * @default - no check: the table step owns the entries, every server is always in the table
   */
  readonly healthCheck?: HealthCheckOptions;
}

/**
 * How keepalived checks each real server of a service. A server fails
 * after its check failed `retries + 1` times in a row, so it leaves the
 * rotation at most about `intervalSeconds + (retries + 1) * timeoutSeconds +
 * retries * retryDelaySeconds` after its fault; it returns at its first
 * passing check.
 */
export interface HealthCheckOptions {
  /**
   * `'http'`: an HTTP GET of `path` answered with one of `statusCodes`;
   * `'tcp'`: a TCP connect (TCP services); `'udp'`: a UDP datagram
   * (`payload`) to the server, which fails when an ICMP error such as port
   * unreachable comes back, or with `requireReply` when no answer comes
   * within `timeoutSeconds` (UDP services); `'command'`: `command` run on
   * the director exits 0 (any service, SCTP's only check).
   */
  readonly type: HealthCheckType;
  /** http: the path requested, from `/`. @default '/' */
  readonly path?: string;
  /** http: status codes that mean up, 100 to 599, or ranges such as `'200-299'`. @default [200] */
  readonly statusCodes?: (number | string)[];
  /**
   * command: an absolute program path and its arguments, split at spaces
   * and run as root without a shell, with the real server's address and port
   * appended (`/usr/local/bin/check-dns 192.168.115.112 53`). The program and
   * its directories must not be writable by other users (keepalived's script
   * security refuses to run it otherwise).
   */
  readonly command?: string;
  /**
   * udp: the datagram sent, 1 to 256 bytes as hex digits (a DNS query
   * for the root's name servers: `'1234010000010000000000000000020001'`).
   * @default - keepalived's own 32 bytes
   */
  readonly payload?: string;
  /**
   * udp: the server is up only while it answers the datagram within
   * `timeoutSeconds`; without this, silence counts as up and only an ICMP
   * error (no process on the port, host unreachable) as down.
   * @default false
   */
  readonly requireReply?: boolean;
  /** http, tcp, udp: the port to check; required for firewall-mark services. @default - the real server's port */
  readonly port?: number;
  /** Seconds between checks of a server, 1 to 86400. @default 5 */
  readonly intervalSeconds?: number;
  /** Seconds a check may take, 1 to 3600. @default 3 */
  readonly timeoutSeconds?: number;
  /** Failed checks retried before the server is taken out, 0 to 100. @default 1 */
  readonly retries?: number;
  /** Seconds between a failed check and its retry, 0 to 3600. @default 1 */
  readonly retryDelaySeconds?: number;
  /**
   * A failed server stays in the table at weight 0 (its established
   * connections carry on, new ones go elsewhere) instead of being deleted.
   * keepalived takes the passing servers out the same way when a sorry
   * server takes over, so with one this keeps their connections too.
   * @default - true for a service with a sorry server, false otherwise
   */
  readonly inhibitOnFailure?: boolean;
}

/** Traffic a firewall-mark service takes: packets to its VIP of one protocol on some ports. */
export interface MarkRuleOptions {
  /** Transport protocol of the marked traffic. @default 'tcp' */
  readonly protocol?: Protocol;
  /** Ports (`443`) and ranges (`'8000-8100'`), 1 to 65535. */
  readonly ports: (number | string)[];
}

/** Options of {@link VirtualService.addRealServer}. */
export interface RealServerOptions {
  /** Port on the real server; only NAT may differ from the service port. @default - the service port */
  readonly port?: number;
  /** 0 to 65535 (ipvsadm 1.31's limit); 0 takes the server out of new scheduling (drain). @default 1 */
  readonly weight?: number;
  /** Stop sending new connections above this many. @default 0 (no limit) */
  readonly upperThreshold?: number;
  /** Resume below this many; at most upperThreshold, which the kernel requires even when that is 0. @default 0 (none) */
  readonly lowerThreshold?: number;
}

/** Options of {@link VirtualService.setSorryServer}. */
export interface SorryServerOptions {
  /** Port on the sorry server; only NAT may differ from the service port. @default - the service port */
  readonly port?: number;
  /**
   * The weight the service needs: below this sum of the weights of the real
   * servers that pass their checks, the sorry server serves instead (keepalived's `quorum`).
   * @default 1 - the sorry server serves when no real server passes
   */
  readonly quorum?: number;
  /**
   * How far the live weight must pass the quorum to change over: the sorry
   * server takes over below `quorum - hysteresis` (or at 0) and hands back
   * at `quorum + hysteresis`, so one flapping server does not swap the pool each time.
   * @default 0
   */
  readonly hysteresis?: number;
}

/**
 * What a service needs of each director that serves it: its addresses (the
 * checks), its VIPs, and its table step (which must run after every real
 * server's host step). `LvsDirector` is the one implementation.
 * @internal
 */
export interface ServiceOwner extends IConstruct {
  /** The director's data-plane addresses (DIPs). */
  readonly _addresses: Cidr[];
  /** VIPs of the director's services. */
  _vips(): (string | undefined)[];
  /** Orders the director's table steps after the host step of `server`, and a NAT server's host step after the director's (replies route through it). */
  _order(server: RealServer): void;
  /** The other director of this one's pair, if it is in one. */
  readonly _peer?: ServiceOwner;
}

/**
 * One IPVS virtual service on a director, and its real servers. Created by
 * {@link LvsDirector.addService}.
 */
export class VirtualService extends Construct {
  /** The virtual IP; undefined for a firewall-mark service declared without one. */
  public readonly vip?: string;
  /** Port of an address service; undefined for a firewall-mark service. */
  public readonly port?: number;
  /** Protocol of an address service; undefined for a firewall-mark service. */
  public readonly protocol?: Protocol;
  /** Firewall mark of a firewall-mark service; undefined for an address service. */
  public readonly fwmark?: number;
  /** The scheduling algorithm. */
  public readonly scheduler: Scheduler;
  /** Firewall-mark services: the traffic the director marks, one rule per port or range. */
  public readonly marks: IpvsMarkRule[];
  /** Whether each datagram is scheduled on its own (UDP only). */
  public readonly onePacket: boolean;
  /** Client affinity with its default timeout applied; undefined without persistence. */
  public readonly persistence?: { readonly timeout: number; readonly netmask?: string };
  private readonly members: { server: RealServer; entry: IpvsRealServer }[] = [];
  private sorry?: { server: RealServer; entry: IpvsSorryServer };
  private check?: HealthCheck;
  /** Whether `healthCheck.inhibitOnFailure` was left to its default, which a sorry server turns on. */
  private inhibitDefaulted = false;
  /** `address:port` of each server, and what it is to the service. */
  private readonly endpoints = new Map<string, string>();
  private readonly owners: ServiceOwner[] = [];

  /** @internal use `LvsDirector.addService` */
  constructor(scope: Construct, id: string, options: VirtualServiceOptions) {
    super(scope, checkId(scope, id));
    const o = options ?? {};
    if (o.fwmark !== undefined) {
      this.fwmark = checkInt(this, 'fwmark', o.fwmark, 1, MAX_FWMARK);
      if (o.port !== undefined || o.protocol !== undefined) fail(this, 'fwmark', 'a firewall-mark service has no port or protocol');
      if (o.vip !== undefined) this.vip = checkVip(this, 'vip', o.vip);
      if ((this.vip ?? '').includes(':')) fail(this, 'fwmark', 'firewall-mark services are IPv4 only');
    } else {
      if (o.vip === undefined) fail(this, 'vip', 'is required (or give fwmark)');
      this.vip = checkVip(this, 'vip', o.vip);
      this.port = checkPort(this, 'port', o.port ?? 80);
      this.protocol = checkOneOf(this, 'protocol', o.protocol ?? 'tcp', PROTOCOLS);
    }
    this.scheduler = checkOneOf(this, 'scheduler', o.scheduler ?? 'wlc', SCHEDULERS);
    this.onePacket = checkBool(this, 'onePacket', o.onePacket ?? false);
    this.marks = checkMarkRules(this, o.markRules, this.vip);
    if (this.onePacket && this.protocol !== 'udp') fail(this, 'onePacket', `one-packet scheduling is for UDP services; this one is ${this.protocol ?? 'a firewall-mark service'}`);
    if (o.persistence !== undefined) {
      // From untyped callers `persistence: false` must not turn persistence on.
      if (o.persistence === null || typeof o.persistence !== 'object') {
        fail(this, 'persistence', `expected an object such as { timeout: 300 }, got ${JSON.stringify(o.persistence)}`);
      }
      const netmask = o.persistence.netmask === undefined ? undefined : checkNetmask(this, o.persistence.netmask, this.ipv6);
      this.persistence = { timeout: checkInt(this, 'persistence.timeout', o.persistence.timeout ?? 300, 1, MAX_PERSISTENCE_TIMEOUT), netmask };
    }
    if (o.healthCheck !== undefined) {
      this.check = checkHealthCheck(this, o.healthCheck);
      this.inhibitDefaulted = o.healthCheck.inhibitOnFailure === undefined;
      this.node.addValidation({ validate: () => this.quorumProblems() });
    }
  }

  /** keepalived -t refuses a virtual server whose real servers' weights add up to less than its quorum (1 without a sorry server). */
  private quorumProblems(): string[] {
    const weight = this.members.reduce((sum, m) => sum + m.entry.weight, 0);
    const quorum = this.sorry?.entry.quorum ?? 1;
    if (weight >= quorum) return [];
    const field = this.sorry ? 'sorryServer.quorum' : 'realServers';
    const have = this.members.length ? `real servers weighing ${weight} in all` : 'none';
    return [`${field}: keepalived needs real servers whose weights add up to at least ${this.sorry ? `the quorum ${quorum}` : '1'} (it refuses the configuration otherwise); this health-checked service has ${have}`];
  }

  /** `protocol:vip:port` or `fwmark:N`: unique per director. */
  public get key(): string {
    return serviceKey(this);
  }

  /** The directors that serve this service, the one that declared it first. */
  public get directors(): IConstruct[] {
    return [...this.owners];
  }

  /**
   * Called by `LvsDirector` when it serves this service: checks the service
   * and its real servers against the director, and orders the director's
   * table after each real server.
   * @internal
   */
  public _servedBy(owner: ServiceOwner): void {
    const nat = this.backends[0]?.forwarding === 'nat';
    if (nat && !this.ownersPaired([...this.owners, owner])) fail(this, 'directors', 'a NAT service has one director, or a pair: its real servers route replies through it');
    for (const net of owner._addresses) {
      const edge = this.vip && subnetEdge(this.vip, net);
      if (edge) fail(this, 'vip', `${this.vip} is the ${edge} address of the subnet of director address ${net.cidr}`);
    }
    this.owners.push(owner);
    this.members.forEach(({ server }) => this.attach(server, owner, `realServers[${server.node.id}]`));
    if (this.sorry) this.attach(this.sorry.server, owner, 'sorryServer');
  }

  private attach(server: RealServer, owner: ServiceOwner, field: string): void {
    const taken = [server.address, server.ipv6Address].find((a) => a !== undefined && owner._vips().includes(a));
    if (taken) fail(this, field, `${taken} is a VIP of director ${owner.node.path}; a real server needs an address of its own`);
    server._attach(this.vip, this.ipv6, owner._addresses, field);
    owner._order(server);
  }

  /** One director, or the two of a pair: the owners a NAT service may have (its servers' gateway floats between a pair). */
  private ownersPaired(owners: ServiceOwner[]): boolean {
    return owners.length <= 1 || (owners.length === 2 && owners[0]._peer === owners[1]);
  }

  /** An IPv6 service: one with an IPv6 VIP (firewall-mark services are IPv4). */
  private get ipv6(): boolean {
    return (this.vip ?? '').includes(':');
  }

  /** The real servers of this service, in the order they were added. */
  public get realServers(): RealServer[] {
    return this.members.map((m) => m.server);
  }

  /**
   * Sends this service's traffic to `server`, by the server's forwarding
   * method. The director adds the entry only after the server is prepared,
   * and removes it (after draining) before the server is cleaned up.
   */
  public addRealServer(server: RealServer, options: RealServerOptions = {}): void {
    const entry = this.backend(server, `realServers[${server.node.id}]`, 'a real server', options);
    this.members.push({ server, entry });
  }

  /**
   * Serves the service from `server` alone while its real servers fall
   * short: when the weights of the servers that pass their checks add up
   * to less than `quorum` (by default: when none passes), keepalived takes
   * those out and gives the sorry server weight 1; once they reach it
   * again, it swaps back. The sorry server stays in the table at weight 0
   * meanwhile, so connections it holds at the swap complete (keepalived
   * would delete it otherwise, and expire_nodest_conn reset them). The
   * real servers it replaces, even those still passing, stay at weight 0
   * the same way (`healthCheck.inhibitOnFailure`, on by default here). The
   * server is prepared like a real server of the service (a maintenance
   * page, or a smaller pool behind one address). Health-checked services only.
   */
  public setSorryServer(server: RealServer, options: SorryServerOptions = {}): void {
    if (!this.healthCheck) fail(this, 'sorryServer', 'needs a healthCheck: keepalived adds the sorry server when the checks fail');
    if (this.sorry) fail(this, 'sorryServer', `is ${this.sorry.server.node.path} already; a service has one`);
    const o = options ?? {};
    const quorum = checkInt(this, 'sorryServer.quorum', o.quorum ?? 1, 1, MAX_QUORUM);
    const hysteresis = checkInt(this, 'sorryServer.hysteresis', o.hysteresis ?? 0, 0, MAX_QUORUM);
    // keepalived -t refuses it, and it would make the quorum be lost only at 0.
    if (hysteresis >= quorum) fail(this, 'sorryServer.hysteresis', `${hysteresis} must be below the quorum ${quorum}`);
    // At weight 0 until keepalived needs it (sorry_server_inhibit).
    const entry = this.backend(server, 'sorryServer', 'the sorry server', { port: o.port, weight: 0 });
    this.sorry = { server, entry: { realServer: entry, quorum, hysteresis } };
    // Below the quorum keepalived deletes the passing servers too, unless inhibited: expire_nodest_conn would reset their connections.
    if (this.inhibitDefaulted) this.check = { ...this.check!, inhibitOnFailure: true };
  }

  /** The health check of each real server, with its defaults applied; undefined without one. */
  public get healthCheck(): HealthCheck | undefined {
    return this.check;
  }

  /** The sorry server, if the service has one. */
  public get sorryServer(): RealServer | undefined {
    return this.sorry?.server;
  }

  /** A real server's (or the sorry server's) entry, checked against the service and attached to its directors. */
  private backend(server: RealServer, field: string, role: string, options: RealServerOptions): IpvsRealServer {
    if (this.fwmark !== undefined && options.port !== undefined) {
      fail(this, `${field}.port`, "a firewall-mark service has no port: its real servers keep each packet's port");
    }
    const port = this.fwmark !== undefined ? undefined : checkPort(this, `${field}.port`, options.port ?? this.port);
    if (server.forwarding !== 'nat' && port !== this.port) {
      fail(this, `${field}.port`, `only NAT can map ports; a ${server.forwarding.toUpperCase()} server must use the service port ${this.port}`);
    }
    const address = server.addressOf(this.ipv6);
    if (address === undefined) {
      fail(this, field, `${server.node.path} has no ${this.ipv6 ? 'IPv6' : 'IPv4'} address for this service${this.ipv6 ? ' (give it dataInterface.ipv6Address)' : ''}`);
    }
    const endpoint = `${address}${port ? ':' + port : ''}`;
    const taken = this.endpoints.get(endpoint);
    if (taken) fail(this, field, `${endpoint} is already ${taken} of this service`);
    const first = this.backends[0];
    if (first && first.forwarding !== server.forwarding) {
      fail(this, field, `a service uses one forwarding method; it has ${first.forwarding.toUpperCase()}, this server is ${server.forwarding.toUpperCase()}`);
    }
    if (server.forwarding === 'nat' && !this.ownersPaired(this.owners)) {
      fail(this, field, 'a NAT service has one director, or a pair: its real servers route replies through it');
    }
    const upper = checkInt(this, `${field}.upperThreshold`, options.upperThreshold ?? 0, 0, MAX_THRESHOLD);
    const lower = checkInt(this, `${field}.lowerThreshold`, options.lowerThreshold ?? 0, 0, MAX_THRESHOLD);
    // The kernel refuses l_threshold > u_threshold with ERANGE, also when u is 0 (ip_vs_ctl.c ip_vs_add_dest).
    if (lower > upper) fail(this, `${field}.lowerThreshold`, `${lower} exceeds upperThreshold ${upper}${upper ? '' : ' (no limit)'}, which the kernel refuses`);
    const weight = checkInt(this, `${field}.weight`, options.weight ?? 1, 0, MAX_WEIGHT);
    const tunnel = server instanceof TunRealServer && server.tunnel.type !== 'ipip' ? server.tunnel : undefined;
    // keepalived 2.2.7 (Debian bookworm) has no tun_type: it would add the entry as IPIP, which the server does not decapsulate.
    if (tunnel && this.healthCheck) fail(this, field, `a health-checked service is keepalived's, and keepalived 2.2.7 adds TUN entries as IPIP only; ${server.node.path} uses ${tunnel.type.toUpperCase()}`);
    this.owners.forEach((owner) => this.attach(server, owner, field));
    this.endpoints.set(endpoint, role);
    return { server: server.node.path, address, port, forwarding: server.forwarding, tunnel, weight, upperThreshold: upper, lowerThreshold: lower };
  }

  /** Every server the service may send traffic to: its real servers, then its sorry server. */
  public get backends(): RealServer[] {
    return [...this.members.map((m) => m.server), ...(this.sorry ? [this.sorry.server] : [])];
  }

  /** The service in the IPVS model: what the table scripts render and the topology records. @internal */
  public _entry(): IpvsService {
    return {
      path: this.node.path,
      key: this.key,
      vip: this.vip,
      port: this.port,
      protocol: this.protocol,
      fwmark: this.fwmark,
      scheduler: this.scheduler,
      persistence: this.persistence,
      marks: this.marks.length > 0 ? this.marks : undefined,
      onePacket: this.onePacket || undefined,
      healthCheck: this.healthCheck,
      realServers: this.members.map((m) => m.entry),
      sorry: this.sorry?.entry,
    };
  }
}

// Characters keepalived's parser reads as syntax (comments, quotes, blocks) or that a word cannot hold.
const KEEPALIVED_UNSAFE = /[\s"'#!{}\\]/;

/** A health check from its options, every field checked and defaulted. */
function checkHealthCheck(scope: VirtualService, value: unknown): HealthCheck {
  if (value === null || typeof value !== 'object') fail(scope, 'healthCheck', `expected an object such as { type: 'http' }, got ${JSON.stringify(value)}`);
  const o = value as HealthCheckOptions;
  const type = checkOneOf(scope, 'healthCheck.type', o.type, HEALTH_CHECK_TYPES);
  const only = (field: keyof HealthCheckOptions, types: HealthCheckType[]) => {
    if (o[field] !== undefined && !types.includes(type)) fail(scope, `healthCheck.${field}`, `is for ${types.map((t) => `'${t}'`).join(' and ')} checks; this one is '${type}'`);
  };
  only('path', ['http']);
  only('statusCodes', ['http']);
  only('command', ['command']);
  only('payload', ['udp']);
  only('requireReply', ['udp']);
  only('port', ['http', 'tcp', 'udp']);
  // A firewall-mark service has no protocol of its own: its check's protocol is the user's choice.
  const protocol = scope.protocol ?? (type === 'udp' ? 'udp' : 'tcp');
  if (type === 'udp' && protocol !== 'udp') fail(scope, 'healthCheck.type', `a 'udp' check is for UDP services; this one is ${protocol.toUpperCase()}`);
  if ((type === 'http' || type === 'tcp') && protocol !== 'tcp') {
    fail(scope, 'healthCheck.type', `a ${protocol.toUpperCase()} service has no TCP port to connect to; use a ${protocol === 'udp' ? "'udp' or " : ''}'command' check`);
  }
  if (type !== 'command' && scope.fwmark !== undefined && o.port === undefined) fail(scope, 'healthCheck.port', 'is required for a firewall-mark service, whose real servers have no port');
  return {
    type,
    ...(type === 'http' ? { path: checkHttpPath(scope, o.path ?? '/'), statusCodes: checkStatusCodes(scope, o.statusCodes ?? [200]) } : {}),
    ...(type === 'command' ? { command: checkCommand(scope, o.command) } : {}),
    ...(o.payload !== undefined ? { payload: checkPayload(scope, o.payload) } : {}),
    ...(type === 'udp' ? { requireReply: checkBool(scope, 'healthCheck.requireReply', o.requireReply ?? false) } : {}),
    ...(o.port !== undefined ? { port: checkPort(scope, 'healthCheck.port', o.port) } : {}),
    intervalSeconds: checkInt(scope, 'healthCheck.intervalSeconds', o.intervalSeconds ?? 5, 1, 86400),
    timeoutSeconds: checkInt(scope, 'healthCheck.timeoutSeconds', o.timeoutSeconds ?? 3, 1, 3600),
    retries: checkInt(scope, 'healthCheck.retries', o.retries ?? 1, 0, 100),
    retryDelaySeconds: checkInt(scope, 'healthCheck.retryDelaySeconds', o.retryDelaySeconds ?? 1, 0, 3600),
    inhibitOnFailure: checkBool(scope, 'healthCheck.inhibitOnFailure', o.inhibitOnFailure ?? false),
  };
}

function checkHttpPath(scope: VirtualService, value: unknown): string {
  const path = checkString(scope, 'healthCheck.path', value);
  if (!path.startsWith('/') || KEEPALIVED_UNSAFE.test(path) || !/^[\x21-\x7e]+$/.test(path)) {
    fail(scope, 'healthCheck.path', `expected a path from / without spaces, quotes, #, !, braces or backslashes, got ${JSON.stringify(path)}`);
  }
  return path;
}

function checkStatusCodes(scope: VirtualService, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) fail(scope, 'healthCheck.statusCodes', `expected a non-empty list such as [200, '301-302'], got ${JSON.stringify(value)}`);
  return value.map((c, i) => {
    const field = `healthCheck.statusCodes[${i}]`;
    const m = typeof c === 'string' ? /^(\d{3})-(\d{3})$/.exec(c) : null;
    if (m) {
      const [from, to] = [checkInt(scope, field, Number(m[1]), 100, 599), checkInt(scope, field, Number(m[2]), 100, 599)];
      if (from >= to) fail(scope, field, `range ${c} is empty or backwards`);
      return `${from}-${to}`;
    }
    if (typeof c === 'string') fail(scope, field, `expected a status code or a range such as '200-299', got ${JSON.stringify(c)}`);
    return String(checkInt(scope, field, c, 100, 599));
  });
}

function checkCommand(scope: VirtualService, value: unknown): string {
  if (value === undefined) fail(scope, 'healthCheck.command', "is required for a 'command' check");
  const command = checkString(scope, 'healthCheck.command', value).trim().split(/ +/).join(' ');
  if (!command.startsWith('/') || /["'#!{}\\]/.test(command) || !/^[\x20-\x7e]+$/.test(command)) {
    fail(scope, 'healthCheck.command', `expected an absolute program path and arguments without quotes, #, !, braces, backslashes or control characters, got ${JSON.stringify(value)}`);
  }
  return command;
}

function checkPayload(scope: VirtualService, value: unknown): string {
  const payload = checkString(scope, 'healthCheck.payload', value);
  if (!/^([0-9a-fA-F]{2}){1,256}$/.test(payload)) fail(scope, 'healthCheck.payload', `expected 1 to 256 bytes as hex digits (two per byte, no spaces), got ${JSON.stringify(value)}`);
  return payload.toLowerCase();
}

/** The persistence granularity as ipvsadm -Sn prints it: a prefix length 1-128 for IPv6, a contiguous dotted mask for IPv4. */
function checkNetmask(scope: Construct, value: unknown, ipv6: boolean): string {
  const netmask = checkString(scope, 'persistence.netmask', value);
  if (ipv6) {
    const prefix = Number(netmask);
    if (!/^\d{1,3}$/.test(netmask) || prefix < 1 || prefix > 128) {
      fail(scope, 'persistence.netmask', `expected a prefix length from 1 to 128 for an IPv6 service, got ${JSON.stringify(netmask)}`);
    }
    return String(prefix);
  }
  const ip = checkIp(scope, 'persistence.netmask', netmask);
  const bits = ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  if (ip.includes(':') || !/^1*0*$/.test(bits)) fail(scope, 'persistence.netmask', `${netmask} is not a contiguous IPv4 netmask`);
  return ip;
}

/** The marking rules of a firewall-mark service: one per port or range, `from:to` as iptables takes it. */
function checkMarkRules(scope: VirtualService, rules: unknown, vip: string | undefined): IpvsMarkRule[] {
  if (rules === undefined) return [];
  if (scope.fwmark === undefined) fail(scope, 'markRules', 'only a firewall-mark service (fwmark) has marking rules');
  if (!Array.isArray(rules) || rules.length === 0) fail(scope, 'markRules', `expected a non-empty list, got ${JSON.stringify(rules)}`);
  // The director and DR/TUN real servers hold the VIP: IPVS takes only traffic to a local address.
  if (vip === undefined) fail(scope, 'vip', 'is required for marking rules: they select traffic to the VIP');
  return (rules as MarkRuleOptions[]).flatMap((r, i) => {
    const field = `markRules[${i}]`;
    if (r === null || typeof r !== 'object') fail(scope, field, `expected an object such as { ports: [80, 443] }, got ${JSON.stringify(r)}`);
    const protocol = checkOneOf(scope, `${field}.protocol`, r.protocol ?? 'tcp', PROTOCOLS);
    if (!Array.isArray(r.ports) || r.ports.length === 0) fail(scope, `${field}.ports`, `expected a non-empty list of ports and ranges, got ${JSON.stringify(r.ports)}`);
    return r.ports.map((p, j) => ({ vip, protocol, ports: checkPortOrRange(scope, `${field}.ports[${j}]`, p) }));
  });
}

function checkPortOrRange(scope: VirtualService, field: string, value: unknown): string {
  if (typeof value === 'number') return String(checkPort(scope, field, value));
  const m = typeof value === 'string' ? /^(\d{1,5})-(\d{1,5})$/.exec(value) : null;
  if (!m) fail(scope, field, `expected a port or a range such as '8000-8100', got ${JSON.stringify(value)}`);
  const [from, to] = [checkPort(scope, field, Number(m[1])), checkPort(scope, field, Number(m[2]))];
  if (from >= to) fail(scope, field, `range ${value} is empty or backwards`);
  return `${from}:${to}`;
}
