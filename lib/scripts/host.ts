/**
 * Renderers for host settings. Each returns a Fragment: shell for the
 * bundle's `prepare`, `up` and `down` phases. `composeFragments` keeps
 * prepare/up in declaration order and runs `down` in reverse, so teardown
 * mirrors setup (a VIP goes before the ARP settings that protect it).
 */
import { sq } from './shell';

export interface Fragment {
  readonly prepare?: string;
  readonly up?: string;
  readonly down?: string;
}

export function composeFragments(fragments: Fragment[]): Required<Fragment> {
  const join = (parts: (string | undefined)[]) => parts.filter((p): p is string => !!p).join('\n');
  return {
    prepare: join(fragments.map((f) => f.prepare)),
    up: join(fragments.map((f) => f.up)),
    down: join([...fragments].reverse().map((f) => f.down)),
  };
}

/** A sysctl key; interface names containing dots (VLANs) need the slash form. */
export function sysctlKey(...segments: string[]): string {
  return segments.some((s) => s.includes('.')) ? segments.join('/') : segments.join('.');
}

export type SysctlSetting = readonly [key: string, value: string | number];

/**
 * Sysctls through a drop-in in /etc/sysctl.d (never /etc/sysctl.conf).
 * Values seen before the first apply are recorded and restored by `down`.
 */
export function sysctlFragment(owner: string, settings: SysctlSetting[]): Fragment {
  if (settings.length === 0) return {};
  const dropIn = `/etc/sysctl.d/90-lvs-cdktf-${owner}.conf`;
  const lines = settings.map(([k, v]) => `${k} = ${v}`);
  const keys = settings.map(([k]) => sq(k)).join(' ');
  return {
    prepare: [
      'if [ ! -f "$dir/sysctl.orig" ]; then',
      `  printf '%s\\n' ${keys} | while read -r key; do printf '%s=%s\\n' "$key" "$(sysctl -n "$key")"; done > "$dir/sysctl.orig.new"`,
      '  mv "$dir/sysctl.orig.new" "$dir/sysctl.orig"',
      'fi',
      `cat > ${sq(dropIn)} <<'LVS_CDKTF_EOF'`,
      `# Managed by lvs-cdktf (${owner}); removed on destroy.`,
      ...lines,
      'LVS_CDKTF_EOF',
    ].join('\n'),
    up: `sysctl -q -p ${sq(dropIn)}`,
    down: [
      `rm -f ${sq(dropIn)}`,
      'if [ -f "$dir/sysctl.orig" ]; then',
      "  while IFS='=' read -r key value; do sysctl -q -w \"$key=$value\" || true; done < \"$dir/sysctl.orig\"",
      '  rm -f "$dir/sysctl.orig"',
      'fi',
    ].join('\n'),
  };
}

/**
 * Kernel modules: loaded now and at boot (modules-load.d). They are not
 * unloaded by `down`: other users of the kernel (and, in the lab, other
 * hosts sharing it) may depend on them.
 */
export function modulesFragment(owner: string, modules: string[]): Fragment {
  if (modules.length === 0) return {};
  const file = `/etc/modules-load.d/lvs-cdktf-${owner}.conf`;
  return {
    // Loaded in prepare too: later steps record sysctls (tunl0, net.ipv4.vs) that exist only once loaded.
    prepare: `printf '%s\\n' ${modules.map(sq).join(' ')} > ${sq(file)}\nmodprobe -a ${modules.map(sq).join(' ')}`,
    up: `modprobe -a ${modules.map(sq).join(' ')}`,
    down: `rm -f ${sq(file)}`,
  };
}

/** Brings a link up; `down` returns it to down only if it was down before. */
export function linkUpFragment(dev: string): Fragment {
  const rec = `"$dir/link-${dev}"`;
  return {
    prepare: `[ -f ${rec} ] || { if ip -o link show dev ${sq(dev)} | grep -q '[<,]UP[,>]'; then echo keep; else echo ours; fi > ${rec}; }`,
    up: `ip link set dev ${sq(dev)} up`,
    down: `if [ "$(cat ${rec} 2>/dev/null)" = ours ]; then ip link set dev ${sq(dev)} down || true; fi\nrm -f ${rec}`,
  };
}

export interface AddressSpec {
  /** Address with prefix length, e.g. 192.168.115.110/32. */
  readonly cidr: string;
  readonly dev: string;
  /** Optional label, e.g. lo:0 (IPv4 only). */
  readonly label?: string;
}

/**
 * An address on an interface. An address that was already there before the
 * first apply is left in place by `down`.
 */
export function addressFragment(a: AddressSpec): Fragment {
  const family = a.cidr.includes(':') ? 'inet6' : 'inet';
  const present = `ip -o addr show dev ${sq(a.dev)} | grep -qF ${sq(` ${family} ${a.cidr} `)}`;
  const rec = `"$dir/addr-${a.dev}-${a.cidr.replace(/[/:]/g, '_')}"`;
  const label = a.label ? ` label ${sq(a.label)}` : '';
  return {
    prepare: `[ -f ${rec} ] || { if ${present}; then echo keep; else echo ours; fi > ${rec}; }`,
    up: `${present} || ip addr add ${sq(a.cidr)} dev ${sq(a.dev)}${label}`,
    down: `if [ "$(cat ${rec} 2>/dev/null)" = ours ] && ${present}; then ip addr del ${sq(a.cidr)} dev ${sq(a.dev)}; fi\nrm -f ${rec}`,
  };
}

