import { Construct } from 'constructs';
import type { LvsDirector } from './director';
import { frameworkOf } from './framework';
import { Cidr, checkBool, checkCidr, checkId, checkInt, checkInterface, checkString, fail } from './validation';

/** Props of an {@link LvsDirectorPair}. */
export interface LvsDirectorPairProps {
  /**
   * The two directors, the preferred one first (it has the higher VRRP
   * priority). Each serves every service of the other, with the same IPVS
   * entries; VRRP (keepalived) holds the VIPs on one of them at a time.
   */
  readonly directors: LvsDirector[];
  /** VRRP virtual router id, 1 to 255: unique among the VRRP routers on the directors' LAN. */
  readonly virtualRouterId: number;
  /** VRRP priorities of the first and the second director, 1 to 254, the first higher. @default [150, 100] */
  readonly priorities?: number[];
  /**
   * Whether the first director takes the VIPs back when it returns after a
   * failure: `false` (it stays backup, so its return interrupts nothing),
   * `true`, or the seconds it waits first (1 to 1000, keepalived's preempt_delay).
   * @default false
   */
  readonly preempt?: boolean | number;
  /**
   * Seconds between VRRP advertisements: whole seconds from 1 to 255, or
   * with `vrrpVersion: 3` from 0.01 in hundredths. The backup takes over
   * about three intervals after the active director's last advertisement.
   * @default 1
   */
  readonly advertIntervalSeconds?: number;
  /** VRRP version: 2, or 3 (RFC 5798: sub-second intervals, no authentication). @default 2 */
  readonly vrrpVersion?: number;
  /**
   * Advertise by unicast to the other director's IPv4 address on the VRRP
   * interface, which passes where multicast VRRP does not (many cloud and
   * virtual networks); otherwise by multicast to 224.0.0.18. The instance
   * is IPv4 either way: IPv6 VIPs move with it unadvertised.
   * @default true
   */
  readonly unicast?: boolean;
  /**
   * A VRRPv2 password (auth_type PASS), 1 to 8 printable characters without
   * spaces or quotes: it keeps misconfigured routers apart, it is no
   * protection against an attacker on the LAN.
   * @default - no authentication
   */
  readonly authPassword?: string;
  /**
   * The interface the advertisements go on, on both directors (a dedicated
   * heartbeat link, say). With unicast it must be a declared interface of
   * each, whose IPv4 address is the peer's destination.
   * @default - on each director the interface that holds the first VIP
   */
  readonly interface?: string;
  /**
   * NAT services: the floating address (`address/prefix`, on the subnet of
   * the real servers) that VRRP holds with the VIPs on the active director,
   * and that every NAT real server of the pair's services has as its
   * `gateway`, so replies return through whichever director is active.
   * @default - none (required with NAT services)
   */
  readonly gateway?: string;
  /**
   * Synchronise IPVS connections from the active director to the other
   * (keepalived's `lvs_sync_daemon`, following the VRRP state), so
   * established connections carry on after a failover.
   * @default true
   */
  readonly syncConnections?: boolean;
}

/** The pair's VRRP settings, checked and defaulted. @internal */
export interface VrrpSettings {
  readonly virtualRouterId: number;
  readonly priorities: readonly [number, number];
  /** false, true, or a preempt delay in seconds. */
  readonly preempt: boolean | number;
  readonly advertIntervalSeconds: number;
  readonly version: 2 | 3;
  readonly unicast: boolean;
  readonly authPassword?: string;
  readonly interface?: string;
  /** NAT: the floating gateway of the real servers. */
  readonly gateway?: Cidr;
  readonly syncConnections: boolean;
}

/**
 * Two directors that serve the same services, of which keepalived's VRRP
 * makes one active: it holds the VIPs; when it fails (its host, its link, or
 * its keepalived) the other takes them over, with the IPVS connections
 * synchronised to it. Both run keepalived in their `Keepalived` step, which
 * owns the VIPs (the directors' `Host` steps no longer bring them up) and
 * the health-checked services; services without checks stay with each
 * director's table step. For NAT services VRRP also holds `gateway`, the
 * real servers' default gateway, so replies follow the active director.
 *
 * A construct without resources of its own: construct ids of the directors
 * stay as they are, so the second director can be added to a running one.
 */
