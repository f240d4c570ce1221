/**
 * Renders keepalived's configuration for a director's health-checked
 * services, and the scripts that validate it on the host, drain real
 * servers it drops, and load it by reload. Pure.
 */
import { FORWARDING, HealthCheck, IpvsRealServer, IpvsService, ruleLines, serviceSelector } from '../ipvs';
import { Fragment, addressFamily } from './host';
import { heredocVar, sq } from './shell';

const heredoc = (name: string, lines: string[]) => heredocVar(name, lines, 'LVS_KEEPALIVED');

/** A director's side of a VRRP pair: one instance holding every VIP of the pair's services. */
export interface VrrpInstance {
  /** `VI_<virtual router id>`. */
  readonly name: string;
  /** Where the advertisements go. */
  readonly interface: string;
  readonly virtualRouterId: number;
  readonly priority: number;
  readonly advertIntervalSeconds: number;
  readonly version: 2 | 3;
  /** false: nopreempt; true; or a preempt delay in seconds. */
  readonly preempt: boolean | number;
  /** Unicast advertisements: this director's address and the peer's, on the VRRP interface. */
  readonly unicast?: { readonly source: string; readonly peer: string };
  readonly authPassword?: string;
  /** The VIPs (`address/prefix`) and the interface each goes on. */
  readonly addresses: { readonly cidr: string; readonly dev: string }[];
  /** keepalived's lvs_sync_daemon on the VRRP interface, following this instance. */
  readonly syncConnections: boolean;
}

export interface KeepalivedSpec {
  /** Construct path of the director, named in the file's header. */
  readonly director: string;
  /** The services keepalived owns: each has a health check. */
  readonly services: IpvsService[];
  /** The director's side of its VRRP pair, if it is in one. */
  readonly vrrp?: VrrpInstance;
  /** Services of the same director the table step owns: one leaving keepalived for the table is not drained. */
  readonly tableServices: IpvsService[];
  /** Seconds to wait for the active connections of a real server keepalived drops. */
  readonly drainSeconds: number;
  /** The table step's state directory: where its services and up.sh are. */
  readonly tableDir: string;
  /** The director's Host step state directory: where the VIPs it hands to keepalived are listed (lvs_handover). */
  readonly hostDir: string;
}

/** keepalived.conf for a director: its VRRP instance, if paired, and one `virtual_server` block per health-checked service. */
export function keepalivedConfig(director: string, services: IpvsService[], vrrp?: VrrpInstance): string {
  const lines = [
    `# lvs-cdktf: keepalived configuration of ${director}; each deploy rewrites it, edit the code instead.`,
    'global_defs {',
    ...(vrrp?.version === 3 ? ['  vrrp_version 3'] : []),
    // Command checks run as root; keepalived refuses to run scripts without script security.
    '  script_user root',
    '  enable_script_security',
    ...(vrrp?.syncConnections ? [`  lvs_sync_daemon ${vrrp.interface} ${vrrp.name}`] : []),
    '}',
    ...(vrrp ? vrrpInstance(vrrp) : []),
    ...services.flatMap(virtualServer),
  ];
  return lines.join('\n') + '\n';
}

function vrrpInstance(v: VrrpInstance): string[] {
  // A fault of another interface holding an address (a NAT pair's inside link) fails the instance over too.
  const tracked = [...new Set(v.addresses.map((a) => a.dev))].filter((d) => d !== v.interface);
  const v4 = v.addresses.filter((a) => addressFamily(a.cidr) === 'inet');
  const v6 = v.addresses.filter((a) => addressFamily(a.cidr) === 'inet6');
  return [
    `vrrp_instance ${v.name} {`,
    // Both start as backup: the higher priority wins the first election; with nopreempt a returning director stays backup.
    '  state BACKUP',
    `  interface ${v.interface}`,
    `  virtual_router_id ${v.virtualRouterId}`,
    `  priority ${v.priority}`,
    `  advert_int ${v.advertIntervalSeconds}`,
    ...(v.preempt === false ? ['  nopreempt'] : typeof v.preempt === 'number' ? [`  preempt_delay ${v.preempt}`] : []),
    ...(v.unicast ? [`  unicast_src_ip ${v.unicast.source}`, '  unicast_peer {', `    ${v.unicast.peer}`, '  }'] : []),
    ...(tracked.length ? ['  track_interface {', ...tracked.map((d) => `    ${d}`), '  }'] : []),
    ...(v.authPassword ? ['  authentication {', '    auth_type PASS', `    auth_pass ${v.authPassword}`, '  }'] : []),
    '  virtual_ipaddress {',
    ...v4.map((a) => `    ${a.cidr} dev ${a.dev}`),
    '  }',
    // The instance is IPv4: its IPv6 VIPs are not advertised but move with it (unsolicited NA); deprecated, as a single director's, so the director's own traffic does not take them as its source.
    ...(v6.length ? ['  virtual_ipaddress_excluded {', ...v6.map((a) => `    ${a.cidr} dev ${a.dev} preferred_lft 0`), '  }'] : []),
    '}',
  ];
}

