import { Construct, IConstruct } from 'constructs';
import { ConfiguredHost, ConfiguredHostProps } from './configured-host';
import { HostStep, ownerKeyFor } from './host-step';
import { claimNames } from './names';
import { InterfaceProps, RealServer } from './real-server';
import { AddressSpec, Fragment, chainNameOf } from './scripts/host';
import { Forwarding, renderRules, serviceLabel } from './ipvs';
import { frameworkOf } from './framework';
import { ipvsTableFragment } from './scripts/table';
import { VrrpInstance, keepalivedFragment } from './scripts/keepalived';
import type { LvsDirectorPair } from './director-pair';
import { stateDir } from './scripts/shell';
import { DirectorBaseSpec, IpvsKernelSpec, directorBase, directorSettings } from './scripts/roles';
import { Cidr, checkBool, checkCidr, checkInt, checkInterface, fail, inSubnet } from './validation';
import { TopologyPart, topologySettings } from './topology';
import { VirtualService, VirtualServiceOptions } from './virtual-service';

/** Props of an {@link LvsDirector}. */
export interface LvsDirectorProps extends ConfiguredHostProps {
  /**
   * The director's data-plane interfaces and the addresses they already
   * carry (DIPs). They are checked at apply, never changed. A VIP that is
   * not one of them goes on the interface whose subnet holds it, else on
   * the first one (DR), or on tunl0 (TUN).
   */
  readonly interfaces: InterfaceProps[];
  /**
   * This stack owns the director's whole IPVS table: services it does not
   * declare are drained and deleted on deploy, and destroy deletes every
   * service but keepalived's (`ipvsadm -D` each). Otherwise only the services declared here are touched
   * (`ipvsadm -D` each), so other tools can share the director.
   * @default false
   */
  readonly ownsWholeTable?: boolean;
  /**
   * Seconds to wait for active connections of a real server being removed
   * (after its weight is set to 0) before its entry is deleted; 0 to 86400
   * (a day), since each deploy that removes a server waits this long.
   * @default 30
   */
  readonly drainSeconds?: number;
  /**
   * IPVS kernel settings: connection expiry, timeouts, table size.
   * @default - see each field of {@link IpvsTunables}
   */
  readonly tunables?: IpvsTunables;
}

/**
 * IPVS kernel settings of a director. Defaults follow what kube-proxy and
 * operators settled on; each is restored to its value from before the first
 * deploy on destroy.
 */
export interface IpvsTunables {
  /**
   * `net.ipv4.vs.expire_nodest_conn`: a connection whose real server was
   * deleted expires at its next packet (the client reconnects and is
   * scheduled again) instead of having its packets dropped until it times out.
   * @default true
   */
  readonly expireNodestConn?: boolean;
  /**
   * `net.ipv4.vs.expire_quiescent_template`: persistent clients of a server
   * at weight 0 (drained) are scheduled again instead of sticking to it.
   * @default true
   */
  readonly expireQuiescentTemplate?: boolean;
  /**
   * `net.ipv4.vs.conn_reuse_mode` (0, 1 or 2). `'auto'` sets 0 on kernels
   * before 5.9, where 1 drops the SYN of a reused client port for a second
   * under load. On later kernels it sets 2 on a director of an
   * {@link LvsDirectorPair} that synchronises connections (the default)
   * with a TUN service, and leaves the kernel's value (1) elsewhere. Why 2 there: a connection synchronised to the backup
   * while its table lacked the real server (its health check had not yet
   * seen it back) has no destination, and the kernel drops every packet of
   * such an entry that it must tunnel; after a failover a client reusing
   * that port would time out. 2 schedules a new connection afresh when its
   * client port's entry is in FIN_WAIT, the last state a DR or TUN
   * director sees of a connection.
   * @default 'auto'
   */
  readonly connReuseMode?: 'auto' | 0 | 1 | 2;
  /**
   * `net.ipv4.vs.sloppy_tcp`: create connection state from any TCP packet,
   * not only a SYN, so connections survive a director failover without
   * connection sync.
   * @default - the kernel's (off)
   */
  readonly sloppyTcp?: boolean;
  /**
   * `net.ipv4.vs.conntrack`: keep netfilter connection tracking entries for
   * IPVS connections, for iptables rules (stateful filtering, SNAT) that must
   * see the balanced traffic.
   * @default - the kernel's (off)
   */
  readonly conntrack?: boolean;
  /**
   * Idle timeout of an established TCP connection in seconds (`ipvsadm --set`), 1 to 2147483.
   * @default - the kernel's (900)
   */
  readonly tcpTimeout?: number;
  /**
   * Timeout of a TCP connection after the client's FIN in seconds, 1 to 2147483.
   * @default - the kernel's (120)
   */
  readonly tcpFinTimeout?: number;
  /**
   * Idle timeout of a UDP flow in seconds, 1 to 2147483.
   * @default - the kernel's (300)
   */
  readonly udpTimeout?: number;
  /**
   * Size of the IPVS connection hash table as a power of two, 8 to 20 (the
   * `ip_vs` module parameter `conn_tab_bits`; the kernel lowers it on hosts
   * with little memory). A module parameter only takes effect when ip_vs is
   * loaded: when it is already loaded with another size, the deploy says
   * so and the size applies from the next boot.
   * @default - the kernel's (12: 4096 buckets)
   */
  readonly connTableBits?: number;
}