export class LvsDirectorPair extends Construct {
  /** The two directors, the preferred one first. */
  public readonly directors: readonly [LvsDirector, LvsDirector];
  /** @internal */
  public readonly _settings: VrrpSettings;

  constructor(scope: Construct, id: string, props: LvsDirectorPairProps) {
    super(scope, checkId(scope, id));
    frameworkOf(this);
    if (!props || typeof props !== 'object') fail(this, 'props', 'are required');
    const d = props.directors;
    if (!Array.isArray(d) || d.length !== 2) fail(this, 'directors', `expected two directors, got ${Array.isArray(d) ? d.length : JSON.stringify(d)}`);
    if (d[0] === d[1]) fail(this, 'directors', `${d[0].node.path} is given twice`);
    const stackOf = frameworkOf(this).TerraformStack.of;
    for (const [i, director] of d.entries()) {
      if (stackOf(director) !== stackOf(this)) fail(this, `directors[${i}]`, `${director.node.path} is in another stack`);
    }
    this.directors = [d[0], d[1]];
    this._settings = checkVrrp(this, props);
    d[0]._pairWith(this, d[1], 0);
    d[1]._pairWith(this, d[0], 1);
  }
}

function checkVrrp(scope: LvsDirectorPair, p: LvsDirectorPairProps): VrrpSettings {
  const version = p.vrrpVersion ?? 2;
  if (version !== 2 && version !== 3) fail(scope, 'vrrpVersion', `expected 2 or 3, got ${JSON.stringify(version)}`);
  const priorities = p.priorities ?? [150, 100];
  if (!Array.isArray(priorities) || priorities.length !== 2) fail(scope, 'priorities', `expected two priorities, got ${JSON.stringify(priorities)}`);
  const [first, second] = priorities.map((v, i) => checkInt(scope, `priorities[${i}]`, v, 1, 254));
  if (first <= second) fail(scope, 'priorities', `the first director's priority (${first}) must be above the second's (${second})`);
  const preempt = p.preempt ?? false;
  if (typeof preempt !== 'boolean') checkInt(scope, 'preempt', preempt, 1, 1000);
  const interval = p.advertIntervalSeconds ?? 1;
  if (typeof interval !== 'number' || !Number.isFinite(interval)) fail(scope, 'advertIntervalSeconds', `expected a number, got ${JSON.stringify(interval)}`);
  if (version === 2) checkInt(scope, 'advertIntervalSeconds', interval, 1, 255);
  else if (interval < 0.01 || interval > 40.95 || Math.abs(Math.round(interval * 100) - interval * 100) > 1e-6) {
    fail(scope, 'advertIntervalSeconds', `expected 0.01 to 40.95 seconds in hundredths for VRRPv3, got ${interval}`);
  }
  let authPassword: string | undefined;
  if (p.authPassword !== undefined) {
    if (version === 3) fail(scope, 'authPassword', 'VRRPv3 has no authentication');
    authPassword = checkString(scope, 'authPassword', p.authPassword);
    if (!/^[\x21-\x7e]{1,8}$/.test(authPassword) || /["'#!{}\\]/.test(authPassword)) {
      fail(scope, 'authPassword', 'expected 1 to 8 printable characters without spaces, quotes, #, !, braces or backslashes');
    }
  }
  return {
    virtualRouterId: checkInt(scope, 'virtualRouterId', p.virtualRouterId, 1, 255),
    priorities: [first, second],
    preempt,
    advertIntervalSeconds: interval,
    version,
    unicast: checkBool(scope, 'unicast', p.unicast ?? true),
    authPassword,
    interface: p.interface === undefined ? undefined : checkInterface(scope, 'interface', p.interface),
    gateway: p.gateway === undefined ? undefined : checkCidr(scope, 'gateway', p.gateway),
    syncConnections: checkBool(scope, 'syncConnections', p.syncConnections ?? true),
  };
}