function virtualServer(s: IpvsService): string[] {
  const check = s.healthCheck!;
  const head = s.fwmark !== undefined ? `fwmark ${s.fwmark}` : `${s.vip} ${s.port}`;
  // A service with no real server yet has no forwarding method; keepalived needs some lb_kind.
  const forwarding = s.realServers[0]?.forwarding ?? 'dr';
  return [
    `virtual_server ${head} {`,
    `  delay_loop ${check.intervalSeconds}`,
    `  lb_algo ${s.scheduler}`,
    `  lb_kind ${FORWARDING[forwarding].name}`,
    ...(s.protocol ? [`  protocol ${s.protocol.toUpperCase()}`] : []),
    ...(s.persistence ? [`  persistence_timeout ${s.persistence.timeout}`] : []),
    ...(s.persistence?.netmask !== undefined ? [`  persistence_granularity ${s.persistence.netmask}`] : []),
    ...(s.onePacket ? ['  ops'] : []),
    // After lb_kind: the sorry server takes the service's forwarding method, and weight 1 while it serves.
    ...(s.sorry ? [`  quorum ${s.sorry.quorum}`, `  hysteresis ${s.sorry.hysteresis}`, `  sorry_server ${s.sorry.realServer.address} ${port(s, s.sorry.realServer)}`, '  sorry_server_inhibit'] : []),
    ...s.realServers.flatMap((r) => realServer(s, r, check)),
    '}',
  ];
}

/** The port keepalived names a server by: 0 for the real servers of a firewall-mark service. */
const port = (s: IpvsService, r: IpvsRealServer) => (s.fwmark !== undefined ? 0 : r.port!);

function realServer(s: IpvsService, r: IpvsRealServer, check: HealthCheck): string[] {
  return [
    `  real_server ${r.address} ${port(s, r)} {`,
    `    weight ${r.weight}`,
    ...(r.upperThreshold ? [`    uthreshold ${r.upperThreshold}`] : []),
    ...(r.lowerThreshold ? [`    lthreshold ${r.lowerThreshold}`] : []),
    ...(check.inhibitOnFailure ? ['    inhibit_on_failure'] : []),
    ...checker(check, r.address, port(s, r)).map((l) => `    ${l}`),
    '  }',
  ];
}

function checker(c: HealthCheck, address: string, port: number): string[] {
  const retry = [`retry ${c.retries}`, `delay_before_retry ${c.retryDelaySeconds}`];
  const connect = [...(c.port !== undefined ? [`connect_port ${c.port}`] : []), `connect_timeout ${c.timeoutSeconds}`, ...retry];
  const block = (name: string, body: string[]) => [`${name} {`, ...body.map((l) => `  ${l}`), '}'];
  switch (c.type) {
    case 'http':
      return block('HTTP_GET', [...block('url', [`path ${c.path}`, `status_code ${c.statusCodes!.join(' ')}`]), ...connect]);
    case 'tcp':
      return block('TCP_CHECK', connect);
    case 'udp':
      return block('UDP_CHECK', [...connect, ...(c.payload ? [`payload ${c.payload}`] : []), ...(c.requireReply ? ['require_reply'] : [])]);
    case 'command':
      return block('MISC_CHECK', [`misc_path "${c.command} ${address} ${port}"`, `misc_timeout ${c.timeoutSeconds}`, ...retry]);
  }
}

/**
 * The keepalived step's scripts; the logic is lvs_keepalived_* in lvs.sh.
 * `up` hands keepalived the new configuration only after `keepalived -t`
 * accepted it on the host, and drains the real servers it drops first.
 */
export function keepalivedFragment(spec: KeepalivedSpec): Required<Fragment> {
  return {
    prepare: 'lvs_keepalived_record',
    up: [
      heredoc('keepalived_conf', keepalivedConfig(spec.director, spec.services, spec.vrrp).trimEnd().split('\n')),
      heredoc('keepalived_services', spec.services.map(serviceSelector)),
      heredoc('keepalived_rules', ruleLines(spec.services, false)),
      heredoc('table_services', spec.tableServices.map(serviceSelector)),
      `lvs_keepalived_up ${spec.drainSeconds} "$keepalived_services" "$keepalived_rules" "$keepalived_conf" "$table_services"`,
      ...(spec.vrrp ? vrrpHandover(spec.vrrp, spec.hostDir) : []),
    ].join('\n'),
    down: `lvs_keepalived_down ${spec.drainSeconds} ${sq(spec.tableDir)}`,
  };
}

/**
 * VIPs the Host step kept on lo while keepalived started go once keepalived
 * holds them: a new instance is master after its down timer (three intervals
 * and a skew under one), so the wait is bounded by four intervals and start-up.
 */
function vrrpHandover(v: VrrpInstance, hostDir: string): string[] {
  const bound = Math.ceil(4 * v.advertIntervalSeconds) + 5;
  return [heredoc('vrrp_addresses', v.addresses.map((a) => `${addressFamily(a.cidr)} ${a.cidr} ${a.dev}`)), `lvs_handover_release ${sq(hostDir)} ${bound} "$vrrp_addresses"`];
}
