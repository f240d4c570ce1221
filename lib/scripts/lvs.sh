# shellcheck shell=sh disable=SC2154 # owner, dir and gen are set by the scripts that source this
# lvs-cdktf shell library: functions every create script defines and every
# up.sh and down.sh sources from its state directory ($dir/lib.sh). One copy
# per stack in the synthesized configuration (a Terraform local), so each
# host's script carries only what is particular to it.

# --- OS family and packages -------------------------------------------------

lvs_os_family() {
  # shellcheck disable=SC1091
  . /etc/os-release
  case " ${ID:-} ${ID_LIKE:-} " in
    *" debian "*|*" ubuntu "*) echo debian ;;
    *" rhel "*|*" fedora "*|*" centos "*|*" rocky "*|*" almalinux "*) echo rhel ;;
    *) echo "lvs-cdktf: unsupported OS '${ID:-unknown}' (need a Debian or RHEL family host)" >&2; return 1 ;;
  esac
}

lvs_install() {
  case "$(lvs_os_family)" in
    debian)
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } ;;
    rhel)
      if command -v dnf >/dev/null 2>&1; then dnf install -y -q "$@" >/dev/null; else yum install -y -q "$@" >/dev/null; fi ;;
  esac
}

lvs_systemd() { [ -d /run/systemd/system ]; }

# --- Files --------------------------------------------------------------------

# lvs_write PATH MODE < content: the one writer of every file the scripts
# install. The file is replaced only when its content changes, so re-runs
# leave mtimes alone; lvs_changed=1 says it was replaced.
lvs_write() {
  cat > "$1.new"
  chmod "$2" "$1.new"
  if cmp -s "$1.new" "$1"; then rm -f "$1.new"; lvs_changed=; else mv -f "$1.new" "$1"; lvs_changed=1; fi
}

# --- A bundle's life cycle (see bundle.ts) --------------------------------------

