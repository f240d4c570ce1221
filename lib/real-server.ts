import { Construct, IConstruct } from 'constructs';
import { ConfiguredHost, ConfiguredHostProps } from './configured-host';
import { ownerKeyFor } from './host-step';
import { TopologyPart, topologySettings } from './topology';
import { FORWARDING, Forwarding, TUNNEL_TYPES, Tunnel } from './ipvs';
import { WebServerKind } from './scripts/host';
import {
  HostSettings,
  RealServerSpec,
  drRealServerSettings,
  natRealServerSettings,
  realServerRole,
  tunRealServerSettings,
} from './scripts/roles';
import { Cidr, checkCidr, checkInt, checkInterface, checkIp, checkLabel, checkOneOf, checkPort, fail, inSubnet } from './validation';

/** A data-plane interface and the address it already carries. */
export interface InterfaceProps {
  /** Interface name, e.g. `ens33`. */
  readonly name: string;
  /**
   * Address with prefix length, e.g. `192.168.116.112/24`: the host's own
   * unicast address, not its subnet's network or broadcast address, and not
   * IPv6 link-local (rules and routes here name no zone).
   */
  readonly address: string;
}

/** A real server's data-plane interface: one address, or one of each family (dual stack). */
export interface RealServerInterfaceProps extends InterfaceProps {
  /**
   * A dual-stack server's IPv6 address with prefix length on the same
   * interface, e.g. `fd00:115::112/64`, when `address` is IPv4. The server can
   * then be added to IPv4 and IPv6 services, each taking the address of its
   * family as the RIP, and the host's settings are made and restored once.
   * @default - the server has `address` only
   */
  readonly ipv6Address?: string;
}

/** A web server that serves a page naming its host, so a curl of the VIP shows who answered. */
export interface WebServerProps {
  /** `nginx`, or `httpd` (apache2 on Debian-family hosts). */
  readonly kind: WebServerKind;
  /** The page's text. @default - "<construct id> (<real server address>)" */
  readonly page?: string;
}

/** Props of a {@link DrRealServer} or {@link TunRealServer}; NAT servers take {@link NatRealServerProps}. */
export interface RealServerProps extends ConfiguredHostProps {
  /** The interface that carries the real server's address (RIP) on the data plane. */
  readonly dataInterface: RealServerInterfaceProps;
  /**
   * A web server to install and start on the host.
   * @default - no web server is installed or started
   */
  readonly webServer?: WebServerProps;
}

/** How a {@link TunRealServer} receives the director's encapsulated requests. */
export interface TunnelProps {
  /**
   * `ipip` (tunl0), `gue` (IPIP in UDP, decapsulated by fou: for networks
   * that pass or balance only UDP) or `gre` (gre0). GUE and GRE need kernel
   * 5.2 / 5.3 and ipvsadm 1.31 on the director.
   * @default 'ipip'
   */
  readonly type?: 'ipip' | 'gue' | 'gre';
  /** GUE only: the UDP port fou listens on, 1 to 65535. @default 6080 */
  readonly port?: number;
  /**
   * Clamp the MSS this server announces from its VIPs (iptables TCPMSS on
   * its SYN-ACKs), so that clients' segments still fit one packet once the
   * director has encapsulated them, also where ICMP "fragmentation needed"
   * from the director is dropped on the way to clients (without a clamp,
   * path MTU discovery must get through, or large uploads stall). `'auto'`
   * takes the data interface's MTU, read on the host, less the IP and TCP
   * headers and the encapsulation (IPIP 20, GUE 32, GRE 24 bytes;
   * IPv6-in-IPv6 40); or give the MSS, 536 to 65495. Applied at boot,
   * removed on destroy.
   * @default - no clamp: clients rely on path MTU discovery
   */
  readonly mss?: 'auto' | number;
}

/** Props of a {@link TunRealServer}. */
export interface TunRealServerProps extends RealServerProps {
  /** The encapsulation the director uses to reach this server. @default - IPIP */
  readonly tunnel?: TunnelProps;
}

/** Props of a {@link NatRealServer}. */
export interface NatRealServerProps extends RealServerProps {
  /**
   * The director's address on this server's subnet, which becomes the
   * default gateway so that replies return through the director.
   * @default - the director address on this server's subnet, found when it is added to a service
   */
  readonly gateway?: string;
  /**
   * A dual-stack server's IPv6 default gateway: the director's address on
   * the subnet of `dataInterface.ipv6Address`.
   * @default - the director address on that subnet, found when the server is added to an IPv6 service
   */
  readonly ipv6Gateway?: string;
}

/**
 * The real-server side of one host. Subclasses fix the forwarding method:
 * the director uses `-m` for NAT, `-g` for DR and `-i` for TUN servers.
 */
