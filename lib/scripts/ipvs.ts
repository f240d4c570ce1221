/**
 * Renders a director's IPVS table: the canonical rules (as `ipvsadm -Sn`
 * prints them) and the scripts that converge the live table to them without
 * ever flushing a service that stays.
 */
import { Fragment } from './host';

/** Transport protocol of an address service. */
export type Protocol = 'tcp' | 'udp' | 'sctp';
/** IPVS forwarding method: NAT (masquerading, `-m`), DR (direct routing, `-g`) or TUN (IPIP tunnel, `-i`). */
export type Forwarding = 'nat' | 'dr' | 'tun';

export interface IpvsRealServer {
  /** IPv4 or IPv6 address. */
  readonly address: string;
  /** Port on the real server; undefined for firewall-mark services. */
  readonly port?: number;
  readonly forwarding: Forwarding;
  readonly weight: number;
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
}

export interface IpvsService {
  /** `{ protocol, vip, port }` for address services, or `{ fwmark }`. */
  readonly protocol?: Protocol;
  readonly vip?: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly scheduler: string;
  readonly persistence?: { readonly timeout: number; readonly netmask?: string };
  readonly realServers: IpvsRealServer[];
}

const PROTO_FLAG: Record<Protocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const FWD_FLAG: Record<Forwarding, string> = { nat: '-m', dr: '-g', tun: '-i' };

