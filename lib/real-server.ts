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
import { Cidr, checkCidr, checkInterface, checkIp, checkLabel, checkOneOf, checkPort, fail, inSubnet } from './validation';

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
  readonly dataInterface: InterfaceProps;
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
}

/**
 * The real-server side of one host. Subclasses fix the forwarding method:
 * the director uses `-m` for NAT, `-g` for DR and `-i` for TUN servers.
 */
export abstract class RealServer extends ConfiguredHost {
  /** Forwarding method of this server's IPVS entries. */
  public abstract readonly forwarding: Forwarding;
  /** The real server's data-plane address (RIP). */
  public readonly address: string;
  /** The data-plane interface, with its checked address. */
  public readonly dataInterface: { readonly name: string; readonly cidr: Cidr };
  private readonly vipSet = new Set<string>();
  private served = false;
  private readonly webServer?: { kind: WebServerKind; page: string };

  protected constructor(scope: Construct, id: string, props: RealServerProps) {
    super(scope, id, props);
    if (!props.dataInterface || typeof props.dataInterface !== 'object') fail(this, 'dataInterface', 'is required');
    const cidr = checkCidr(this, 'dataInterface.address', props.dataInterface.address);
    this.dataInterface = { name: checkInterface(this, 'dataInterface.name', props.dataInterface.name), cidr };
    this.address = cidr.address;
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
        interface: { name: this.dataInterface.name, address: this.dataInterface.cidr.cidr },
        vips: this.vips,
        gateway: this.gateway,
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

  /** VIPs this server accepts traffic for. */
  public get vips(): string[] {
    return [...this.vipSet];
  }

  /**
   * Called by `VirtualService.addRealServer`: checks that this server can be
   * reached from the director by its forwarding method.
   * @internal
   */
  public _attach(vip: string | undefined, directorAddresses: Cidr[], field: string): void {
    this.served = true;
    if (vip !== undefined && this.forwarding !== 'nat') this.vipSet.add(vip);
    this.checkReachable(directorAddresses, field);
  }

  protected abstract checkReachable(directorAddresses: Cidr[], field: string): void;

  /** What this server's forwarding method sets on the host. */
  protected abstract roleSettings(spec: RealServerSpec): HostSettings;
}

/** NAT: the director rewrites addresses both ways; this host routes replies through it. */
export class NatRealServer extends RealServer {
  public readonly forwarding = 'nat' as const;
  private gatewayAddress?: string;

  constructor(scope: Construct, id: string, props: NatRealServerProps) {
    super(scope, id, props);
    if (props.gateway !== undefined) this.gatewayAddress = checkIp(this, 'gateway', props.gateway);
  }

  /** The default gateway this server is given (a director address). */
  public override get gateway(): string | undefined {
    return this.gatewayAddress;
  }

  protected checkReachable(directorAddresses: Cidr[], field: string): void {
    const onSubnet = directorAddresses.filter((d) => sameSubnet(d, this.dataInterface.cidr));
    if (this.gatewayAddress === undefined) {
      if (onSubnet.length === 0) {
        fail(this, field, `the director has no address on ${this.dataInterface.cidr.cidr}'s subnet to be this NAT server's gateway`);
      }
      this.gatewayAddress = onSubnet[0].address;
    } else if (!onSubnet.some((d) => d.address === this.gatewayAddress)) {
      fail(this, 'gateway', `${this.gatewayAddress} is not a director address on the subnet of ${this.dataInterface.cidr.cidr}`);
    }
  }

  protected roleSettings(spec: RealServerSpec) {
    if (this.gatewayAddress === undefined) fail(this, 'gateway', 'unknown: add this server to a service of a director');
    return natRealServerSettings({ ...spec, gateway: this.gatewayAddress });
  }
}

/** DR: the director forwards frames by MAC; the host holds the VIP on lo and must not answer ARP for it. */
export class DrRealServer extends RealServer {
  public readonly forwarding = 'dr' as const;

  constructor(scope: Construct, id: string, props: RealServerProps) {
    super(scope, id, props);
  }

  protected checkReachable(directorAddresses: Cidr[], field: string): void {
    if (!directorAddresses.some((d) => sameSubnet(d, this.dataInterface.cidr))) {
      fail(this, field, `DR forwards by MAC on one segment, but the director has no address on the subnet of ${this.dataInterface.cidr.cidr}`);
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

  constructor(scope: Construct, id: string, props: TunRealServerProps) {
    super(scope, id, props);
    const t = props.tunnel ?? {};
    if (t === null || typeof t !== 'object') fail(this, 'tunnel', `expected an object such as { type: 'gue' }, got ${JSON.stringify(t)}`);
    const type = checkOneOf(this, 'tunnel.type', t.type ?? 'ipip', TUNNEL_TYPES);
    if (type !== 'gue' && t.port !== undefined) fail(this, 'tunnel.port', `only a GUE tunnel has a port; this one is ${type}`);
    this.tunnel = type === 'gue' ? { type, port: checkPort(this, 'tunnel.port', t.port ?? 6080) } : { type };
  }

  /** Encapsulated traffic is routed: any address the director can reach will do. */
  protected checkReachable(): void {}

  protected roleSettings(spec: RealServerSpec) {
    return tunRealServerSettings(spec, this.tunnel);
  }
}

/** Both addresses are on one link: each lies in the other's subnet. */
function sameSubnet(a: Cidr, b: Cidr): boolean {
  return inSubnet(a.address, b) && inSubnet(b.address, a);
}
