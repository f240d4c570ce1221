#!/bin/bash
# Builds the read-only Debian bookworm root shared by the UML guest and every
# lab host. Usage: build-root.sh OUTDIR KERNEL_VERSION
# Called by lab.sh; the cache key hashes this file, so edit it to force a rebuild.
set -eu

out=$1
kver=$2
mirror=${LAB_MIRROR:-http://deb.debian.org/debian}

# Keep in sync with README.md. systemd-container provides systemd-nspawn
# (used by the guest to boot each host), the rest is what hosts offer.
packages=(
  systemd systemd-sysv systemd-container dbus
  openssh-server ipvsadm iproute2 procps kmod curl
  nginx-light apache2 keepalived tcpdump iputils-arping iputils-ping
  iptables socat util-linux ca-certificates sudo
)

tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT

# The customize hook runs on the machine with the new root as $1.
# shellcheck disable=SC2016
mmdebstrap --variant=apt --mode=root --quiet \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='chroot "$1" update-alternatives --quiet --set iptables /usr/sbin/iptables-legacy' \
  --customize-hook='chroot "$1" update-alternatives --quiet --set ip6tables /usr/sbin/ip6tables-legacy' \
  --customize-hook='chroot "$1" systemctl disable --quiet nginx.service apache2.service apache-htcacheclean.service keepalived.service 2>/dev/null || true' \
  --customize-hook='chroot "$1" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer logrotate.timer man-db.timer systemd-tmpfiles-clean.timer console-getty.service getty@.service container-getty@.service systemd-timesyncd.service systemd-networkd-wait-online.service systemd-hwdb-update.service systemd-journal-flush.service ldconfig.service modprobe@loop.service modprobe@fuse.service modprobe@configfs.service modprobe@drm.service modprobe@dm_mod.service modprobe@efi_pstore.service kmod-static-nodes.service systemd-sysusers.service systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-tmpfiles-setup-dev.service systemd-firstboot.service systemd-machine-id-commit.service systemd-random-seed.service systemd-pstore.service 2>/dev/null || true' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_* "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : > "$1"/etc/machine-id' \
  --customize-hook='rm -f "$1"/etc/resolv.conf; : > "$1"/etc/resolv.conf' \
  bookworm "$tmp" "$mirror"

# sshd tuned for a single slow virtual CPU (see notes): no PAM, no lastlog, no DNS.
cat > "$tmp/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
UsePAM no
PrintLastLog no
PrintMotd no
UseDNS no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
HostKey /etc/ssh/ssh_host_ed25519_key
MaxStartups 100:30:200
EOF
# A login user other than root, as fleets use: sudo without a password.
chroot "$tmp" useradd --create-home --shell /bin/bash deploy
# '*' rather than useradd's locked '!': without PAM, sshd refuses locked accounts even for keys.
chroot "$tmp" usermod --password '*' deploy
printf 'deploy ALL=(ALL) NOPASSWD: ALL\n' > "$tmp/etc/sudoers.d/deploy"
chmod 440 "$tmp/etc/sudoers.d/deploy"
# journald: keep logs in memory only, small.
mkdir -p "$tmp/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=8M\n' > "$tmp/etc/systemd/journald.conf.d/lab.conf"
# Don't wait for network-online (there is no manager for it in a host).
mkdir -p "$tmp/etc/systemd/system.conf.d"
printf '[Manager]\nDefaultTimeoutStopSec=5s\nDefaultTimeoutStartSec=30s\n' > "$tmp/etc/systemd/system.conf.d/lab.conf"

# Kernel modules of the UML kernel, hard-linked (same filesystem) or copied.
mkdir -p "$tmp/usr/lib/modules"
cp -al "/usr/lib/uml/modules/$kver" "$tmp/usr/lib/modules/$kver" 2>/dev/null ||
  cp -a "/usr/lib/uml/modules/$kver" "$tmp/usr/lib/modules/$kver"
chroot "$tmp" depmod "$kver"

# Tiny guest init stub: the real guest init lives in the lab dir (mounted via
# hostfs) so it can change without rebuilding the root.
mkdir -p "$tmp/lab" "$tmp/hosts" "$tmp/lab-state"
cat > "$tmp/usr/local/sbin/lab-init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t hostfs -o "$labdir" none /lab
exec /bin/bash /lab/guest-init.sh
EOF
chmod 755 "$tmp/usr/local/sbin/lab-init"

rm -rf "$tmp/var/cache/apt/archives"/*.deb "$tmp/var/lib/apt/lists"/* 2>/dev/null || true
trap - EXIT
rm -rf "$out"
mv "$tmp" "$out"