/**
 * An LVS director: installs ipvsadm, loads the modules and sets the sysctls
 * its forwarding methods need, brings up the VIPs it owns, and owns the IPVS
 * entries of the services declared on it.
 *
 * Terraform resources: `Host` (base setup), `Services` (the IPVS table) and,
 * with a health-checked service, `Keepalived` (keepalived, which owns the
 * entries of those services). `Services` and `Keepalived` run after `Host`
 * and after every real server's `Host`, `Services` after `Keepalived` (a
 * service moving to keepalived is taken over before the table forgets it);
 * on destroy they go first, so the director stops sending to a real server
 * before that server's VIP is removed. A change replaces them
 * create-before-destroy and converges the live table in place: weights are
 * edited, new servers added, removed servers drained then deleted, and no
 * service is ever flushed.
 */
export class LvsDirector extends ConfiguredHost {
  /** The data-plane interfaces, with their checked addresses. */
  public readonly interfaces: { readonly name: string; readonly cidr: Cidr }[];
  /** Whether this stack owns the whole IPVS table (see {@link LvsDirectorProps.ownsWholeTable}). */
  public readonly ownsWholeTable: boolean;
  private servicesStep?: HostStep;
  private keepalivedStep?: HostStep;
  private pairing?: { readonly pair: LvsDirectorPair; readonly peer: LvsDirector; readonly index: 0 | 1 };
  private readonly servers = new Set<RealServer>();
  private readonly services: VirtualService[] = [];
  private readonly drainSeconds: number;
  private readonly tunables: IpvsKernelSpec;

  constructor(scope: Construct, id: string, props: LvsDirectorProps) {
    super(scope, id, props);
    if (!Array.isArray(props.interfaces) || props.interfaces.length === 0) {
      fail(this, 'interfaces', 'at least one data-plane interface is required');
    }
    this.interfaces = props.interfaces.map((i, n) => ({
      name: checkInterface(this, `interfaces[${n}].name`, i?.name),
      cidr: checkCidr(this, `interfaces[${n}].address`, i?.address),
    }));
    const seen = new Set<string>();
    for (const i of this.interfaces) {
      if (seen.has(i.cidr.address)) fail(this, 'interfaces', `${i.cidr.address} is declared twice`);
      seen.add(i.cidr.address);
    }
    this.ownsWholeTable = checkBool(this, 'ownsWholeTable', props.ownsWholeTable ?? false);
    this.drainSeconds = checkInt(this, 'drainSeconds', props.drainSeconds ?? 30, 0, 86400);
    this.tunables = checkTunables(this, props.tunables ?? {});
  }

  protected get description(): string {
    return `LVS director ${this.node.path}`;
  }

  protected hostScripts() {
    return directorBase(this.baseSpec());
  }

  /** A new generation hands its VIPs over (to keepalived, or to itself) before the old one is undone. */
  protected get hostCreateBeforeDestroy(): boolean {
    return true;
  }

