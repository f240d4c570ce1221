#!/bin/bash
# Runs INSIDE the UML guest. Manages one lab host (systemd-nspawn container in
# its own network namespace over a per-host overlay).
#   guest-host.sh start NAME    mount disk if needed, supervise (background)
#   guest-host.sh stop NAME     kill the host, keep its disk
#   guest-host.sh reboot NAME   kill the host (fresh netns), boot again, wait ready
#   guest-host.sh reset NAME    stop, discard disk, start, wait ready
#   guest-host.sh wait NAME     wait until its sshd listens
#   guest-host.sh link NAME IFACE up|down  the LAN end of one of its links (a cable cut)
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
S=/lab/.state
cmd=$1
name=$2
H=/hosts/$name
R=/run/lab/$name
CG=/sys/fs/cgroup/lab-$name

conf=$(awk -v n="$name" '$1==n' $S/guest.conf)
[ -n "$conf" ] || { echo "unknown host $name" >&2; exit 2; }
read -r _ idx _ ifaces <<<"$conf"
mgmt_ip=${ifaces%%/*}; mgmt_ip=${mgmt_ip##*,}

[ -p /run/lab/sleep ] || mkfifo /run/lab/sleep 2>/dev/null
exec 9<>/run/lab/sleep
nap() { read -rt "$1" -u 9 || true; }

alive() { # PID: running and not a zombie
  local st
  read -r st 2>/dev/null < "/proc/$1/stat" || return 1
  st=${st##*) }
  [ "${st:0:1}" != Z ]
}

log() { echo "guest[$name]: $* ($(cut -d' ' -f1 /proc/uptime)s)" >> "$S/logs/$name.log"; }

mount_disk() {
  mountpoint -q "$H/root" && return 0
  mkdir -p "$H/upper" "$H/work" "$H/root"
  if [ ! -e "$H/upper/.lab-initialized" ]; then
    # First boot of a fresh disk: per-host identity.
    local u=$H/upper
    mkdir -p "$u/etc/ssh" "$u/root/.ssh"
    chmod 700 "$u/root/.ssh"
    echo "$name" > "$u/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$name" > "$u/etc/hosts"
    cp "$S/hosts/$name/machine-id" "$u/etc/machine-id"
    cp "$S/hosts/$name/ssh_host_ed25519_key" "$S/hosts/$name/ssh_host_ed25519_key.pub" "$u/etc/ssh/"
    chmod 600 "$u/etc/ssh/ssh_host_ed25519_key"
    cp "$S/id_ed25519.pub" "$u/root/.ssh/authorized_keys"
    chmod 600 "$u/root/.ssh/authorized_keys"
    # The same key for the non-root user (the root has it, with NOPASSWD sudo).
    mkdir -p "$u/home/deploy/.ssh"
    cp "$S/id_ed25519.pub" "$u/home/deploy/.ssh/authorized_keys"
    chown -R deploy:deploy "$u/home/deploy"
    chmod 700 "$u/home/deploy/.ssh"
    chmod 600 "$u/home/deploy/.ssh/authorized_keys"
    touch "$u/.lab-initialized"
  fi
  mount -t overlay overlay -o "lowerdir=/,upperdir=$H/upper,workdir=$H/work" "$H/root"
}

# The guest-side ends of this host's veths (v<idx>i<n>).
own_links() { local l; for l in /sys/class/net/v"${idx}"i*; do [ -e "$l" ] && echo "${l##*/}"; done; }

# Deletes the host's network namespace and its veths. The kernel frees a dead
# namespace's devices later, in a worker, after every other subsystem's
# cleanup (IPVS connections and conntrack of a busy director first): until
# then the next boot cannot reuse the veth names. Deleting our ends frees them
# now; the wait covers a worker already under way.
del_netns() {
  local l n=0
  for l in $(own_links); do ip link del "$l" 2>/dev/null; done
  ip netns del "$name" 2>/dev/null
  while [ -n "$(own_links)" ] && [ $n -lt 300 ]; do nap 0.1; n=$((n + 1)); done
  [ -z "$(own_links)" ] || { log "veths of the last boot still present after 30 s: $(own_links | xargs)"; return 1; }
}

# Fails (logged) unless every interface of the host exists with its address.
make_netns() {
  local err
  del_netns || return 1
  ip netns add "$name" || { log "ip netns add failed"; return 1; }
  local spec i=0 ifn lan addr a mac batch="" inner="link set lo up"$'\n'
  for spec in $ifaces; do
    IFS=, read -r ifn lan addr mac <<<"$spec"
    batch+="link add v${idx}i$i type veth peer name $ifn address $mac netns $name"$'\n'
    batch+="link set v${idx}i$i master b-$lan up"$'\n'
    # Several addresses are joined by '+'; IPv6 ones skip duplicate address detection (no tentative wait at boot).
    for a in ${addr//+/ }; do
      case $a in *:*) inner+="addr add $a dev $ifn nodad"$'\n' ;; *) inner+="addr add $a dev $ifn"$'\n' ;; esac
    done
    inner+="link set $ifn up"$'\n'
    i=$((i + 1))
  done
  err=$( { ip -b - <<<"$batch" && ip -n "$name" -b - <<<"$inner"; } 2>&1) || { log "network setup failed: $err"; return 1; }
}