# lvs_begin ON_CHANGE: the state directory, and for `teardown` bundles the
# previous generation undone before this one is applied.
lvs_begin() {
  umask 022
  mkdir -p "$dir"
  prev=$(cat "$dir/generation" 2>/dev/null || true)
  if [ "$1" = teardown ] && [ -n "$prev" ] && [ "$prev" != "$gen" ] && [ -f "$dir/down.sh" ]; then
    echo "lvs-cdktf: $owner: undoing generation $prev before applying $gen"
    sh "$dir/down.sh"
  fi
  # What the handover kept was for that teardown only (and none may have run): later ones restore it all.
  rm -f "$dir"/*.keep
}

# lvs_enable UNIT: after the unit file was written; systemd is reloaded only
# when it changed (a reload takes seconds on a busy host).
lvs_enable() {
  if command -v systemctl >/dev/null 2>&1; then
    if lvs_systemd && [ -n "$lvs_changed" ]; then systemctl daemon-reload; fi
    systemctl is-enabled --quiet "$1" 2>/dev/null || systemctl enable --quiet --no-reload "$1"
  else
    echo "lvs-cdktf: $owner: no systemctl here, so this state is not restored at boot" >&2
  fi
  echo "lvs-cdktf: $owner: generation $gen applied"
}

# lvs_remove UNIT_FILE: the destroy step once the generation check passed.
lvs_remove() {
  lvs_handover_release "$dir" 0 ''
  sh "$dir/down.sh"
  lvs_modules_restore
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --no-reload "$(basename "$1")" >/dev/null 2>&1 || true
  fi
  rm -f "$1"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  rm -rf "$dir"
  rmdir "$(dirname "$dir")" 2>/dev/null || true
  echo "lvs-cdktf: $owner: removed"
}

# --- Host settings (host.ts) ------------------------------------------------

# lvs_expect_address DEV FAMILY CIDR: fails the apply before any change.
lvs_expect_address() {
  ip -o addr show dev "$1" 2>/dev/null | grep -qF " $2 $3 " || { echo "lvs-cdktf: expected $3 on $1; configure the interface first" >&2; exit 1; }
}

# lvs_modules_record MODULE...: the kernel modules loaded before the first
# apply, and (added by every generation) the ones these modules may pull in:
# their dependencies, for ip_vs its schedulers and helpers (ip_vs_*), for
# iptables' tables bpfilter.
# Those are what lvs_modules_restore may unload.
lvs_modules_record() {
  if [ ! -f "$dir/modules.orig" ]; then
    lsmod | awk 'NR > 1 { print $1 }' | sort > "$dir/modules.orig.new"
    mv "$dir/modules.orig.new" "$dir/modules.orig"
  fi
  {
    cat "$dir/modules.ours" 2>/dev/null || true
    for m in "$@"; do
      echo "$m"
      modprobe --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { n = split($2, p, "/"); sub(/\.ko(\..*)?$/, "", p[n]); print p[n] }' | tr - _
      if [ "$m" = ip_vs ]; then echo 'ip_vs_*'; fi
      # iptables makes kernels built with bpfilter load it at its first call.
      case "$m" in iptable_*) echo bpfilter ;; esac
    done
  } | sort -u > "$dir/modules.ours.new"
  mv "$dir/modules.ours.new" "$dir/modules.ours"
}

# lvs_module_ours MODULE: whether lvs_modules_record listed it (patterns included).
lvs_module_ours() {
  while read -r pattern; do
    # shellcheck disable=SC2254 # the recorded patterns are globs
    case "$1" in $pattern) return 0 ;; esac
  done < "$dir/modules.ours"
  return 1
}

# lvs_modules_restore: on destroy, unloads what the deploy loaded and nothing
# uses (lsmod's use count 0), dependents first; what was loaded before stays.
# A tunnel module carrying tunnels besides its fallback device (tunl0, gre0),
# or fou with ports open, stays too: unloading it would delete them.
lvs_modules_restore() {
  [ -f "$dir/modules.orig" ] || return 0
  rounds=0
  while [ "$rounds" -lt 8 ]; do
    removed=
    for m in $(lsmod | awk 'NR > 1 && $3 == 0 { print $1 }' | sort | comm -23 - "$dir/modules.orig"); do
      lvs_module_ours "$m" || continue
      if [ "$m" = ipip ] && ip -o link show type ipip 2>/dev/null | grep -qv ': tunl0[@:]'; then continue; fi
      if [ "$m" = ip_gre ] && ip -o link show type gre 2>/dev/null | grep -qv ': gre0[@:]'; then continue; fi
      if [ "$m" = fou ] && [ -n "$(ip fou show 2>/dev/null)" ]; then continue; fi
      if rmmod "$m" 2>/dev/null; then removed=1; echo "lvs-cdktf: $owner: unloaded $m"; fi
    done
    [ -n "$removed" ] || break
    rounds=$((rounds + 1))
  done
  rm -f "$dir/modules.orig" "$dir/modules.ours"
}

# lvs_sysctl_record KEY...: each key's value before the first apply that
# set it, for down (a key a teardown kept is recorded already).
lvs_sysctl_record() {
  touch "$dir/sysctl.orig"
  printf '%s\n' "$@" | while read -r key; do
    awk -F= -v k="$key" '$1 == k { f = 1 } END { exit !f }' "$dir/sysctl.orig" || printf '%s=%s\n' "$key" "$(sysctl -n "$key")" >> "$dir/sysctl.orig"
  done
}

# lvs_sysctl_keep KEY...: a handover. The next generation sets these keys
# too: the teardown leaves their values (and the record of those before) to
# it, instead of putting them back for a moment (a NAT director's
# ip_forward, a DR server's ARP settings).
lvs_sysctl_keep() {
  if [ -f "$dir/sysctl.orig" ]; then printf '%s\n' "$@" > "$dir/sysctl.keep"; fi
}

# lvs_sysctl_restore DROP_IN
lvs_sysctl_restore() {
  rm -f "$1"
  if [ -f "$dir/sysctl.orig" ]; then
    touch "$dir/sysctl.keep"
    while IFS='=' read -r key value; do
      if grep -qxF "$key" "$dir/sysctl.keep"; then printf '%s=%s\n' "$key" "$value"; else sysctl -q -w "$key=$value" >&2 || true; fi
    done < "$dir/sysctl.orig" > "$dir/sysctl.kept"
    rm -f "$dir/sysctl.orig"
    if [ -s "$dir/sysctl.kept" ]; then mv "$dir/sysctl.kept" "$dir/sysctl.orig"; else rm -f "$dir/sysctl.kept"; fi
  fi
}

# lvs_conn_reuse_auto [LATER]: conn_reuse_mode 0 on kernels before 5.9, where 1
# drops the SYN of a reused client port for a second; later kernels take LATER,
# or keep theirs without it.
lvs_conn_reuse_auto() {
  if [ "$(uname -r | awk -F. '{ print ($1 * 1000 + $2 < 5009) }')" = 1 ]; then
    sysctl -q -w net.ipv4.vs.conn_reuse_mode=0
  elif [ -n "${1:-}" ]; then
    sysctl -q -w "net.ipv4.vs.conn_reuse_mode=$1"
  fi
}

# lvs_module_param_check MODULE PARAM VALUE: says when a loaded module runs with another value.
lvs_module_param_check() {
  cur=$(cat "/sys/module/$1/parameters/$2" 2>/dev/null || true)
  if [ -n "$cur" ] && [ "$cur" != "$3" ]; then
    echo "lvs-cdktf: $owner: $1 is loaded with $2=$cur; $2=$3 applies when it is next loaded (at boot)" >&2
  fi
}

# lvs_ipvs_timeouts_record: `ipvsadm --set` values (tcp tcpfin udp) before the first apply.
lvs_ipvs_timeouts_record() {
  if [ ! -f "$dir/timeouts.orig" ]; then
    ipvsadm -L --timeout | awk '/^Timeout/ { print $(NF - 2), $(NF - 1), $NF }' > "$dir/timeouts.orig.new"
    mv "$dir/timeouts.orig.new" "$dir/timeouts.orig"
  fi
}

# lvs_ipvs_timeouts_restore
lvs_ipvs_timeouts_restore() {
  if [ -f "$dir/timeouts.orig" ]; then
    read -r tcp fin udp < "$dir/timeouts.orig"
    ipvsadm --set "$tcp" "$fin" "$udp" || true
    rm -f "$dir/timeouts.orig"
  fi
}

# lvs_link_record DEV: whether the link was up before the first apply.
lvs_link_record() {
  [ -f "$dir/link-$1" ] || { if ip -o link show dev "$1" | grep -q '[<,]UP[,>]'; then echo keep; else echo ours; fi > "$dir/link-$1"; }
}

# lvs_keep RECORD: a handover (see lvs_begin). The next generation sets up
# what RECORD records again: its restore leaves it, and the record of how it
# was before the first apply, to that generation instead of undoing it for a moment.
lvs_keep() {
  if [ -f "$1" ]; then touch "$1.keep"; fi
}

# lvs_kept RECORD: whether a handover (lvs_keep) leaves RECORD to the next generation.
lvs_kept() { [ -f "$1.keep" ]; }

# lvs_link_keep DEV: a handover (lvs_keep); a TUN server's tunl0 stays up.
lvs_link_keep() { lvs_keep "$dir/link-$1"; }

# lvs_link_restore DEV
lvs_link_restore() {
  ! lvs_kept "$dir/link-$1" || return 0
  if [ "$(cat "$dir/link-$1" 2>/dev/null)" = ours ]; then ip link set dev "$1" down || true; fi
  rm -f "$dir/link-$1"
}

# lvs_fou_record PORT: whether a fou (GUE) port was there before the first apply.
lvs_fou_record() {
  [ -f "$dir/fou-$1" ] || { if lvs_has_fou "$1"; then echo keep; else echo ours; fi > "$dir/fou-$1"; }
}

lvs_has_fou() {
  ip fou show 2>/dev/null | grep -q "^port $1 gue"
}

# lvs_fou_up PORT
lvs_fou_up() {
  lvs_has_fou "$1" || ip fou add port "$1" gue
}

# lvs_fou_keep PORT: a handover (lvs_keep); GUE still decapsulates meanwhile.
lvs_fou_keep() { lvs_keep "$dir/fou-$1"; }

# lvs_fou_restore PORT
lvs_fou_restore() {
  ! lvs_kept "$dir/fou-$1" || return 0
  if [ "$(cat "$dir/fou-$1" 2>/dev/null)" = ours ] && lvs_has_fou "$1"; then ip fou del port "$1"; fi
  rm -f "$dir/fou-$1"
}

# lvs_has_address DEV FAMILY CIDR
lvs_has_address() {
  ip -o addr show dev "$1" | grep -qF " $2 $3 "
}

# lvs_address_file DEV CIDR: where lvs_address_record keeps its answer.
lvs_address_file() {
  echo "$dir/addr-$1-$(echo "$2" | tr '/:' '__')"
}

# lvs_address_record DEV FAMILY CIDR: whether the address was there before.
lvs_address_record() {
  rec=$(lvs_address_file "$1" "$3")
  [ -f "$rec" ] || { if lvs_has_address "$1" "$2" "$3"; then echo keep; else echo ours; fi > "$rec"; }
}

# lvs_address_up DEV FAMILY CIDR [LABEL]
# An IPv6 VIP is added deprecated (preferred_lft 0): it still takes traffic, but
# the kernel never picks it as a source address. Otherwise a director may
# send IPv6-in-IPv6 from the VIP, which a TUN server holding the VIP refuses
# (ip6_tunnel drops packets whose outer source is local). No DAD: the real
# servers hold the VIP too, on interfaces that do not answer for it.
lvs_address_up() {
  if lvs_has_address "$1" "$2" "$3"; then return 0; fi
  if [ "$2" = inet6 ]; then ip addr add "$3" dev "$1" nodad preferred_lft 0
  elif [ -n "${4:-}" ]; then ip addr add "$3" dev "$1" label "$4"
  else ip addr add "$3" dev "$1"; fi
}

# lvs_address_keep DEV CIDR: a handover (lvs_keep). The VIP stays: a DR or
# TUN server would drop its packets meanwhile, a director its clients.
lvs_address_keep() { lvs_keep "$(lvs_address_file "$1" "$2")"; }

# lvs_address_restore DEV FAMILY CIDR: removes the address only if it was ours.
lvs_address_restore() {
  rec=$(lvs_address_file "$1" "$3")
  ! lvs_kept "$rec" || return 0
  if [ "$(cat "$rec" 2>/dev/null)" = ours ] && lvs_has_address "$1" "$2" "$3"; then ip addr del "$3" dev "$1"; fi
  rm -f "$rec"
}

# lvs_arping_install: iputils' arping, for lvs_announce.
lvs_arping_install() {
  command -v arping >/dev/null 2>&1 && return 0
  if [ "$(lvs_os_family)" = debian ]; then lvs_install iputils-arping; else lvs_install iputils; fi
}

# lvs_announce DEV ADDRESS...: one gratuitous ARP per address on DEV, all at
# once (arping waits a second after it sends). Neighbours update an entry they
# hold; they create none. Another arping than iputils' takes other options.
lvs_announce() {
  ann_dev=$1
  shift
  if ! arping -V 2>&1 | grep -q iputils; then
    echo "lvs-cdktf: $(hostname): no arping from iputils, so $* not announced on $ann_dev; neighbours that cached another host for them catch up when their entry expires" >&2
    return 0
  fi
  for a in "$@"; do arping -q -U -c 1 -I "$ann_dev" "$a" || true & done
  wait
}

# lvs_default_route_record FAMILY ("-4" or "-6"): the default routes before the first apply.
lvs_default_route_record() {
  rec=$(lvs_default_route_file "$1")
  if [ ! -f "$rec" ]; then
    ip "$1" route show default > "$rec.new"
    mv "$rec.new" "$rec"
  fi
}

# One record per family; the IPv4 one keeps the name it had before dual stack.
lvs_default_route_file() {
  if [ "$1" = -6 ]; then echo "$dir/default-route-6.orig"; else echo "$dir/default-route.orig"; fi
}

# lvs_default_route_keep FAMILY: a handover. The next generation routes
# through a gateway too, and replaces the default route in one step: the
# teardown leaves the route (and the record of the one before) to it, so that
# replies never go without a route meanwhile.
lvs_default_route_keep() { lvs_keep "$(lvs_default_route_file "$1")"; }

# lvs_default_route_restore FAMILY GATEWAY DEV
lvs_default_route_restore() {
  rec=$(lvs_default_route_file "$1")
  ! lvs_kept "$rec" || return 0
  ip "$1" route del default via "$2" dev "$3" 2>/dev/null || true
  if [ -f "$rec" ]; then
    # shellcheck disable=SC2086 # each recorded line is an `ip route` argument list
    while read -r route; do [ -z "$route" ] || ip "$1" route replace $route || true; done < "$rec"
    rm -f "$rec"
  fi
}

# lvs_web_service KIND: sets svc and docroot, the service and page directory of nginx or httpd here.
lvs_web_service() {
  if [ "$1" = nginx ]; then
    svc=nginx
    if [ "$(lvs_os_family)" = debian ]; then docroot=/var/www/html; else docroot=/usr/share/nginx/html; fi
  else
    if [ "$(lvs_os_family)" = debian ]; then svc=apache2; else svc=httpd; fi
    docroot=/var/www/html
  fi
}

# lvs_web_server_keep KIND: a handover. When the generation being replaced
# serves the same web server, its teardown leaves it serving (and recorded)
# for this one, instead of putting the old page back and stopping it.
lvs_web_server_keep() {
  lvs_web_service "$1"
  if [ -f "$dir/web.recorded" ] && [ "$(cat "$dir/web.service")" = "$svc" ]; then touch "$dir/web.keep"; fi
}

# lvs_web_server KIND PAGE: installs and starts nginx or httpd (apache2 on
# Debian) serving PAGE, recording first what lvs_web_server_restore puts back.
lvs_web_server() {
  lvs_web_service "$1"
  command -v "$svc" >/dev/null 2>&1 || lvs_install "$svc"
  if [ ! -f "$dir/web.recorded" ]; then
    echo "$svc" > "$dir/web.service"
    echo "$docroot" > "$dir/web.docroot"
    if [ -f "$docroot/index.html" ]; then cp -p "$docroot/index.html" "$dir/web.index.orig"; fi
    if lvs_systemd; then
      systemctl is-enabled --quiet "$svc" 2>/dev/null || touch "$dir/web.was-disabled"
      # The state word (inactive, failed) so that destroy can tell a failure of its own stop.
      st=$(systemctl is-active "$svc" 2>/dev/null || true)
      [ "$st" = active ] || echo "$st" > "$dir/web.was-stopped"
    else
      service "$svc" status >/dev/null 2>&1 || touch "$dir/web.was-stopped"
    fi
    touch "$dir/web.recorded"
  fi
  mkdir -p "$docroot"
  # Replaced whole: a request meanwhile gets the old page or the new one, never an empty one.
  printf '%s\n' "$2" | lvs_write "$docroot/index.html" 0644
  # is-enabled/is-active first: enable reloads systemd (seconds on a busy host) even when nothing changes.
  if lvs_systemd; then
    systemctl is-enabled --quiet "$svc" 2>/dev/null || systemctl enable --quiet --no-reload "$svc"
    systemctl is-active --quiet "$svc" || systemctl start "$svc"
  else
    service "$svc" start >/dev/null
  fi
}

# lvs_web_server_restore: the page, and the service's enabled and running state, as recorded.
lvs_web_server_restore() {
  if [ -f "$dir/web.keep" ]; then return 0; fi
  if [ -f "$dir/web.recorded" ]; then
    svc=$(cat "$dir/web.service"); docroot=$(cat "$dir/web.docroot")
    if [ -f "$dir/web.index.orig" ]; then cp -p "$dir/web.index.orig" "$docroot/index.html"; else rm -f "$docroot/index.html"; fi
    if [ -d /run/systemd/system ]; then
      if [ -f "$dir/web.was-disabled" ]; then systemctl disable --quiet --no-reload "$svc" || true; fi
      if [ -f "$dir/web.was-stopped" ]; then
        systemctl stop "$svc" || true
        # A server that exits non-zero on its stop leaves the unit failed, which it was not before.
        if [ "$(cat "$dir/web.was-stopped")" != failed ] && [ "$(systemctl is-active "$svc" 2>/dev/null || true)" = failed ]; then
          echo "lvs-cdktf: $svc failed on its stop (journalctl -u $svc); clearing its failed state, which it did not have before" >&2
          systemctl reset-failed "$svc" || true
        fi
      fi
    elif [ -f "$dir/web.was-stopped" ]; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
    rm -f "$dir"/web.*
  fi
}

# --- The IPVS table (ipvs.ts) -----------------------------------------------
# A service selector is passed as one word ("-t 1.2.3.4:80") and split
# deliberately into ipvsadm's two arguments; every value in it was validated
# as an address, port or number before rendering.

lvs_rules_file() {
  if [ "$(lvs_os_family)" = debian ]; then echo /etc/ipvsadm.rules; else echo /etc/sysconfig/ipvsadm; fi
}

# Real servers of one live service: "<address:port> <forwarding flag>" per line.
lvs_live_reals() {
  ipvsadm -S -n | awk -v sel="$1" '$1 == "-a" && ($2 " " $3) == sel { for (i = 4; i <= NF; i++) if ($i == "-r") print $(i + 1), $(i + 2) }'
}

lvs_has_real() {
  lvs_live_reals "$1" | awk -v rs="$2" '$1 == rs { found = 1 } END { exit !found }'
}

# The connections a drain waits for: ActiveConn, and for UDP, which has no
# established state, InActConn too (its flows, until they time out).
# shellcheck disable=SC2086
lvs_active_conns() {
  case "$1" in -u*) udp=1 ;; *) udp=0 ;; esac
  ipvsadm -L -n $1 2>/dev/null | awk -v rs="$2" -v udp="$udp" '$1 == "->" && $2 == rs { print $5 + udp * $6 }'
}

# Sets weight 0 on the listed real servers ("<selector>|<rs>|<fwd>" per line)
# and waits up to $drain_seconds (set by the caller) for their active connections to end.
# shellcheck disable=SC2086
lvs_drain() {
  list=$(printf '%s\n' "$1" | grep . || true)
  [ -n "$list" ] || return 0
  printf '%s\n' "$list" | while IFS='|' read -r sel rs fwd; do
    echo "lvs-cdktf: draining $rs from $sel"
    ipvsadm -e $sel -r "$rs" $fwd -w 0
  done
  waited=0
  while [ "$waited" -lt "$drain_seconds" ]; do
    busy=$(printf '%s\n' "$list" | while IFS='|' read -r sel rs fwd; do lvs_active_conns "$sel" "$rs"; done | awk '{ n += $1 } END { print n + 0 }')
    [ "$busy" -gt 0 ] || break
    sleep 1
    waited=$((waited + 1))
  done
}

# Drains the listed real servers (as lvs_drain takes them), then deletes them.
# shellcheck disable=SC2086
lvs_drain_and_delete() {
  lvs_drain "$1"
  printf '%s\n' "$1" | grep . | while IFS='|' read -r sel rs fwd; do
    ipvsadm -d $sel -r "$rs" 2>/dev/null || true
  done
}

# The live real servers of the listed services (one selector per line), as lvs_drain takes them.
lvs_reals_of() {
  printf '%s\n' "$1" | grep . | while read -r sel; do
    lvs_live_reals "$sel" | while read -r rs fwd; do printf '%s|%s|%s\n' "$sel" "$rs" "$fwd"; done
  done
}

# lvs_stale_reals SERVICES RULES: live real servers of SERVICES that RULES
# (ipvsadm arguments, one entry per line) no longer declare, as lvs_drain takes them.
lvs_stale_reals() {
  lvs_reals_of "$1" | while IFS='|' read -r sel rs fwd; do
    printf '%s\n' "$2" | grep -qF -- "-a $sel -r $rs " || printf '%s|%s|%s\n' "$sel" "$rs" "$fwd"
  done
}

# Drains and deletes whole services (one selector per line).
# shellcheck disable=SC2086
lvs_delete_services() {
  [ -n "$1" ] || return 0
  lvs_drain_and_delete "$(lvs_reals_of "$1")"
  printf '%s\n' "$1" | while read -r sel; do
    echo "lvs-cdktf: deleting service $sel"
    ipvsadm -D $sel 2>/dev/null || true
  done
}

# lvs_table_rules: the live table but keepalived's services (listed in
# $dir/services.keepalived), which keepalived itself restores at boot.
lvs_table_rules() {
  touch "$dir/services.keepalived"
  ipvsadm-save -n | awk 'NR == FNR { k[$0] = 1; next } !(($2 " " $3) in k)' "$dir/services.keepalived" -
}

# Keeps the distribution's saved rules in step with the table this step owns.
lvs_save_rules() {
  file=$(lvs_rules_file)
  mkdir -p "$(dirname "$file")"
  lvs_table_rules > "$file.new"
  mv -f "$file.new" "$file"
}

# lvs_table_record: the distribution's rules file before the first apply.
lvs_table_record() {
  if [ ! -f "$dir/rules.recorded" ]; then
    file=$(lvs_rules_file)
    if [ -f "$file" ]; then cp -p "$file" "$dir/rules.orig"; fi
    touch "$dir/rules.recorded"
  fi
}

# lvs_table_up OWNS_WHOLE_TABLE DRAIN_SECONDS DESIRED_SERVICES DESIRED_RULES KEEPALIVED_SERVICES:
# converges the live table without flushing a service that stays. Services
# this stack owned before (or, owning the whole table, any live one) that it
# no longer declares are drained and deleted, except those keepalived owns
# now; declared services are edited in place when present (-E keeps
# connections and counters), added otherwise; real servers no longer
# declared are drained, then deleted; the others edited or added.
lvs_table_up() {
  whole=$1 drain_seconds=$2
  shift
  printf '%s\n' "$2" > "$dir/services.desired"
  printf '%s\n' "$4" > "$dir/services.keepalived"
  if [ "$whole" = yes ]; then
    previous=$(ipvsadm -S -n | awk '$1 == "-A" { print $2, $3 }')
  else
    previous=$(cat "$dir/services" 2>/dev/null || true)
  fi
  gone=$(printf '%s\n' "$previous" | grep -vxF -f "$dir/services.desired" | grep -vxF -f "$dir/services.keepalived" | grep . || true)
  lvs_delete_services "$gone"
  # shellcheck disable=SC2086 # $rest holds validated ipvsadm options
  printf '%s\n' "$3" | while read -r op proto addr rest; do
    [ "$op" = -A ] || continue
    if ipvsadm -L -n "$proto" "$addr" >/dev/null 2>&1; then ipvsadm -E "$proto" "$addr" $rest; else ipvsadm -A "$proto" "$addr" $rest; fi
  done
  lvs_drain_and_delete "$(lvs_stale_reals "$2" "$3")"
  # shellcheck disable=SC2086
  printf '%s\n' "$3" | while read -r op proto addr _ rs rest; do
    [ "$op" = -a ] || continue
    if lvs_has_real "$proto $addr" "$rs"; then ipvsadm -e "$proto" "$addr" -r "$rs" $rest; else ipvsadm -a "$proto" "$addr" -r "$rs" $rest; fi
  done
  mv -f "$dir/services.desired" "$dir/services"
  lvs_save_rules
}

# lvs_table_down OWNS_WHOLE_TABLE DRAIN_SECONDS: deletes this stack's services (after
# draining), owning the whole table every other one but keepalived's, and puts the rules file back.
# shellcheck disable=SC2086
lvs_table_down() {
  drain_seconds=$2
  if [ -f "$dir/services" ]; then lvs_delete_services "$(cat "$dir/services")"; fi
  if [ "$1" = yes ]; then
    touch "$dir/services.keepalived"
    ipvsadm -S -n | awk '$1 == "-A" { print $2, $3 }' | grep -vxF -f "$dir/services.keepalived" | while read -r sel; do ipvsadm -D $sel || true; done
  fi
  rm -f "$dir/services" "$dir/services.desired"
  file=$(lvs_rules_file)
  if [ -n "$(lvs_table_rules)" ]; then
    lvs_save_rules
  elif [ -f "$dir/rules.orig" ]; then
    cp -p "$dir/rules.orig" "$file"
  else
    rm -f "$file"
  fi
  rm -f "$dir/rules.orig" "$dir/rules.recorded" "$dir/services.keepalived"
}

# --- keepalived (keepalived.ts) ------------------------------------------------
# keepalived owns the entries of the health-checked services: it adds a real
# server while its check passes and deletes it (or sets weight 0) while it
# fails. It reads one configuration per host, loaded by reload (a restart or
# stop deletes every service in it).

lvs_keepalived_conf=/etc/keepalived/keepalived.conf

lvs_keepalived_running() {
  if lvs_systemd; then systemctl is-active --quiet keepalived; else pidof keepalived >/dev/null 2>&1; fi
}

# lvs_keepalived_ctl start|stop|reload
lvs_keepalived_ctl() {
  if lvs_systemd; then systemctl "$1" keepalived; else service keepalived "$1" >/dev/null; fi
}

# lvs_keepalived_record: installs keepalived; before the first apply records
# its configuration file and whether it was enabled. A keepalived already
# running has a configuration of its own, which this one would replace.
lvs_keepalived_record() {
  command -v keepalived >/dev/null 2>&1 || lvs_install keepalived
  [ ! -f "$dir/keepalived.recorded" ] || return 0
  if lvs_keepalived_running; then
    echo "lvs-cdktf: $owner: keepalived already runs on this host with a configuration of its own; a host has one, so declare its services in the code or stop it first" >&2
    exit 1
  fi
  if [ -f "$lvs_keepalived_conf" ]; then cp -p "$lvs_keepalived_conf" "$dir/keepalived.conf.orig"; fi
  if lvs_systemd; then systemctl is-enabled --quiet keepalived 2>/dev/null || touch "$dir/keepalived.was-disabled"; fi
  touch "$dir/keepalived.recorded"
}

# lvs_keepalived_up DRAIN_SECONDS SERVICES RULES CONF TABLE_SERVICES: CONF
# replaces keepalived's configuration only once `keepalived -t` passed it on
# this host; real servers and services it drops are drained first (weight 0,
# then up to DRAIN_SECONDS for their connections), since keepalived deletes
# them at once. A service that leaves for the table step (TABLE_SERVICES) is
# not drained.
lvs_keepalived_up() {
  drain_seconds=$1
  mkdir -p "$(dirname "$lvs_keepalived_conf")"
  printf '%s\n' "$4" > "$dir/keepalived.conf.new"
  # Any error or warning makes -t exit non-zero (on 2.2.7 one higher than its man page says).
  if ! err=$(keepalived -t -f "$dir/keepalived.conf.new" 2>&1); then
    rm -f "$dir/keepalived.conf.new"
    echo "lvs-cdktf: keepalived on $(hostname) refuses the new configuration, so the running one stays: $(printf '%s' "$err" | tr '\n' ' ')" >&2
    exit 1
  fi
  printf '%s\n' "$2" > "$dir/keepalived.services.desired"
  printf '%s\n' "$5" > "$dir/keepalived.services.table"
  gone=$(grep -vxF -f "$dir/keepalived.services.desired" "$dir/keepalived.services" 2>/dev/null | grep -vxF -f "$dir/keepalived.services.table" | grep . || true)
  # The weight is keepalived's again at the reload; a check changing state meanwhile may restore it early.
  dropped=$(lvs_reals_of "$gone"; lvs_stale_reals "$2" "$3")
  lvs_drain "$dropped"
  lvs_write "$lvs_keepalived_conf" 0644 < "$dir/keepalived.conf.new"
  rm -f "$dir/keepalived.conf.new"
  if ! lvs_keepalived_running; then lvs_keepalived_ctl start
  elif [ -n "$lvs_changed" ]; then lvs_keepalived_ctl reload; fi
  if lvs_systemd; then systemctl is-enabled --quiet keepalived || systemctl enable --quiet --no-reload keepalived; fi
  lvs_keepalived_wait "$2" "$dropped"
  mv -f "$dir/keepalived.services.desired" "$dir/keepalived.services"
  rm -f "$dir/keepalived.services.table"
}

# lvs_keepalived_wait SERVICES DROPPED: a reload is asynchronous; waits until
# keepalived has every service and none of the dropped real servers.
lvs_keepalived_wait() {
  waited=0
  while :; do
    # shellcheck disable=SC2086
    missing=$(printf '%s\n' "$1" | grep . | while read -r sel; do ipvsadm -L -n $sel >/dev/null 2>&1 || echo "$sel"; done)
    left=$(printf '%s\n' "$2" | grep . | while IFS='|' read -r sel rs _; do if lvs_has_real "$sel" "$rs"; then echo "$rs"; fi; done)
    [ -n "$missing$left" ] || return 0
    if [ "$waited" -ge 30 ]; then
      echo "lvs-cdktf: keepalived on $(hostname) has not loaded its configuration after 30 s (missing: $missing; not removed: $left); see journalctl -u keepalived" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# lvs_keepalived_down DRAIN_SECONDS TABLE_DIR: drains keepalived's services,
# stops it (which deletes them) and puts its configuration and enabled state
# back. Services the table step (its state in TABLE_DIR) took over are not
# drained, and its up.sh puts them back once keepalived deleted them.
lvs_keepalived_down() {
  [ -f "$dir/keepalived.recorded" ] || return 0
  drain_seconds=$1
  table=$(cat "$2/services" 2>/dev/null || true)
  lvs_drain "$(lvs_reals_of "$(grep -vxF -e "$table" "$dir/keepalived.services" 2>/dev/null || true)")"
  if lvs_keepalived_running; then lvs_keepalived_ctl stop; fi
  if [ -n "$table" ] && [ -f "$2/up.sh" ]; then sh "$2/up.sh"; fi
  if [ -f "$dir/keepalived.conf.orig" ]; then cp -p "$dir/keepalived.conf.orig" "$lvs_keepalived_conf"; else rm -f "$lvs_keepalived_conf"; fi
  if [ -f "$dir/keepalived.was-disabled" ] && lvs_systemd; then systemctl disable --quiet --no-reload keepalived || true; fi
  rm -f "$dir"/keepalived.*
}

# --- A director's VIPs handed to keepalived ----------------------------------
# keepalived deletes an instance's addresses when the instance starts (as
# backup, even addresses it did not add) and adds them once VRRP makes it
# master, three advertisement intervals later. A VIP the director's Host step
# held until now (a single director joining a pair) stays local meanwhile as
# a copy on lo, which keepalived does not know; the director still answers
# ARP for it on its LAN. The Keepalived step drops the copy once keepalived
# holds the VIP.

# lvs_handover FAMILY CIDR DEV: before the Host step's teardown deletes the
# VIP from DEV, which only a generation that brought it up does (a single
# director's); one that keepalived already holds stays as it is.
lvs_handover() {
  mkdir -p "$dir"
  if [ "$(cat "$(lvs_address_file "$3" "$2")" 2>/dev/null)" = ours ] && lvs_has_address "$3" "$1" "$2" && ! lvs_has_address lo "$1" "$2"; then
    ip addr add "$2" dev lo
    echo "$1 $2" >> "$dir/handover"
  fi
}

# lvs_handover_gateway CIDR: after the VIPs' lvs_handover. A director that
# was serving (it handed over a VIP) answers for the NAT pair's floating
# gateway too, from a copy on lo, until keepalived holds it: its real
# servers move their default route to that address before keepalived starts.
lvs_handover_gateway() {
  [ -s "$dir/handover" ] || return 0
  if ! lvs_has_address lo inet "$1"; then
    ip addr add "$1" dev lo
    echo "inet $1" >> "$dir/handover"
  fi
}

# lvs_handover_release HOST_DIR SECONDS VRRP_ADDRESSES: waits up to SECONDS
# for this host to hold every VRRP address ("FAMILY CIDR DEV" lines), then removes
# the copies on lo. Without a copy it returns at once.
lvs_handover_release() {
  [ -s "$1/handover" ] || return 0
  waited=0 missing=
  while [ "$waited" -lt "$2" ]; do
    missing=$(printf '%s\n' "$3" | while read -r fam cidr dev; do [ -z "$cidr" ] || lvs_has_address "$dev" "$fam" "$cidr" || printf '%s ' "$cidr"; done)
    [ -n "$missing" ] || break
    sleep 1
    waited=$((waited + 1))
  done
  if [ -n "$missing" ]; then echo "lvs-cdktf: $(hostname): keepalived holds not ${missing% } after $2 s (its peer is master?); the VIP copies on lo go now" >&2; fi
  while read -r fam cidr; do
    if lvs_has_address lo "$fam" "$cidr"; then ip addr del "$cidr" dev lo; fi
  done < "$1/handover"
  rm -f "$1/handover"
}

# --- Chains of our own in the mangle table -----------------------------------
# A director's marking rules (ipvs.ts markRuleArgs, from PREROUTING) and a TUN
# server's MSS clamps (from OUTPUT) live in a chain of the owner's own, one of
# two (NAME-a, NAME-b): a change fills the other one and moves the jump, so no
# packet passes unmatched meanwhile. CMD is iptables or ip6tables.

# lvs_chain_current CMD HOOK NAME: the chain HOOK jumps to now, if any.
lvs_chain_current() {
  "$1" -w -t mangle -S "$2" 2>/dev/null | awk -v a="$3-a" -v b="$3-b" '$1 == "-A" && ($NF == a || $NF == b) { print $NF; exit }'
}

# lvs_chain_drop CMD HOOK CHAIN
lvs_chain_drop() {
  while "$1" -w -t mangle -D "$2" -j "$3" 2>/dev/null; do :; done
  "$1" -w -t mangle -F "$3" 2>/dev/null || true
  "$1" -w -t mangle -X "$3" 2>/dev/null || true
}

# lvs_chain_up CMD HOOK NAME RULES: RULES are iptables arguments, one rule per
# line. Unchanged rules in a live chain are left alone.
lvs_chain_up() {
  command -v "$1" >/dev/null 2>&1 || lvs_install iptables
  rec="$dir/chain-$1-$3"
  cur=$(lvs_chain_current "$1" "$2" "$3")
  if [ -n "$cur" ] && [ "$(cat "$rec" 2>/dev/null)" = "$4" ]; then return 0; fi
  if [ "$cur" = "$3-a" ]; then new="$3-b"; else new="$3-a"; fi
  lvs_chain_drop "$1" "$2" "$new"
  "$1" -w -t mangle -N "$new"
  printf '%s\n' "$4" | while read -r rule; do
    # shellcheck disable=SC2086 # each line holds validated iptables arguments
    [ -z "$rule" ] || "$1" -w -t mangle -A "$new" $rule
  done
  "$1" -w -t mangle -I "$2" 1 -j "$new"
  if [ -n "$cur" ]; then lvs_chain_drop "$1" "$2" "$cur"; fi
  printf '%s\n' "$4" > "$rec"
}

# lvs_chain_down CMD HOOK NAME: removes both chains and their jumps.
lvs_chain_down() {
  rm -f "$dir/chain-$1-$3"
  command -v "$1" >/dev/null 2>&1 || return 0
  # The mangle table's module (iptable_mangle, ip6table_mangle) is loaded only when a chain can be there: the command would load it.
  lsmod | awk -v m="${1%tables}table_mangle" '$1 == m || $1 == "nft_compat" { f = 1 } END { exit !f }' || return 0
  lvs_chain_drop "$1" "$2" "$3-a"
  lvs_chain_drop "$1" "$2" "$3-b"
}

# lvs_mtu_less DEV BYTES: the interface's MTU less BYTES (an MSS for a tunnel's overhead).
lvs_mtu_less() {
  echo $(($(cat "/sys/class/net/$1/mtu") - $2))
}