  protected topologyPart(): TopologyPart {
    return {
      director: {
        path: this.node.path,
        connection: this.connectionSummary,
        interfaces: this.interfaces.map((i) => ({ name: i.name, address: i.cidr.cidr })),
        ownsWholeTable: this.ownsWholeTable,
        resources: { host: this.host.address, services: this.servicesStep?.address, keepalived: this.keepalivedStep?.address },
        services: this.services.map((s) => s._entry()),
        rules: this.desiredRules,
        settings: topologySettings(directorSettings(this.baseSpec())),
        ...(this.services.some((s) => s.marks.length > 0) ? { marksChain: this.marksChain } : {}),
        ...(this.tunables.timeouts ? { timeouts: this.tunables.timeouts } : {}),
        ...(this.pairing ? { pair: { peer: this.pairing.peer.node.path, vrrp: this.vrrpInstance()! } } : {}),
      },
    };
  }

  private baseSpec(): DirectorBaseSpec {
    return {
      owner: ownerKeyFor(this),
      forwarding: this.forwardingMethods(),
      interfaces: this.interfaces.map((i) => ({ dev: i.name, cidr: i.cidr.cidr })),
      // A pair's VIPs are keepalived's: VRRP brings them up on the active director only.
      vips: this.pairing ? [] : this.vipAddresses(),
      // Where a single director held them: one that joins a pair keeps serving them until keepalived holds them.
      handover: this.pairing ? this.vipAddresses() : [],
      gatewayHandover: this.pairing?.pair._settings.gateway?.address,
      kernel: this.kernelSpec(),
      markProtocols: [...new Set(this.services.flatMap((s) => s.marks.map((m) => m.protocol)))],
      ipv6: this.services.some((s) => (s.vip ?? '').includes(':')),
    };
  }

  /** Whether the pair synchronises this director's TUN connections: entries the backup may hold with no destination (see {@link IpvsTunables.connReuseMode}). */
  private get syncsTunnels(): boolean {
    return !!this.pairing?.pair._settings.syncConnections && this.forwardingMethods().includes('tun');
  }

  /** The tunables as the Host step applies them: conn_reuse_mode 'auto' is 2 from Linux 5.9 where the director syncs TUN connections. */
  private kernelSpec(): IpvsKernelSpec {
    return this.tunables.connReuseAuto && this.syncsTunnels ? { ...this.tunables, connReuseAuto: { later: 2 } } : this.tunables;
  }

  protected advice(): [IConstruct, string][] {
    if (this.services.length === 0) return [[this, 'declares no service: its host is prepared, but it balances nothing']];
    const advice = this.services
      .filter((s) => s.realServers.length === 0)
      .map((s): [IConstruct, string] => [s, `${serviceLabel(s)} has no real server: the director accepts its clients and has nowhere to send them`]);
    const reuse = this.tunables.sysctls.find(([key]) => key === 'net.ipv4.vs.conn_reuse_mode')?.[1];
    if (this.syncsTunnels && (reuse === 0 || reuse === 1)) {
      advice.push([this, `tunables.connReuseMode ${reuse}: after a failover, a client reusing the port of a connection synchronised while the backup lacked its real server times out (the kernel drops the packets of a TUN entry without a destination); 2 or 'auto' reschedules it`]);
    }
    return advice;
  }

  protected validateTree(): string[] {
    // Another director of the stack holding the same service on its own would hold the same VIP: say how to share one.
    const mine = new Map(this.services.map((s) => [s.key, s]));
    return this.node.root.node
      .findAll()
      .filter((c): c is LvsDirector => c instanceof LvsDirector && c !== this && frameworkOf(c).TerraformStack.of(c) === frameworkOf(this).TerraformStack.of(this))
      .flatMap((other) => other.services.filter((s) => mine.get(s.key) !== undefined && mine.get(s.key) !== s).map((s) => [other, s] as const))
      .map(([other, s]) => `services: ${serviceLabel(s)} is also declared by ${other.node.path} (${s.node.path}); to serve one service from two directors, declare it once and call serve() on the other`);
  }

  /** Declares a virtual service on this director. */
  public addService(id: string, options: VirtualServiceOptions): VirtualService {
    const service = new VirtualService(this, id, options);
    this.serve(service);
    return service;
  }