export abstract class RealServer extends ConfiguredHost {
  /** Forwarding method of this server's IPVS entries. */
  public abstract readonly forwarding: Forwarding;
  /** The real server's data-plane address (RIP): `dataInterface.address`. */
  public readonly address: string;
  /** A dual-stack server's IPv6 address (RIP of its IPv6 services): `dataInterface.ipv6Address`. */
  public readonly ipv6Address?: string;
  /** The data-plane interface, with its checked addresses. */
  public readonly dataInterface: { readonly name: string; readonly cidr: Cidr; readonly ipv6Cidr?: Cidr };
  private readonly vipSet = new Set<string>();
  private served = false;
  private readonly webServer?: { kind: WebServerKind; page: string };

  protected constructor(scope: Construct, id: string, props: RealServerProps) {
    super(scope, id, props);
    if (!props.dataInterface || typeof props.dataInterface !== 'object') fail(this, 'dataInterface', 'is required');
    const cidr = checkCidr(this, 'dataInterface.address', props.dataInterface.address);
    const v6 = props.dataInterface.ipv6Address;
    const ipv6Cidr = v6 === undefined ? undefined : checkCidr(this, 'dataInterface.ipv6Address', v6);
    if (ipv6Cidr && !ipv6Cidr.address.includes(':')) fail(this, 'dataInterface.ipv6Address', `${ipv6Cidr.cidr} is not an IPv6 address`);
    if (ipv6Cidr && cidr.address.includes(':')) fail(this, 'dataInterface.ipv6Address', `address ${cidr.cidr} is IPv6 already; a dual-stack server gives its IPv4 address as address`);
    this.dataInterface = { name: checkInterface(this, 'dataInterface.name', props.dataInterface.name), cidr, ipv6Cidr };
    this.address = cidr.address;
    this.ipv6Address = ipv6Cidr?.address;
    if (props.webServer !== undefined) {
      this.webServer = {
        kind: checkOneOf(this, 'webServer.kind', props.webServer.kind, ['nginx', 'httpd'] as const),
        page: checkLabel(this, 'webServer.page', props.webServer.page ?? `${id} (${this.address})`),
      };
    }
  }

  protected get description(): string {
    return `${FORWARDING[this.forwarding].name} real server ${this.node.path}`;
  }

  protected hostScripts() {
    return realServerRole(this.roleSpec(), this.roleSettings(this.roleSpec()));
  }

  protected topologyPart(): TopologyPart {
    return {
      realServer: {
        path: this.node.path,
        connection: this.connectionSummary,
        forwarding: this.forwarding,
        interface: { name: this.dataInterface.name, address: this.dataInterface.cidr.cidr, ipv6Address: this.dataInterface.ipv6Cidr?.cidr },
        vips: this.vips,
        gateway: this.gateway,
        ipv6Gateway: this.ipv6Gateway,
        webServer: this.webServer?.kind,
        resource: this.host.address,
        settings: topologySettings(this.roleSettings(this.roleSpec())),
      },
    };
  }

  private roleSpec(): RealServerSpec {
    return {
      owner: ownerKeyFor(this),
      dataInterface: { dev: this.dataInterface.name, cidr: this.dataInterface.cidr.cidr },
      vips: [...this.vipSet],
      webServer: this.webServer,
    };
  }

  protected advice(): [IConstruct, string][] {
    return this.served ? [] : [[this, 'is in no service: its host is configured, but no director sends it traffic']];
  }

  /** The default gateway this server is given (NAT only). */
  public get gateway(): string | undefined {
    return undefined;
  }

  /** A dual-stack server's IPv6 default gateway (NAT only). */
  public get ipv6Gateway(): string | undefined {
    return undefined;
  }

  /** The server's address in a service of this family (its RIP there), if it has one. */
  public addressOf(ipv6: boolean): string | undefined {
    return this.cidrOf(ipv6)?.address;
  }

  /** The data-interface address of one family. */
  protected cidrOf(ipv6: boolean): Cidr | undefined {
    const { cidr, ipv6Cidr } = this.dataInterface;
    return ipv6Cidr && ipv6 ? ipv6Cidr : cidr.address.includes(':') === ipv6 ? cidr : undefined;
  }

  /** VIPs this server accepts traffic for. */
  public get vips(): string[] {
    return [...this.vipSet];
  }

  /**
   * Called by `VirtualService.addRealServer`: checks that this server can be
   * reached from the director by its forwarding method.
   * @internal
   */
  public _attach(vip: string | undefined, ipv6: boolean, directorAddresses: Cidr[], field: string): void {
    this.served = true;
    if (vip !== undefined && this.forwarding !== 'nat') this.vipSet.add(vip);
    this.checkReachable(directorAddresses.filter((d) => d.address.includes(':') === ipv6), this.cidrOf(ipv6)!, field);
  }

  /** Checks the path from the director's addresses of one family to this server's address `own` of that family. */
  protected abstract checkReachable(directorAddresses: Cidr[], own: Cidr, field: string): void;

  /** What this server's forwarding method sets on the host. */
  protected abstract roleSettings(spec: RealServerSpec): HostSettings;
}

/** NAT: the director rewrites addresses both ways; this host routes replies through it. */
export class NatRealServer extends RealServer {
  public readonly forwarding = 'nat' as const;
  /** Gateway per address of the server: `gateway` for `address`, `ipv6Gateway` for `ipv6Address`. */
  private readonly gateways = new Map<string, string>();