function hostPort(address: string, port: number | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${host}:${port ?? 0}`;
}

/** The service selector, e.g. `-t 192.168.115.111:80` or `-f 1`. */
export function serviceSelector(s: IpvsService): string {
  if (s.fwmark !== undefined) return `-f ${s.fwmark}`;
  return `${PROTO_FLAG[s.protocol ?? 'tcp']} ${hostPort(s.vip!, s.port)}`;
}

function defaultNetmask(s: IpvsService): string {
  return (s.vip ?? '').includes(':') ? '128' : '255.255.255.255';
}

/**
 * One line per service and real server, in declaration order. `saved`
 * gives the form ipvsadm-save (`ipvsadm -Sn`, ipvsadm 1.30+) prints, which
 * verification compares with (thresholds are not saved; TUN entries carry
 * `--tun-type ipip`); otherwise the arguments the scripts pass to ipvsadm,
 * which older ipvsadm versions accept too.
 */
function ruleLines(services: IpvsService[], saved: boolean): string[] {
  const lines: string[] = [];
  for (const s of services) {
    const sel = serviceSelector(s);
    let svc = `-A ${sel} -s ${s.scheduler}`;
    if (s.persistence) {
      svc += ` -p ${s.persistence.timeout}`;
      const mask = s.persistence.netmask;
      if (mask !== undefined && mask !== defaultNetmask(s)) svc += ` -M ${mask}`;
    }
    lines.push(svc);
    for (const r of s.realServers) {
      let rs = `-a ${sel} -r ${hostPort(r.address, s.fwmark !== undefined ? undefined : r.port)} ${FWD_FLAG[r.forwarding]} -w ${r.weight}`;
      if (saved) {
        if (r.forwarding === 'tun') rs += ' --tun-type ipip';
      } else {
        if (r.upperThreshold) rs += ` -x ${r.upperThreshold}`;
        if (r.lowerThreshold) rs += ` -y ${r.lowerThreshold}`;
      }
      lines.push(rs);
    }
  }
  return lines;
}

/**
 * The rules as `ipvsadm -Sn` prints them for this table, in declaration
 * order (ipvsadm itself prints services in hash order: compare as sets).
 */
export function renderRules(services: IpvsService[]): string[] {
  return ruleLines(services, true);
}

export interface IpvsTableSpec {
  readonly services: IpvsService[];
  /**
   * The stack owns the whole IPVS table: services it does not declare are
   * drained and deleted, and destroy ends with `ipvsadm -C`.
   */
  readonly ownsWholeTable: boolean;
  /** Seconds to wait for active connections of a removed real server to end. */
  readonly drainSeconds: number;
}

/**
 * Shell functions used by the table scripts. A service selector is passed as
 * one word (`-t 1.2.3.4:80`) and split deliberately; every value in it was
 * validated as an address, port or number before rendering.
 */
const TABLE_FUNCTIONS = `lvs_rules_file() {
  if [ "$(lvs_os_family)" = debian ]; then echo /etc/ipvsadm.rules; else echo /etc/sysconfig/ipvsadm; fi
}
# Real servers of one live service: "<address:port> <forwarding flag>" per line.
lvs_live_reals() {
  ipvsadm -S -n | awk -v sel="$1" '$1 == "-a" && ($2 " " $3) == sel { for (i = 4; i <= NF; i++) if ($i == "-r") print $(i + 1), $(i + 2) }'
}
lvs_has_real() {
  lvs_live_reals "$1" | awk -v rs="$2" '$1 == rs { found = 1 } END { exit !found }'
}
# A selector ("-t 1.2.3.4:80") is split into ipvsadm's two arguments on purpose, here and below.
# shellcheck disable=SC2086
lvs_active_conns() {
  ipvsadm -L -n $1 2>/dev/null | awk -v rs="$2" '$1 == "->" && $2 == rs { print $5 }'
}
# Sets weight 0 on the listed real servers ("<selector>|<rs>|<fwd>" per line),
# waits up to $drain_seconds for their active connections to end, then deletes them.
# shellcheck disable=SC2086
lvs_drain_and_delete() {
  [ -n "$1" ] || return 0
  printf '%s\\n' "$1" | while IFS='|' read -r sel rs fwd; do
    echo "lvs-cdktf: draining $rs from $sel"
    ipvsadm -e $sel -r "$rs" $fwd -w 0
  done
  waited=0
  while [ "$waited" -lt "$drain_seconds" ]; do
    busy=$(printf '%s\\n' "$1" | while IFS='|' read -r sel rs fwd; do lvs_active_conns "$sel" "$rs"; done | awk '{ n += $1 } END { print n + 0 }')
    [ "$busy" -gt 0 ] || break
    sleep 1
    waited=$((waited + 1))
  done
  printf '%s\\n' "$1" | while IFS='|' read -r sel rs fwd; do
    ipvsadm -d $sel -r "$rs" 2>/dev/null || true
  done
}
# Drains and deletes whole services (one selector per line).
# shellcheck disable=SC2086
lvs_delete_services() {
  [ -n "$1" ] || return 0
  drain=$(printf '%s\\n' "$1" | while read -r sel; do
    lvs_live_reals "$sel" | while read -r rs fwd; do printf '%s|%s|%s\\n' "$sel" "$rs" "$fwd"; done
  done)
  lvs_drain_and_delete "$drain"
  printf '%s\\n' "$1" | while read -r sel; do
    echo "lvs-cdktf: deleting service $sel"
    ipvsadm -D $sel 2>/dev/null || true
  done
}
# Keeps the distribution's saved rules in step with the live table.
lvs_save_rules() {
  file=$(lvs_rules_file)
  mkdir -p "$(dirname "$file")"
  ipvsadm-save -n > "$file.new"
  mv -f "$file.new" "$file"
}`;

export function ipvsTableFragment(spec: IpvsTableSpec): Required<Fragment> {
  const rules = ruleLines(spec.services, false);
  const selectors = spec.services.map(serviceSelector);
  const up = [
    TABLE_FUNCTIONS,
    `drain_seconds=${spec.drainSeconds}`,
    `desired_services=$(cat <<'LVS_RULES'\n${selectors.join('\n')}\nLVS_RULES\n)`,
    `desired_rules=$(cat <<'LVS_RULES'\n${rules.join('\n')}\nLVS_RULES\n)`,
    'printf \'%s\\n\' "$desired_services" > "$dir/services.desired"',
    // Services this stack owned before (or, owning the whole table, any live one) that it no longer declares.
    spec.ownsWholeTable
      ? 'previous=$(ipvsadm -S -n | awk \'$1 == "-A" { print $2, $3 }\')'
      : 'previous=$(cat "$dir/services" 2>/dev/null || true)',
    'gone=$(printf \'%s\\n\' "$previous" | grep -vxF -f "$dir/services.desired" | grep . || true)',
    'lvs_delete_services "$gone"',
    // Services: edit in place when present (-E keeps connections and counters), add otherwise.
    '# shellcheck disable=SC2086 # $rest holds validated ipvsadm options',
    'printf \'%s\\n\' "$desired_rules" | while read -r op proto addr rest; do',
    '  [ "$op" = -A ] || continue',
    '  if ipvsadm -L -n "$proto" "$addr" >/dev/null 2>&1; then ipvsadm -E "$proto" "$addr" $rest; else ipvsadm -A "$proto" "$addr" $rest; fi',
    'done',
    // Real servers of declared services that are no longer declared: drain, then delete.
    'stale=$(printf \'%s\\n\' "$desired_services" | while read -r sel; do',
    '  lvs_live_reals "$sel" | while read -r rs fwd; do',
    '    printf \'%s\\n\' "$desired_rules" | grep -qF -- "-a $sel -r $rs " || printf \'%s|%s|%s\\n\' "$sel" "$rs" "$fwd"',
    '  done',
    'done)',
    'lvs_drain_and_delete "$stale"',
    '# shellcheck disable=SC2086',
    'printf \'%s\\n\' "$desired_rules" | while read -r op proto addr _ rs rest; do',
    '  [ "$op" = -a ] || continue',
    '  if lvs_has_real "$proto $addr" "$rs"; then ipvsadm -e "$proto" "$addr" -r "$rs" $rest; else ipvsadm -a "$proto" "$addr" -r "$rs" $rest; fi',
    'done',
    'mv -f "$dir/services.desired" "$dir/services"',
    'lvs_save_rules',
  ].join('\n');

  const down = [
    TABLE_FUNCTIONS,
    `drain_seconds=${spec.drainSeconds}`,
    'if [ -f "$dir/services" ]; then lvs_delete_services "$(cat "$dir/services")"; fi',
    spec.ownsWholeTable ? 'ipvsadm -C' : '',
    'rm -f "$dir/services" "$dir/services.desired"',
    'file=$(lvs_rules_file)',
    'if [ -n "$(ipvsadm -S -n)" ]; then',
    '  lvs_save_rules',
    'elif [ -f "$dir/rules.orig" ]; then',
    '  cp -p "$dir/rules.orig" "$file"',
    'else',
    '  rm -f "$file"',
    'fi',
    'rm -f "$dir/rules.orig" "$dir/rules.recorded"',
  ]
    .filter((l) => l)
    .join('\n');

  const prepare = [
    'if [ ! -f "$dir/rules.recorded" ]; then',
    '  file=$(if [ "$(lvs_os_family)" = debian ]; then echo /etc/ipvsadm.rules; else echo /etc/sysconfig/ipvsadm; fi)',
    '  if [ -f "$file" ]; then cp -p "$file" "$dir/rules.orig"; fi',
    '  touch "$dir/rules.recorded"',
    'fi',
  ].join('\n');
  return { prepare, up, down };
}