# True when the host's sshd listens on port 22 (read via the anchor process,
# no fork, no connection: sshd forks before it listens).
listening() {
  local pid line
  read -r pid 2>/dev/null < "$R.anchor" || return 1
  while read -r line; do
    case $line in *:0016\ 00000000:0000\ 0A*) return 0 ;; esac
  done 2>/dev/null < "/proc/$pid/net/tcp"
  return 1
}

# True when sshd greets on the management address from the guest's side of
# the bridge, the path every SSH session takes: a listening socket alone
# says nothing of the host's interfaces. One connection per call (each costs
# sshd a fork), so callers poll it only once the socket listens.
greets() {
  local banner
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  banner=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -c 8 <&3' _ "$mgmt_ip" 2>/dev/null)
  [ "$banner" = SSH-2.0- ]
}

kill_host() {
  [ -d "$CG" ] && echo 1 > "$CG/cgroup.kill" 2>/dev/null
  local pid
  if read -r pid 2>/dev/null < "$R.anchor"; then kill -9 "$pid" 2>/dev/null; fi
  rm -f "$R.anchor" "$S/run/ready-$name"
  local n=0
  while [ -d "$CG" ] && [ -n "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] && [ $n -lt 100 ]; do nap 0.1; n=$((n + 1)); done
}

supervise() {
  echo $BASHPID > "$R.super"
  while [ ! -e "$R.stop" ]; do
    mount_disk
    if ! make_netns; then nap 1; continue; fi
    ip netns exec "$name" sleep infinity 9>&- &
    echo $! > "$R.anchor"
    mkdir -p "$CG"
    log "boot"
    (
      echo "$BASHPID" > "$CG/cgroup.procs"
      exec 9>&-
      SYSTEMD_NSPAWN_API_VFS_WRITABLE=network exec systemd-nspawn --quiet --boot \
        --directory="$H/root" --machine="$name" --network-namespace-path="/run/netns/$name" \
        --register=no --keep-unit --link-journal=no --capability=all \
        --resolv-conf=off --timezone=off --settings=no --console=read-only \
        --bind-ro=/sys/module \
        < /dev/null >> "$S/logs/$name.console" 2>&1
    ) &
    local nspawn=$!
    # Ready = sshd greets over the management path (polled once it listens).
    while kill -0 $nspawn 2>/dev/null; do
      if listening && greets; then touch "$S/run/ready-$name"; log "ready"; break; fi
      nap 0.5
    done
    wait $nspawn
    log "nspawn exited: $?"
    kill_host
    [ -e "$R.stop" ] || nap 0.5
  done
  del_netns
  rm -f "$R.super" "$R.stop"
}

wait_ready() {
  local n=0
  while ! [ -e "$S/run/ready-$name" ]; do
    nap 0.5; n=$((n + 1))
    [ $n -lt 600 ] || { echo "timeout waiting for $name" >&2; return 1; }
  done
}

stop_host() {
  local pid n=0
  if read -r pid 2>/dev/null < "$R.super" && alive "$pid"; then
    touch "$R.stop"
    kill_host
    while alive "$pid" && [ $n -lt 100 ]; do nap 0.1; n=$((n + 1)); done
    alive "$pid" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$R.stop" "$R.super"
  del_netns
  return 0
}

# Whole main in a function, called on the last line: a supervisor runs for
# hours and bash reads scripts lazily, so edits to this file must not shift
# what it executes after supervise() returns.
main() {
  mkdir -p "$S/run" "$S/logs"
  case $cmd in
    start)
      if read -r pid 2>/dev/null < "$R.super" && alive "$pid"; then exit 0; fi
      rm -f "$R.stop"
      supervise 9>&9 < /dev/null > /dev/null 2>&1 &
      ;;
    stop) stop_host ;;
    reboot)
      if read -r pid 2>/dev/null < "$R.super" && alive "$pid"; then
        # A power cut: the supervisor sees nspawn die, cleans up and boots
        # again. Only it cleans up, so nothing removes the new boot's files.
        rm -f "$S/run/ready-$name"
        echo 1 > "$CG/cgroup.kill"
      else
        "$0" start "$name"
      fi
      wait_ready
      ;;
    reset)
      stop_host
      umount "$H/root" 2>/dev/null
      rm -rf "$H"
      "$0" start "$name"
      wait_ready
      ;;
    wait) wait_ready ;;
    link)
      # The guest-side veth: the host sees its carrier go (its interface stays up, its routes stay), as when a cable is pulled.
      local spec i=0 ifn
      for spec in $ifaces; do
        IFS=, read -r ifn _ <<<"$spec"
        if [ "$ifn" = "$3" ]; then ip link set "v${idx}i$i" "$4"; return; fi
        i=$((i + 1))
      done
      echo "$name has no interface $3" >&2; exit 2 ;;
    *) echo "usage: $0 start|stop|reboot|reset|wait|link NAME" >&2; exit 2 ;;
  esac
}
main "$@"; exit