  constructor(scope: Construct, id: string, props: NatRealServerProps) {
    super(scope, id, props);
    if (props.gateway !== undefined) this.gateways.set(this.address, checkIp(this, 'gateway', props.gateway));
    if (props.ipv6Gateway !== undefined) {
      if (this.ipv6Address === undefined) fail(this, 'ipv6Gateway', 'only a dual-stack server (dataInterface.ipv6Address) has an IPv6 gateway of its own');
      this.gateways.set(this.ipv6Address, checkIp(this, 'ipv6Gateway', props.ipv6Gateway));
    }
  }

  /** The default gateway of `address`'s family (a director address). */
  public override get gateway(): string | undefined {
    return this.gateways.get(this.address);
  }

  /** The IPv6 default gateway of a dual-stack server. */
  public override get ipv6Gateway(): string | undefined {
    return this.ipv6Address === undefined ? undefined : this.gateways.get(this.ipv6Address);
  }

  protected checkReachable(directorAddresses: Cidr[], own: Cidr, field: string): void {
    const prop = own.address === this.address ? 'gateway' : 'ipv6Gateway';
    const onSubnet = directorAddresses.filter((d) => sameSubnet(d, own));
    const gateway = this.gateways.get(own.address);
    if (gateway === undefined) {
      if (onSubnet.length === 0) fail(this, field, `the director has no address on ${own.cidr}'s subnet to be this NAT server's gateway`);
      this.gateways.set(own.address, onSubnet[0].address);
    } else if (!onSubnet.some((d) => d.address === gateway)) {
      fail(this, prop, `${gateway} is not a director address on the subnet of ${own.cidr}`);
    }
  }

  protected roleSettings(spec: RealServerSpec) {
    if (this.gateway === undefined && this.ipv6Gateway === undefined) fail(this, 'gateway', 'unknown: add this server to a service of a director');
    const routes = [this.gateway, this.ipv6Gateway].filter((g): g is string => g !== undefined);
    return natRealServerSettings({ ...spec, gateways: routes });
  }
}

/** DR: the director forwards frames by MAC; the host holds the VIP on lo and must not answer ARP for it. */
export class DrRealServer extends RealServer {
  public readonly forwarding = 'dr' as const;

  constructor(scope: Construct, id: string, props: RealServerProps) {
    super(scope, id, props);
  }

  protected checkReachable(directorAddresses: Cidr[], own: Cidr, field: string): void {
    if (!directorAddresses.some((d) => sameSubnet(d, own))) {
      fail(this, field, `DR forwards by MAC on one segment, but the director has no address on the subnet of ${own.cidr}`);
    }
  }

  protected roleSettings(spec: RealServerSpec) {
    return drRealServerSettings(spec);
  }
}

/**
 * TUN: the director encapsulates requests (IPIP, GUE or GRE); the host
 * decapsulates them (on tunl0, or gre0 for GRE) and replies directly.
 */
export class TunRealServer extends RealServer {
  public readonly forwarding = 'tun' as const;
  /** The encapsulation this server receives. */
  public readonly tunnel: Tunnel;
  /** The MSS clamp on this server's SYN-ACKs (see {@link TunnelProps.mss}); undefined without one. */
  public readonly mss?: 'auto' | number;

  constructor(scope: Construct, id: string, props: TunRealServerProps) {
    super(scope, id, props);
    const t = props.tunnel ?? {};
    if (t === null || typeof t !== 'object') fail(this, 'tunnel', `expected an object such as { type: 'gue' }, got ${JSON.stringify(t)}`);
    const type = checkOneOf(this, 'tunnel.type', t.type ?? 'ipip', TUNNEL_TYPES);
    if (type !== 'gue' && t.port !== undefined) fail(this, 'tunnel.port', `only a GUE tunnel has a port; this one is ${type}`);
    this.tunnel = type === 'gue' ? { type, port: checkPort(this, 'tunnel.port', t.port ?? 6080) } : { type };
    if (t.mss !== undefined) this.mss = t.mss === 'auto' ? 'auto' : checkInt(this, 'tunnel.mss', t.mss, 536, 65495);
  }

  /** Encapsulated traffic is routed: any address the director can reach will do; IPv6 services take IPv6-in-IPv6 only. */
  protected checkReachable(_directorAddresses: Cidr[], own: Cidr, field: string): void {
    if (own.address.includes(':') && this.tunnel.type !== 'ipip') {
      fail(this, field, `an IPv6 service reaches a TUN server by IPv6-in-IPv6 (ip6tnl0); this server's tunnel is ${this.tunnel.type}`);
    }
  }

  protected roleSettings(spec: RealServerSpec) {
    return tunRealServerSettings(spec, this.tunnel, this.mss);
  }
}

/** Both addresses are on one link: each lies in the other's subnet. */
function sameSubnet(a: Cidr, b: Cidr): boolean {
  return inSubnet(a.address, b) && inSubnet(b.address, a);
}