  /**
   * This director also serves `service`, declared on another director: it
   * holds the VIP and keeps the same IPVS entries in its own table, for
   * routers that spread clients over both (ECMP). Not for NAT services,
   * whose real servers route replies through their one director, except
   * between the directors of an {@link LvsDirectorPair}, which serve each
   * other's services this way (its VRRP then holds the VIP on one of them).
   */
  public serve(service: VirtualService): void {
    if (this.services.includes(service)) fail(service, 'directors', `${this.node.path} serves this service already`);
    const clash = this.services.find((s) => s.key === service.key);
    if (clash) fail(service, 'vip', `${service.key} is already declared by ${clash.node.path}`);
    const server = this.services.flatMap((s) => s.backends).find((r) => r.address === service.vip || r.ipv6Address === service.vip);
    if (server) fail(service, 'vip', `${service.vip} is the address of real server ${server.node.path}`);
    this.servicesStep ??= this.tableStep();
    if (service.healthCheck) this.keepalivedStep ??= this.newKeepalivedStep();
    if (this.keepalivedStep) this.servicesStep.runsAfter(this.keepalivedStep);
    service._servedBy(this);
    this.services.push(service);
    if (this.pairing && !this.pairing.peer.services.includes(service)) this.pairing.peer.serve(service);
  }

  /**
   * Called by {@link LvsDirectorPair}: this director and `peer` serve each
   * other's services, and keepalived holds their VIPs.
   * @internal
   */
  public _pairWith(pair: LvsDirectorPair, peer: LvsDirector, index: 0 | 1): void {
    if (this.pairing) fail(pair, 'directors', `${this.node.path} is already in the pair ${this.pairing.pair.node.path}`);
    this.pairing = { pair, peer, index };
    this.keepalivedStep ??= this.newKeepalivedStep();
    this.servicesStep?.runsAfter(this.keepalivedStep);
    // The second starts keepalived once the first has (a director joining a running one: once it holds the VIPs), so it starts as backup.
    if (index === 1) this.keepalivedStep.runsAfter(peer.keepalivedStep!);
    for (const s of [...this.services]) if (!peer.services.includes(s)) peer.serve(s);
  }

  /** The IPVS rules this director declares, as `ipvsadm -Sn` prints them. */
  public get desiredRules(): string[] {
    return renderRules(this.services.map((s) => s._entry()));
  }

  /** @internal see {@link ServiceOwner}; a pair's floating gateway first, the NAT servers' gateway. */
  public get _addresses(): Cidr[] {
    const gateway = this.pairing?.pair._settings.gateway;
    return [...(gateway ? [gateway] : []), ...this.interfaces.map((i) => i.cidr)];
  }

  /** @internal see {@link ServiceOwner} */
  public get _peer(): LvsDirector | undefined {
    return this.pairing?.peer;
  }

  /** @internal see {@link ServiceOwner} */
  public _vips(): (string | undefined)[] {
    return this.services.map((s) => s.vip);
  }

  /** @internal see {@link ServiceOwner} */
  public _order(server: RealServer): void {
    this.servers.add(server);
    this.servicesStep!.runsAfter(server.host);
    this.keepalivedStep?.runsAfter(server.host);
    // Its new gateway answers first: a director joining a pair keeps the floating one local (lvs_handover_gateway).
    if (server.forwarding === 'nat') server.host.runsAfter(this.host);
  }

  /** The table step's chain for the marking rules. */
  private get marksChain(): string {
    return chainNameOf(ownerKeyFor(this, 'services'));
  }

  /** The table step, created with the director's first service. */
  private tableStep(): HostStep {
    return this.reconcileStep('Services', 'services', 'IPVS services', () =>
      ipvsTableFragment({
        services: this.tableServices.map((s) => s._entry()),
        keepalivedServices: this.keepalivedServices.map((s) => s._entry()),
        ownsWholeTable: this.ownsWholeTable,
        drainSeconds: this.drainSeconds,
        marksChain: this.marksChain,
      }),
    );
  }

  /**
   * A step that converges live state in place (onChange `reconcile`),
   * replaced create-before-destroy, after the director's `Host` step: the
   * table and keepalived, which must never leave a gap.
   */
  private reconcileStep(id: string, suffix: string, what: string, fragment: () => Required<Fragment>): HostStep {
    const owner = ownerKeyFor(this, suffix);
    claimNames(this, { stateKey: owner });
    const step = this.addStep(
      id,
      () => ({ owner, description: `${what} of ${this.node.path}`, onChange: 'reconcile', after: [ownerKeyFor(this)], ...fragment() }),
      { createBeforeDestroy: true },
    );
    step.runsAfter(this.host);
    return step;
  }