/** A route that `ip route replace` keeps idempotent; removed by `down`. */
export function routeFragment(destination: string, dev: string): Fragment {
  const fam = destination.includes(':') ? '-6 ' : '';
  return {
    up: `ip ${fam}route replace ${sq(destination)} dev ${sq(dev)}`,
    down: `ip ${fam}route del ${sq(destination)} dev ${sq(dev)} 2>/dev/null || true`,
  };
}

/**
 * The default route through a gateway (NAT real servers). The routes that
 * were default before the first apply are recorded and put back by `down`.
 */
export function defaultRouteFragment(gateway: string, dev: string): Fragment {
  const fam = gateway.includes(':') ? '-6 ' : '';
  return {
    prepare: [
      'if [ ! -f "$dir/default-route.orig" ]; then',
      `  ip ${fam}route show default > "$dir/default-route.orig.new"`,
      '  mv "$dir/default-route.orig.new" "$dir/default-route.orig"',
      'fi',
    ].join('\n'),
    up: `ip ${fam}route replace default via ${sq(gateway)} dev ${sq(dev)}`,
    down: [
      `ip ${fam}route del default via ${sq(gateway)} dev ${sq(dev)} 2>/dev/null || true`,
      'if [ -f "$dir/default-route.orig" ]; then',
      '  # shellcheck disable=SC2086 # each recorded line is an `ip route` argument list',
      `  while read -r route; do [ -z "$route" ] || ip ${fam}route replace $route || true; done < "$dir/default-route.orig"`,
      '  rm -f "$dir/default-route.orig"',
      'fi',
    ].join('\n'),
  };
}

/** Web server a real server can run: nginx, or Apache httpd (apache2 on Debian-family hosts). */
export type WebServerKind = 'nginx' | 'httpd';

/**
 * A web server serving a page that names the host, so a curl of the VIP shows
 * which real server answered. The page that was there before is restored and
 * the service is stopped/disabled again on `down` if it was not running before.
 * Packages that had to be installed stay installed.
 */
export function webServerFragment(kind: WebServerKind, page: string): Fragment {
  const svc =
    kind === 'nginx'
      ? 'svc=nginx'
      : 'if [ "$(lvs_os_family)" = debian ]; then svc=apache2; else svc=httpd; fi';
  const docroot =
    kind === 'nginx'
      ? 'if [ "$(lvs_os_family)" = debian ]; then docroot=/var/www/html; else docroot=/usr/share/nginx/html; fi'
      : 'docroot=/var/www/html';
  return {
    prepare: [
      svc,
      docroot,
      'command -v "$svc" >/dev/null 2>&1 || lvs_install "$svc"',
      'if [ ! -f "$dir/web.recorded" ]; then',
      '  echo "$svc" > "$dir/web.service"',
      '  echo "$docroot" > "$dir/web.docroot"',
      '  if [ -f "$docroot/index.html" ]; then cp -p "$docroot/index.html" "$dir/web.index.orig"; fi',
      '  if lvs_systemd; then',
      '    systemctl is-enabled --quiet "$svc" 2>/dev/null || touch "$dir/web.was-disabled"',
      '    systemctl is-active --quiet "$svc" 2>/dev/null || touch "$dir/web.was-stopped"',
      '  else',
      '    service "$svc" status >/dev/null 2>&1 || touch "$dir/web.was-stopped"',
      '  fi',
      '  touch "$dir/web.recorded"',
      'fi',
      'mkdir -p "$docroot"',
      `printf '%s\\n' ${sq(page)} > "$docroot/index.html"`,
      // is-enabled/is-active first: enable reloads systemd (seconds on a busy host) even when nothing changes.
      'if lvs_systemd; then',
      '  systemctl is-enabled --quiet "$svc" 2>/dev/null || systemctl enable --quiet --no-reload "$svc"',
      '  systemctl is-active --quiet "$svc" || systemctl start "$svc"',
      'else',
      '  service "$svc" start >/dev/null',
      'fi',
    ].join('\n'),
    down: [
      'if [ -f "$dir/web.recorded" ]; then',
      '  svc=$(cat "$dir/web.service"); docroot=$(cat "$dir/web.docroot")',
      '  if [ -f "$dir/web.index.orig" ]; then cp -p "$dir/web.index.orig" "$docroot/index.html"; else rm -f "$docroot/index.html"; fi',
      '  if [ -d /run/systemd/system ]; then',
      '    if [ -f "$dir/web.was-disabled" ]; then systemctl disable --quiet --no-reload "$svc" || true; fi',
      '    if [ -f "$dir/web.was-stopped" ]; then systemctl stop "$svc" || true; fi',
      '  elif [ -f "$dir/web.was-stopped" ]; then',
      '    service "$svc" stop >/dev/null 2>&1 || true',
      '  fi',
      '  rm -f "$dir"/web.*',
      'fi',
    ].join('\n'),
  };
}
