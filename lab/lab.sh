#!/bin/bash
# LVS test lab: user-mode-linux guests running a real Linux 6.1 kernel with
# IPVS, hosting one systemd-nspawn container per lab host. See lab/README.md.
#   lab.sh up | down | status | shell HOST | exec HOST CMD... |
#          reboot HOST | reset [HOST...] | unplug HOST | plug HOST |
#          link HOST IFACE up|down |
#          logs HOST | guest N CMD
set -eu

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=$LAB/.state
CACHE=${LAB_CACHE:-/var/cache/lvs-cdktf-lab}
NS=lvslab            # machine-side network namespace: bridge + one tap per guest
BR=lvsbr0
MACHINE_ADDR=10.254.0.1/24
CTL_BASE_PORT=2200   # guest N's control sshd: 127.0.0.1:2200+N -> 10.254.0.(2+N)
UML_MEM=${LAB_UML_MEM:-1024M}
APT_PACKAGES=(user-mode-linux mmdebstrap socat openssh-client iproute2 util-linux procps gcc libc6-dev)

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# ---------------------------------------------------------------- topology
# The topology file: LAB_TOPOLOGY at `up` (default topology.conf); later
# commands use the one the running lab was started with.
topology_file() {
  if [ "${USE_STATE_PLACEMENT:-1}" = 1 ] && [ -s "$S/topology" ]; then cat "$S/topology"; else echo "${LAB_TOPOLOGY:-$LAB/topology.conf}"; fi
}
# Fills HOSTS (names) and per-host associative arrays from the topology file.
declare -a HOSTS=()
declare -A PORT=() MGMT=() IFACES=() IDX=() GUEST=()
NGUESTS=1
load_topology() {
  [ ${#HOSTS[@]} -eq 0 ] || return 0
  local name port mgmt rest n=0 file
  file=$(topology_file)
  [ -r "$file" ] || die "cannot read topology $file"
  while read -r name port mgmt rest; do
    case $name in '' | '#'*) continue ;; esac
    n=$((n + 1))
    HOSTS+=("$name")
    PORT[$name]=$port
    MGMT[$name]=$mgmt
    IFACES[$name]=$rest
    IDX[$name]=$n
  done < "$file"
  [ ${#HOSTS[@]} -gt 0 ] || die "no hosts in $file"
  assign_guests
  # Except for `up`, the placement of the running lab wins (LAB_GUESTS may differ).
  if [ "${USE_STATE_PLACEMENT:-1}" = 1 ] && [ -e "$S/guest.conf" ]; then
    local g
    while read -r name _ g _; do
      [ -n "${PORT[$name]:-}" ] && GUEST[$name]=$g
    done < "$S/guest.conf"
  fi
}

# Hosts that share a LAN must live in the same UML guest (LAN = bridge in a
# guest). Connected groups are spread over LAB_GUESTS guests (default: CPUs + 1,
# max 4: UML has one virtual CPU per guest), biggest group first onto the least loaded guest.
assign_guests() {
  local want h spec lan other changed=1 g best c
  local -A comp=() size=() load=() lanof=() cg=()
  want=${LAB_GUESTS:-$(($(nproc) + 1))}
  [ "$want" -ge 1 ] 2>/dev/null || want=1
  [ "$want" -le 4 ] || want=4
  for h in "${HOSTS[@]}"; do comp[$h]=$h; done
  # Label propagation over shared LANs until stable (tiny graphs): every host
  # takes the smallest label seen on any of its LANs.
  while [ $changed = 1 ]; do
    changed=0
    for h in "${HOSTS[@]}"; do
      for spec in ${IFACES[$h]}; do
        lan=${spec#*,}; lan=${lan%%,*}
        other=${lanof[$lan]:-}
        if [ -z "$other" ] || [[ ${comp[$h]} < $other ]]; then lanof[$lan]=${comp[$h]}; fi
      done
    done
    for h in "${HOSTS[@]}"; do
      for spec in ${IFACES[$h]}; do
        lan=${spec#*,}; lan=${lan%%,*}
        other=${lanof[$lan]}
        if [[ $other < ${comp[$h]} ]]; then comp[$h]=$other; changed=1; fi
      done
    done
  done
  for h in "${HOSTS[@]}"; do size[${comp[$h]}]=$((${size[${comp[$h]}]:-0} + 1)); done
  for g in $(seq 0 $((want - 1))); do load[$g]=0; done
  for c in $(for k in "${!size[@]}"; do echo "${size[$k]} $k"; done | sort -k1,1nr -k2 | cut -d' ' -f2); do
    best=0
    for g in $(seq 0 $((want - 1))); do [ "${load[$g]}" -lt "${load[$best]}" ] && best=$g; done
    cg[$c]=$best
    load[$best]=$((${load[$best]} + ${size[$c]}))
  done
  NGUESTS=0
  for g in $(seq 0 $((want - 1))); do [ "${load[$g]}" -gt 0 ] && NGUESTS=$((g + 1)); done
  for h in "${HOSTS[@]}"; do GUEST[$h]=${cg[${comp[$h]}]}; done
}
known_host() { [ -n "${PORT[$1]:-}" ] || die "unknown host '$1' (see $(topology_file))"; }
mac() { printf '02:4c:ab:00:%02x:%02x' "$1" "$2"; }

# ---------------------------------------------------------------- processes
alive() { # PID: exists and is not a zombie (the machine's PID 1 may not reap)
  local st
  read -r st 2>/dev/null < "/proc/$1/stat" || return 1
  st=${st##*) }
  [ "${st:0:1}" != Z ]
}
uml_pid() { local p; read -r p 2>/dev/null < "$S/run/uml-$1.pid" && alive "$p" && echo "$p"; }
uml_pids() { local f p; for f in "$S"/run/uml-*.pid; do read -r p 2>/dev/null < "$f" && echo "$p"; done; }
is_up() { # all guests of the last `up` alive
  local n=0 g
  read -r n 2>/dev/null < "$S/run/guests" || return 1
  for g in $(seq 0 $((n - 1))); do [ -n "$(uml_pid "$g")" ] || return 1; done
}
host_ready() { [ -e "$S/run/ready-$1" ]; }
ctl() { # GUEST CMD...: run a command in a UML guest (root namespace) via its control sshd
  local g=$1
  shift
  ssh -F "$S/ssh_config" "lab-guest$g" -- "$@"
}

# ---------------------------------------------------------------- up
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs packages, creates namespaces and taps)"; }

install_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$S/apt.log" 2>&1 ||
    { tail -20 "$S/apt.log" >&2; die "could not install: ${missing[*]} (see $S/apt.log)"; }
}

kernel_version() { find /usr/lib/uml/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1; }

root_dir() {
  local kver hash
  kver=$(kernel_version)
  hash=$( { cat "$LAB/build-root.sh"; echo "$kver"; dpkg-query -W -f='${Version}' user-mode-linux; } | sha256sum | cut -c1-16)
  echo "$CACHE/root-$hash"
}

ensure_root() {
  local root kver
  root=$(root_dir)
  kver=$(kernel_version)
  mkdir -p "$CACHE"
  exec 8> "$CACHE/.lock"
  flock 8
  if [ ! -e "$root/usr/local/sbin/lab-init" ]; then
    say "building root $root (mmdebstrap, ~1-2 min)"
    bash "$LAB/build-root.sh" "$root" "$kver" > "$S/build.log" 2>&1 ||
      { tail -30 "$S/build.log" >&2; die "root build failed (see $S/build.log)"; }
    # Remove roots of older cache keys.
    find "$CACHE" -maxdepth 1 -name 'root-*' ! -path "$root" -exec rm -rf {} + 2>/dev/null || true
  fi
  exec 8>&-
  ROOT=$root
}

# The ptrace shim every guest runs with (see uml-xstate.c), built once per source.
ensure_shim() {
  local hash
  hash=$( { cat "$LAB/uml-xstate.c"; gcc --version | head -1; } | sha256sum | cut -c1-16)
  SHIM=$CACHE/uml-xstate-$hash.so
  [ -e "$SHIM" ] && return 0
  gcc -shared -fPIC -O2 -Wall -Werror -o "$SHIM.tmp.$$" "$LAB/uml-xstate.c" -ldl ||
    die "could not build the UML ptrace shim from $LAB/uml-xstate.c"
  mv "$SHIM.tmp.$$" "$SHIM"
  find "$CACHE" -maxdepth 1 -name 'uml-xstate-*.so' ! -path "$SHIM" -delete
}

gen_state() {
  mkdir -p "$S/hosts" "$S/run" "$S/logs"
  [ -e "$S/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C lvs-cdktf-lab -f "$S/id_ed25519"
  [ -e "$S/guest_host_key" ] || ssh-keygen -q -t ed25519 -N '' -C lab-guest -f "$S/guest_host_key"
  local h kh="" cfg json="" sep="" spec ifn lan addr i jif gc=""
  cfg="# generated by lab/lab.sh: ssh -F $S/ssh_config HOST"$'\n'
  for i in 0 1 2 3; do
    kh+="[127.0.0.1]:$((CTL_BASE_PORT + i)) $(cut -d' ' -f1-2 "$S/guest_host_key.pub")"$'\n'
    cfg+="Host lab-guest$i"$'\n'"  Port $((CTL_BASE_PORT + i))"$'\n'"  ControlMaster no"$'\n'
  done
  for h in "${HOSTS[@]}"; do
    mkdir -p "$S/hosts/$h"
    [ -e "$S/hosts/$h/ssh_host_ed25519_key" ] ||
      ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$S/hosts/$h/ssh_host_ed25519_key"
    [ -s "$S/hosts/$h/machine-id" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$S/hosts/$h/machine-id"
    kh+="[127.0.0.1]:${PORT[$h]} $(cut -d' ' -f1-2 "$S/hosts/$h/ssh_host_ed25519_key.pub")"$'\n'
    cfg+="Host $h"$'\n'"  Port ${PORT[$h]}"$'\n'
    # guest.conf: NAME IDX GUEST IFACE,LAN,ADDR,MAC... (mgmt0 first)
    gc+="$h ${IDX[$h]} ${GUEST[$h]} mgmt0,mgmt,${MGMT[$h]}/24,$(mac "${IDX[$h]}" 0)"
    jif="{\"name\":\"mgmt0\",\"address\":\"${MGMT[$h]}/24\",\"lan\":\"mgmt\",\"mac\":\"$(mac "${IDX[$h]}" 0)\"}"
    i=0
    for spec in ${IFACES[$h]}; do
      i=$((i + 1))
      IFS=, read -r ifn lan addr <<<"$spec"
      gc+=" $ifn,$lan,$addr,$(mac "${IDX[$h]}" $i)"
      # ADDRESS may list several, joined by '+': "address" is the first, "addresses" all.
      jif+=",{\"name\":\"$ifn\",\"address\":\"${addr%%+*}\",\"addresses\":[\"${addr//+/\",\"}\"],\"lan\":\"$lan\",\"mac\":\"$(mac "${IDX[$h]}" $i)\"}"
    done
    gc+=$'\n'
    json+="$sep"$'\n'"    {\"name\":\"$h\",\"guest\":${GUEST[$h]},\"sshHost\":\"127.0.0.1\",\"sshPort\":${PORT[$h]},\"mgmtAddress\":\"${MGMT[$h]}\",\"interfaces\":[$jif]}"
    sep=","
  done
  cfg+=$'\n'"Host *"$'\n'"  HostName 127.0.0.1"$'\n'"  User root"$'\n'
  cfg+="  IdentityFile $S/id_ed25519"$'\n'"  IdentitiesOnly yes"$'\n'
  cfg+="  UserKnownHostsFile $S/known_hosts"$'\n'"  StrictHostKeyChecking yes"$'\n'
  cfg+="  ControlMaster auto"$'\n'"  ControlPath /tmp/lvslab-ssh-%C"$'\n'"  ControlPersist 120"$'\n'
  cfg+="  ServerAliveInterval 3"$'\n'"  ServerAliveCountMax 3"$'\n'"  ConnectTimeout 15"$'\n'
  cfg+="  LogLevel ERROR"$'\n'"  BatchMode yes"$'\n'
  printf '%s' "$kh" > "$S/known_hosts"
  printf '%s' "$cfg" > "$S/ssh_config"
  printf '%s' "$gc" > "$S/guest.conf"
  printf '{\n  "sshUser": "root",\n  "privateKey": "%s",\n  "sshConfig": "%s",\n  "knownHosts": "%s",\n  "hosts": [%s\n  ]\n}\n' \
    "$S/id_ed25519" "$S/ssh_config" "$S/known_hosts" "$json" > "$S/hosts.json"
}

start_machine_net() {
  ip netns del "$NS" 2>/dev/null || true
  ip netns add "$NS"
  local g batch="link set lo up
link add $BR type bridge forward_delay 0 stp_state 0
link set $BR address 02:4c:ab:00:00:01
addr add $MACHINE_ADDR dev $BR
link set $BR up
"
  for g in $(seq 0 $((NGUESTS - 1))); do
    batch+="tuntap add dev lvstap$g mode tap
link set lvstap$g master $BR up
"
  done
  ip -n "$NS" -b - <<<"$batch"
}

start_uml() {
  local root=$1 g
  rm -rf "$S/run" && mkdir -p "$S/run" "$S/logs" /run/lvs-cdktf-lab
  rm -f "$S"/logs/*
  echo "$NGUESTS" > "$S/run/guests"
  for g in $(seq 0 $((NGUESTS - 1))); do
  # setsid: own session/process group so that down can kill the whole tree.
  ip netns exec "$NS" env LD_PRELOAD="$SHIM" setsid linux.uml \
    mem="$UML_MEM" umid="lvslab-$g" uml_dir=/run/lvs-cdktf-lab \
    root=/dev/root rootfstype=hostfs rootflags="$root" ro \
    init=/usr/local/sbin/lab-init labdir="$LAB" labpar="${LAB_BOOT_PARALLEL:-3}" \
    labguest="$g" labctl="10.254.0.$((2 + g))" \
    "vec0:transport=tap,ifname=lvstap$g,mac=02:4c:ab:00:00:0$((2 + g))" \
    con=null con0=null,fd:1 ssl=null quiet pty.legacy_count=0 zswap.enabled=0 \
    < /dev/null > "$S/logs/uml-$g.log" 2>&1 &
  echo $! > "$S/run/uml-$g.pid"
  done
}

listening() { # PORT: something listens on 127.0.0.1:PORT
  [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}
# One socat per SSH port on 127.0.0.1, each in its own session; its pid file
# (pid and port) is named after what it reaches (lab-guestN or a host name).
fwd_start() { # NAME PORT ADDR
  local p _
  setsid socat "TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork" \
    "SYSTEM:exec nsenter --net=/run/netns/$NS socat STDIO TCP\\:$3\\:22" < /dev/null > /dev/null 2>&1 &
  p=$!
  echo "$p $2" > "$S/run/fwd-$1.pid"
  # socat reports nothing here: a port still held makes it exit, and the host would refuse SSH from then on.
  for _ in $(seq 50); do
    alive "$p" || die "$1: the SSH forwarder could not listen on 127.0.0.1:$2 (port in use?)"
    listening "$2" && return 0
    sleep 0.1
  done
  die "$1: the SSH forwarder is not listening on 127.0.0.1:$2 after 5 s"
}
fwd_stop() { # NAME
  local p port _
  read -r p port 2>/dev/null < "$S/run/fwd-$1.pid" || return 0
  kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
  rm -f "$S/run/fwd-$1.pid"
  # A signalled socat lets go of its port a moment later; a forwarder started before that cannot bind it.
  for _ in $(seq 50); do listening "$port" || return 0; sleep 0.1; done
}
start_forwarders() {
  local g h
  for g in $(seq 0 $((NGUESTS - 1))); do fwd_start "lab-guest$g" "$((CTL_BASE_PORT + g))" "10.254.0.$((2 + g))"; done
  for h in "${HOSTS[@]}"; do fwd_start "$h" "${PORT[$h]}" "${MGMT[$h]}"; done
}

wait_hosts() { # TIMEOUT_SECONDS
  local t0 left h
  t0=$(date +%s)
  while :; do
    left=()
    for h in "${HOSTS[@]}"; do host_ready "$h" || left+=("$h"); done
    [ ${#left[@]} -eq 0 ] && return 0
    is_up || { tail -n 20 "$S"/logs/uml-*.log >&2; die "a UML guest died (see $S/logs/)"; }
    [ $(($(date +%s) - t0)) -lt "$1" ] || die "timeout; not ready: ${left[*]} (see $S/logs/)"
    sleep 1
  done
}

# Ready means a session opens: the guest saw sshd greet on the management
# path, and this opens one through the forwarder, as every client will.
sessions_open() { # HOST...
  local h out pids=() names=() rc=0 i
  for h in "$@"; do
    ssh -F "$S/ssh_config" "$h" true < /dev/null > "$S/run/session-$h" 2>&1 & pids+=($!); names+=("$h")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      out=$(tr '\n' ' ' < "$S/run/session-${names[$i]}")
      say "${names[$i]}: ready, but no SSH session opens: $out"
      rc=1
    fi
    rm -f "$S/run/session-${names[$i]}"
  done
  return $rc
}

healthy() {
  is_up || return 1
  local h p
  for h in "${HOSTS[@]}"; do host_ready "$h" || return 1; done
  for h in "${HOSTS[@]}"; do read -r p _ 2>/dev/null < "$S/run/fwd-$h.pid" && alive "$p" || return 1; done
}

cmd_up() {
  need_root
  USE_STATE_PLACEMENT=0 load_topology
  mkdir -p "$S"
  if healthy 2>/dev/null; then say "already up and healthy"; cmd_status; return 0; fi
  # Anything left from a partial or crashed lab goes first (safe when down).
  if [ -e "$S/run" ]; then say "lab is partly up or was not shut down; cleaning up"; cmd_down; fi
  local t0 t
  t0=$(now); t=$t0
  install_packages
  say "phase packages: $(since "$t")s"; t=$(now)
  ensure_root
  ensure_shim
  say "phase root ($ROOT): $(since "$t")s"; t=$(now)
  gen_state
  realpath "$(USE_STATE_PLACEMENT=0 topology_file)" > "$S/topology"
  say "phase state: $(since "$t")s"; t=$(now)
  start_machine_net
  start_uml "$ROOT"
  start_forwarders
  say "phase boot-start: $(since "$t")s"; t=$(now)
  wait_hosts "${LAB_UP_TIMEOUT:-300}"
  sessions_open "${HOSTS[@]}" || die "hosts not reachable over SSH (see $S/logs/)"
  say "phase hosts-ready (${#HOSTS[@]} hosts): $(since "$t")s"
  say "up in $(since "$t0")s; ssh -F $S/ssh_config HOST"
}

# ---------------------------------------------------------------- down
cmd_down() {
  load_topology
  local p h
  # ssh connection masters first (they would hang on a vanished host).
  if [ -e "$S/ssh_config" ]; then
    for h in lab-guest0 lab-guest1 lab-guest2 lab-guest3 "${HOSTS[@]}"; do
      ssh -F "$S/ssh_config" -O exit "$h" > /dev/null 2>&1 || true
    done
  fi
  for p in "$S"/run/fwd-*.pid; do [ -e "$p" ] && fwd_stop "$(basename "$p" .pid | cut -c5-)"; done
  # The guests keep no data worth a clean shutdown: kill each UML process group.
  for p in $(uml_pids); do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  # Wait until every process of each UML session (one host process per guest
  # process) is gone and reaped, zombies included (at most 10 s).
  for p in $(uml_pids); do
    for _ in $(seq 100); do [ -n "$(pgrep -s "$p" 2>/dev/null)" ] || break; sleep 0.1; done
  done
  # UML helper processes re-parented elsewhere (same cmdline) and the uml_dir.
  for p in $(pgrep -x linux.uml 2>/dev/null || true); do
    if grep -qa "umid=lvslab-" "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
  done
  rm -rf /run/lvs-cdktf-lab /tmp/lvslab-ssh-* 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  # `ip netns add` bind-mounts /run/netns on itself; undo when no netns is left.
  if [ -z "$(ip netns list 2>/dev/null)" ] && mountpoint -q /run/netns; then umount /run/netns 2>/dev/null || true; fi
  rm -rf "$S/run"
  say "down"
}

# ---------------------------------------------------------------- status etc.
cmd_status() {
  load_topology
  if is_up; then echo "lab: up (UML pids $(uml_pids | xargs))"; else echo "lab: down"; fi
  local h st
  printf '%-14s %-6s %-13s %-6s %s\n' HOST PORT MGMT GUEST STATE
  for h in "${HOSTS[@]}"; do
    if is_up && host_ready "$h"; then st=ready; elif is_up; then st=booting; else st=down; fi
    printf '%-14s %-6s %-13s %-6s %s\n' "$h" "${PORT[$h]}" "${MGMT[$h]}" "${GUEST[$h]}" "$st"
  done
  is_up
}

cmd_reboot() {
  load_topology
  [ $# -eq 1 ] || die "usage: lab.sh reboot HOST"
  known_host "$1"; is_up || die "lab is down"
  local t
  t=$(now)
  ssh -F "$S/ssh_config" -O exit "$1" > /dev/null 2>&1 || true
  ctl "${GUEST[$1]}" /lab/guest-host.sh reboot "$1"
  sessions_open "$1" || die "$1 rebooted but is not reachable over SSH (see $S/logs/$1.log)"
  say "$1 rebooted in $(since "$t")s"
}

cmd_reset() {
  load_topology
  is_up || die "lab is down"
  local t h g
  t=$(now)
  if [ $# -eq 0 ]; then
    # Everything fresh: a new boot is the fastest way (staggered, all CPUs).
    cmd_down
    cmd_up
    say "reset all in $(since "$t")s"
    return 0
  fi
  declare -A per=()
  for h in "$@"; do
    known_host "$h"
    ssh -F "$S/ssh_config" -O exit "$h" > /dev/null 2>&1 || true
    per[${GUEST[$h]}]+=" $h"
  done
  # One host at a time per guest (a guest has one CPU), guests in parallel.
  local pids=() rc=0 p
  for g in "${!per[@]}"; do
    # shellcheck disable=SC2086
    ctl "$g" "for h in ${per[$g]}; do /lab/guest-host.sh reset \$h || exit 1; done" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ $rc -eq 0 ] || die "reset failed"
  sessions_open "$@" || die "reset hosts not reachable over SSH (see $S/logs/)"
  say "reset $* in $(since "$t")s"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  shell)
    [ $# -eq 2 ] || die "usage: lab.sh shell HOST"
    load_topology; known_host "$2"
    exec ssh -F "$S/ssh_config" -t "$2" ;;
  exec)
    [ $# -ge 3 ] || die "usage: lab.sh exec HOST CMD..."
    load_topology; known_host "$2"
    h=$2; shift 2
    exec ssh -F "$S/ssh_config" "$h" -- "$(printf '%q ' "$@")" ;;
  reboot) shift; cmd_reboot "$@" ;;
  unplug | plug)
    [ $# -eq 2 ] || die "usage: lab.sh $1 HOST"
    load_topology; known_host "$2"; is_up || die "lab is down"
    # A host's SSH path goes away (connection refused) or comes back; the host runs on.
    ssh -F "$S/ssh_config" -O exit "$2" > /dev/null 2>&1 || true
    fwd_stop "$2"
    if [ "$1" = plug ]; then
      fwd_start "$2" "${PORT[$2]}" "${MGMT[$2]}"
      sessions_open "$2" || die "$2: plugged, but no SSH session opens"
    fi
    say "$2: ssh ${1}ged" ;;
  reset) shift; cmd_reset "$@" ;;
  link)
    [ $# -eq 4 ] && { [ "$4" = up ] || [ "$4" = down ]; } || die "usage: lab.sh link HOST IFACE up|down"
    load_topology; known_host "$2"; is_up || die "lab is down"
    # A cut of the host's data link on the LAN side: the host runs on, its SSH (management) too.
    ctl "${GUEST[$2]}" /lab/guest-host.sh link "$2" "$3" "$4"
    say "$2: $3 link $4" ;;
  guest) shift; load_topology; ctl "$@" ;;
  logs)
    [ $# -eq 2 ] || die "usage: lab.sh logs HOST"
    cat "$S/logs/$2.log" "$S/logs/$2.console" 2>/dev/null ;;
  *)
    sed -n '2,6p' "$0" >&2
    exit 2 ;;
esac