  /** The services the table step owns: those without a health check. */
  private get tableServices(): VirtualService[] {
    return this.services.filter((s) => !s.healthCheck);
  }

  /** The services keepalived owns: the health-checked ones. */
  private get keepalivedServices(): VirtualService[] {
    return this.services.filter((s) => s.healthCheck);
  }

  /** The interface this director's VRRP advertisements go on: the pair's choice, else the one that holds the first VIP. */
  private get vrrpInterface(): string {
    return this.pairing!.pair._settings.interface ?? this.vipAddresses(true)[0]?.dev ?? this.interfaces[0].name;
  }

  /** This director's IPv4 address on its VRRP interface, for unicast advertisements (the instance is IPv4). */
  private vrrpAddress(): string {
    const name = this.vrrpInterface;
    const found = this.interfaces.find((i) => i.name === name && !i.cidr.address.includes(':'));
    if (!found) fail(this.pairing!.pair, 'interface', `${name} is not an interface of ${this.node.path} with an IPv4 address; unicast advertisements go to that address: declare it in interfaces, or set unicast: false`);
    return found.cidr.address;
  }

  /** This director's side of its pair, as keepalived runs it. */
  private vrrpInstance(): VrrpInstance | undefined {
    if (!this.pairing) return undefined;
    const { pair, peer, index } = this.pairing;
    const s = pair._settings;
    for (const service of this.services) {
      // VRRP moves its addresses: a director's own address would leave it on a failover.
      if (this.interfaces.some((i) => i.cidr.address === service.vip)) fail(pair, 'directors', `${service.node.path}'s VIP ${service.vip} is an address of ${this.node.path}; a pair's VIPs must be addresses neither director has`);
      for (const r of service.backends) {
        if (r.forwarding !== 'nat') continue;
        if (!s.gateway) fail(pair, 'gateway', `is required: ${service.node.path} is a NAT service, whose real servers route replies through the active director`);
        if (r.gateway !== s.gateway.address) fail(r, 'gateway', `${r.gateway} is not the floating gateway ${s.gateway.address} of ${pair.node.path}: replies would not follow a failover`);
      }
    }
    if (s.gateway && this.interfaces.some((i) => i.cidr.address === s.gateway!.address)) {
      fail(pair, 'gateway', `${s.gateway.address} is an address of ${this.node.path}; the floating gateway must be one neither director has`);
    }
    const gateway = s.gateway && this.interfaces.find((i) => inSubnet(s.gateway!.address, i.cidr));
    if (s.gateway && !gateway) fail(pair, 'gateway', `${s.gateway.cidr} is on no subnet of ${this.node.path}'s interfaces`);
    const addresses = this.vipAddresses(true).map((a) => ({ cidr: a.cidr, dev: a.dev }));
    // keepalived -t refuses an instance with no VIP of its own family; the IPv6 ones ride along unadvertised.
    if (addresses.length > 0 && addresses.every((a) => a.cidr.includes(':'))) {
      fail(pair, 'directors', `${this.node.path}'s VIPs are all IPv6; a pair's VRRP instance is IPv4 and carries IPv6 VIPs beside an IPv4 one: give it a service with an IPv4 VIP`);
    }
    return {
      name: `VI_${s.virtualRouterId}`,
      interface: this.vrrpInterface,
      virtualRouterId: s.virtualRouterId,
      priority: s.priorities[index],
      advertIntervalSeconds: s.advertIntervalSeconds,
      version: s.version,
      preempt: s.preempt,
      unicast: s.unicast ? { source: this.vrrpAddress(), peer: peer.vrrpAddress() } : undefined,
      authPassword: s.authPassword,
      addresses: gateway ? [...addresses, { cidr: s.gateway!.cidr, dev: gateway.name }] : addresses,
      syncConnections: s.syncConnections,
    };
  }

