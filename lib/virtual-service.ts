import { Construct } from 'constructs';
import { IpvsRealServer, IpvsService, Protocol } from './scripts/ipvs';
import { RealServer } from './real-server';
import { TopologyService } from './topology';
import { Cidr, checkInt, checkIp, checkOneOf, checkPort, fail } from './validation';

/** Every scheduler ipvsadm knows. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const;
/** An IPVS scheduling algorithm: one of {@link SCHEDULERS}. */
export type Scheduler = (typeof SCHEDULERS)[number];
/** Every protocol a virtual service can use. */
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** Client affinity: connections from one client (or netmask of clients) go to one real server. */
export interface PersistenceOptions {
  /** Seconds a client stays with its real server after its last connection. @default 300 */
  readonly timeout?: number;
  /** Granularity: clients in one netmask share a real server (IPv4 mask or IPv6 prefix length). @default - one client address */
  readonly netmask?: string;
}

/** Options of {@link LvsDirector.addService}. */
export interface VirtualServiceOptions {
  /**
   * The virtual IP clients connect to. Required for address services; for a
   * firewall-mark service it is optional and only decides which address the
   * director and DR/TUN real servers bring up.
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
   * How the director picks a real server for a new connection.
   * @default 'wlc' (ipvsadm's default)
   */
  readonly scheduler?: Scheduler;
  /**
   * Keep each client with one real server.
   * @default - no persistence
   */
  readonly persistence?: PersistenceOptions;
}

/** Options of {@link VirtualService.addRealServer}. */
export interface RealServerOptions {
  /** Port on the real server; only NAT may differ from the service port. @default - the service port */
  readonly port?: number;
  /** 0 takes the server out of new scheduling (drain). @default 1 */
  readonly weight?: number;
  /** Stop sending new connections above this many. @default 0 (no limit) */
  readonly upperThreshold?: number;
  /** Resume below this many. @default 0 (none) */
  readonly lowerThreshold?: number;
}

/** Context a service needs from its director. @internal */
export interface DirectorContext {
  readonly addresses: Cidr[];
  readonly onRealServer: (server: RealServer) => void;
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
  /** Client affinity with its default timeout applied; undefined without persistence. */
  public readonly persistence?: { readonly timeout: number; readonly netmask?: string };
  private readonly members: { server: RealServer; entry: IpvsRealServer }[] = [];
  private readonly endpoints = new Set<string>();

  /** @internal use `LvsDirector.addService` */
  constructor(
    scope: Construct,
    id: string,
    options: VirtualServiceOptions,
    private readonly director: DirectorContext,
  ) {
    super(scope, id);
    const o = options ?? {};
    if (o.fwmark !== undefined) {
      this.fwmark = checkInt(this, 'fwmark', o.fwmark, 1, 4294967295);
      if (o.port !== undefined || o.protocol !== undefined) fail(this, 'fwmark', 'a firewall-mark service has no port or protocol');
      if (o.vip !== undefined) this.vip = checkIp(this, 'vip', o.vip);
      if ((this.vip ?? '').includes(':')) fail(this, 'fwmark', 'firewall-mark services are IPv4 only');
    } else {
      if (o.vip === undefined) fail(this, 'vip', 'is required (or give fwmark)');
      this.vip = checkIp(this, 'vip', o.vip);
      this.port = checkPort(this, 'port', o.port ?? 80);
      this.protocol = checkOneOf(this, 'protocol', o.protocol ?? 'tcp', PROTOCOLS);
    }
    this.scheduler = checkOneOf(this, 'scheduler', o.scheduler ?? 'wlc', SCHEDULERS);
    if (o.persistence !== undefined) {
      const ipv6 = (this.vip ?? '').includes(':');
      const netmask = o.persistence.netmask;
      if (netmask !== undefined) checkNetmask(this, netmask, ipv6);
      this.persistence = { timeout: checkInt(this, 'persistence.timeout', o.persistence.timeout ?? 300, 1, 2147483647), netmask };
    }
  }

  /** `protocol:vip:port` or `fwmark:N`: unique per director. */
  public get key(): string {
    return this.fwmark !== undefined ? `fwmark:${this.fwmark}` : `${this.protocol}:${this.vip}:${this.port}`;
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
    const field = `realServers[${server.node.id}]`;
    const port = this.fwmark !== undefined ? undefined : checkPort(this, `${field}.port`, options.port ?? this.port);
    if (server.forwarding !== 'nat' && port !== this.port) {
      fail(this, `${field}.port`, `only NAT can map ports; a ${server.forwarding.toUpperCase()} server must use the service port ${this.port}`);
    }
    const endpoint = `${server.address}${port ? ':' + port : ''}`;
    if (this.endpoints.has(endpoint)) fail(this, field, `${endpoint} is already a real server of this service`);
    const first = this.members[0]?.server;
    if (first && first.forwarding !== server.forwarding) {
      fail(this, field, `a service uses one forwarding method; it has ${first.forwarding.toUpperCase()}, this server is ${server.forwarding.toUpperCase()}`);
    }
    if ((this.vip ?? server.address).includes(':') !== server.address.includes(':')) {
      fail(this, field, `address family of ${server.address} differs from the service's`);
    }
    const upper = checkInt(this, `${field}.upperThreshold`, options.upperThreshold ?? 0, 0, 65535);
    const lower = checkInt(this, `${field}.lowerThreshold`, options.lowerThreshold ?? 0, 0, 65535);
    if (upper && lower > upper) fail(this, `${field}.lowerThreshold`, `must not exceed upperThreshold (${upper})`);
    const weight = checkInt(this, `${field}.weight`, options.weight ?? 1, 0, 2147483647);
    server._attach(this.vip, this.director.addresses, field);
    this.endpoints.add(endpoint);
    this.members.push({
      server,
      entry: { address: server.address, port, forwarding: server.forwarding, weight, upperThreshold: upper, lowerThreshold: lower },
    });
    this.director.onRealServer(server);
  }

  /** @internal the service as plan review and verification see it */
  public _describe(): TopologyService {
    return {
      path: this.node.path,
      key: this.key,
      vip: this.vip,
      port: this.port,
      protocol: this.protocol,
      fwmark: this.fwmark,
      scheduler: this.scheduler,
      persistence: this.persistence,
      realServers: this.members.map(({ server, entry }) => ({
        server: server.node.path,
        address: entry.address,
        port: entry.port,
        forwarding: entry.forwarding,
        weight: entry.weight,
        upperThreshold: entry.upperThreshold ?? 0,
        lowerThreshold: entry.lowerThreshold ?? 0,
      })),
    };
  }

  /** @internal the service as the IPVS renderer takes it */
  public _toIpvs(): IpvsService {
    return {
      protocol: this.protocol,
      vip: this.vip,
      port: this.port,
      fwmark: this.fwmark,
      scheduler: this.scheduler,
      persistence: this.persistence,
      realServers: this.members.map((m) => m.entry),
    };
  }
}

function checkNetmask(scope: Construct, netmask: string, ipv6: boolean): void {
  if (ipv6) {
    checkInt(scope, 'persistence.netmask', /^\d+$/.test(netmask) ? Number(netmask) : NaN, 1, 128);
    return;
  }
  const ip = checkIp(scope, 'persistence.netmask', netmask);
  const bits = ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
  if (ip.includes(':') || !/^1*0*$/.test(bits)) fail(scope, 'persistence.netmask', `${netmask} is not a contiguous IPv4 netmask`);
}
