#!/bin/bash
# PID 1 of the UML guest (started by /usr/local/sbin/lab-init in the root).
# Sets up bridges, the control sshd and one supervised systemd-nspawn per host.
# /lab is the lab directory of the machine (hostfs), /lab/.state its state.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
S=/lab/.state

mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /hosts
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run/lab /run/netns /run/sshd
mount -t devpts devpts /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ln -sf /proc/self/fd /dev/fd
G=${labguest:-0}
CTL_ADDR=${labctl:-10.254.0.2}
echo "lab-guest$G" > /proc/sys/kernel/hostname
# This guest's hosts (guest.conf: NAME IDX GUEST IFACE,LAN,ADDR,MAC...).
awk -v g="$G" '$3==g' $S/guest.conf > /run/lab/hosts.conf
# New network namespaces get kernel-default IPv4 settings, whatever init_net has.
echo 2 > /proc/sys/net/core/devconf_inherit_init_net
echo "guest: init up $(cut -d' ' -f1 /proc/uptime)s" >&2

# Bridges: one per LAN, plus mgmt (with the UML NIC vec0 towards the machine).
{
  echo "link set lo up"
  echo "link add b-mgmt type bridge forward_delay 0 stp_state 0"
  echo "link set vec0 master b-mgmt"
  echo "link set vec0 up"
  echo "link set b-mgmt up"
  echo "addr add $CTL_ADDR/24 dev b-mgmt"
  awk '{for(i=4;i<=NF;i++){split($i,a,",");print a[2]}}' /run/lab/hosts.conf | sort -u |
    while read -r lan; do
      [ "$lan" = mgmt ] && continue
      echo "link add b-$lan type bridge forward_delay 0 stp_state 0"
      echo "link set b-$lan up"
    done
} | ip -b -

# Control sshd for lab.sh (reboot/reset/stop of single hosts).
cat > /run/lab/sshd_config <<EOF
ListenAddress $CTL_ADDR
HostKey $S/guest_host_key
AuthorizedKeysFile $S/id_ed25519.pub
StrictModes no
UsePAM no
PrintLastLog no
PrintMotd no
UseDNS no
PasswordAuthentication no
PermitRootLogin prohibit-password
PidFile /run/lab/sshd.pid
EOF
/usr/sbin/sshd -f /run/lab/sshd_config -E /run/lab/sshd.log

# Boot hosts a few at a time: on one virtual CPU, booting all at once thrashes
# (15 hosts: ~100 s all at once vs less when staggered).
[ -p /run/lab/sleep ] || mkfifo /run/lab/sleep
exec 9<>/run/lab/sleep
par=${labpar:-3}
booting=()
while read -r name _; do
  while :; do
    still=()
    for b in "${booting[@]}"; do [ -e "$S/run/ready-$b" ] || still+=("$b"); done
    booting=("${still[@]}")
    [ ${#booting[@]} -lt "$par" ] && break
    read -rt 0.3 -u 9 || true
  done
  /lab/guest-host.sh start "$name"
  booting+=("$name")
done < /run/lab/hosts.conf
exec 9>&-

echo "guest: hosts launched $(cut -d' ' -f1 /proc/uptime)s" >&2
# Become a plain reaper of orphans (supervisors, anchors) forever. perl-base is
# Essential in Debian. bash as PID 1 left orphans as zombies.
exec perl -e '$SIG{$_} = "IGNORE" for qw(TERM INT HUP); while (1) { sleep 1 if wait() == -1 }'