  /** The keepalived step, created with the director's first health-checked service or its pair. */
  private newKeepalivedStep(): HostStep {
    const step = this.reconcileStep('Keepalived', 'keepalived', 'keepalived', () =>
      keepalivedFragment({
        director: this.node.path,
        services: this.keepalivedServices.map((s) => s._entry()),
        tableServices: this.tableServices.map((s) => s._entry()),
        vrrp: this.vrrpInstance(),
        drainSeconds: this.drainSeconds,
        tableDir: stateDir(ownerKeyFor(this, 'services')),
        hostDir: stateDir(ownerKeyFor(this)),
      }),
    );
    for (const server of this.servers) step.runsAfter(server.host);
    return step;
  }

  private forwardingMethods(): Forwarding[] {
    return [...new Set(this.services.flatMap((s) => s.backends.map((r: RealServer) => r.forwarding)))];
  }

  /**
   * VIPs the director must hold locally, and where. For VRRP every VIP goes
   * on a data interface, where keepalived's gratuitous ARP moves it.
   */
  private vipAddresses(vrrp = false): AddressSpec[] {
    const out = new Map<string, AddressSpec>();
    for (const s of this.services) {
      const vip = s.vip;
      if (vip === undefined || this.interfaces.some((i) => i.cidr.address === vip) || out.has(vip)) continue;
      const cidr = vip.includes(':') ? `${vip}/128` : `${vip}/32`;
      const lan = (this.interfaces.find((i) => inSubnet(vip, i.cidr)) ?? this.interfaces[0]).name;
      // The tutorial's place for a TUN VIP; an IPv6 one goes on the data interface (tunl0 carries IPv4 only).
      if (s.backends[0]?.forwarding === 'tun' && !vip.includes(':') && !vrrp) {
        out.set(vip, { cidr, dev: 'tunl0', announceOn: lan });
      } else {
        const n = [...out.values()].filter((a) => a.dev === lan).length;
        const label = `${lan}:${n}`;
        out.set(vip, { cidr, dev: lan, label: vip.includes(':') || label.length > 15 ? undefined : label, announceOn: lan });
      }
    }
    return [...out.values()];
  }
}

// The kernel refuses a timeout above INT_MAX / HZ (ip_vs_ctl.c ip_vs_set_timeout); HZ is at most 1000.
const MAX_TIMEOUT = 2147483;

/** The tunables checked, with their defaults, as the scripts apply them. */
function checkTunables(scope: IConstruct, t: IpvsTunables): IpvsKernelSpec {
  if (t === null || typeof t !== 'object') fail(scope, 'tunables', `expected an object, got ${JSON.stringify(t)}`);
  const flag = (field: keyof IpvsTunables, value: unknown, fallback: boolean) => (checkBool(scope, `tunables.${field}`, value ?? fallback) ? 1 : 0);
  const reuse = t.connReuseMode ?? 'auto';
  if (!['auto', 0, 1, 2].includes(reuse)) fail(scope, 'tunables.connReuseMode', `expected 'auto', 0, 1 or 2, got ${JSON.stringify(reuse)}`);
  const timeout = (field: 'tcpTimeout' | 'tcpFinTimeout' | 'udpTimeout') =>
    t[field] === undefined ? undefined : checkInt(scope, `tunables.${field}`, t[field], 1, MAX_TIMEOUT);
  const timeouts = { tcp: timeout('tcpTimeout'), tcpFin: timeout('tcpFinTimeout'), udp: timeout('udpTimeout') };
  return {
    sysctls: [
      ['net.ipv4.vs.expire_nodest_conn', flag('expireNodestConn', t.expireNodestConn, true)],
      ['net.ipv4.vs.expire_quiescent_template', flag('expireQuiescentTemplate', t.expireQuiescentTemplate, true)],
      ...(t.sloppyTcp === undefined ? [] : [['net.ipv4.vs.sloppy_tcp', flag('sloppyTcp', t.sloppyTcp, false)] as const]),
      ...(t.conntrack === undefined ? [] : [['net.ipv4.vs.conntrack', flag('conntrack', t.conntrack, false)] as const]),
      ...(reuse === 'auto' ? [] : [['net.ipv4.vs.conn_reuse_mode', reuse] as const]),
    ],
    connReuseAuto: reuse === 'auto' ? {} : undefined,
    timeouts: Object.values(timeouts).some((v) => v !== undefined) ? timeouts : undefined,
    connTableBits: t.connTableBits === undefined ? undefined : checkInt(scope, 'tunables.connTableBits', t.connTableBits, 8, 20),
  };
}
