#!/bin/bash
# Smoke test of a running lab (bash lab/lab.sh up first).
# Checks SSH to every host, IPVS on nat-director, a LAN ping, systemctl
# behaviour, and Terraform's terraform_data + remote-exec against nat-director.
set -eu

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=$LAB/.state
CFG=$S/ssh_config
pass=0
fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
ko() { echo "FAIL $*"; fail=$((fail + 1)); }
t() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$(t)" 'BEGIN{printf "%.2fs", b-a}'; }

[ -e "$CFG" ] || { echo "lab not up (no $CFG)"; exit 1; }
bash "$LAB/lab.sh" status > /dev/null || { echo "lab not up"; exit 1; }

hosts=$(awk '$1 !~ /^#/ && NF {print $1}' "$LAB/topology.conf")
for h in $hosts; do
  t0=$(t)
  if ssh -F "$CFG" "$h" true; then ok "ssh $h ($(dt "$t0"))"; else ko "ssh $h"; fi
done

t0=$(t)
if out=$(ssh -F "$CFG" nat-director 'was=$(ls -d /sys/module/ip_vs 2>/dev/null); modprobe ip_vs && ipvsadm -A -t 192.168.115.111:80 -s rr && ipvsadm -Sn && ipvsadm -C && { [ -n "$was" ] || modprobe -r ip_vs_rr ip_vs; }' 2>&1) &&
  grep -q -- '-A -t 192.168.115.111:80 -s rr' <<<"$out"; then
  ok "ipvsadm on nat-director ($(dt "$t0"))"
else
  ko "ipvsadm on nat-director: $out"
fi

if ssh -F "$CFG" nat-client 'ping -c1 -W3 192.168.115.111' > /dev/null; then
  ok "nat-client pings nat-director 192.168.115.111"
else
  ko "nat-client ping 192.168.115.111"
fi

# Bare hosts: no default route, web servers installed but not enabled/running.
if out=$(ssh -F "$CFG" nat-web1 'ip route show default; systemctl is-enabled nginx apache2 keepalived || true; systemctl is-active nginx apache2 keepalived || true; systemctl is-system-running || true' 2>&1) &&
  [ "$out" = $'disabled\ndisabled\ndisabled\ninactive\ninactive\ninactive\nrunning' ]; then
  ok "nat-web1 is bare (no default route, nginx/apache2/keepalived disabled, system running)"
else
  ko "nat-web1 bare state: $out"
fi

# Terraform: terraform_data + remote-exec over SSH (no provider download needed).
if command -v terraform > /dev/null; then
  tf=$(mktemp -d /tmp/lvslab-tf.XXXXXX)
  cat > "$tf/main.tf" <<EOF
resource "terraform_data" "probe" {
  input = "lab-smoke"
  connection {
    type        = "ssh"
    host        = "127.0.0.1"
    port        = 2211
    user        = "root"
    private_key = file("$S/id_ed25519")
    host_key    = file("$S/hosts/nat-director/ssh_host_ed25519_key.pub")
  }
  provisioner "remote-exec" {
    inline = ["hostname > /tmp/tf-smoke", "ipvsadm -Ln > /dev/null"]
  }
}
EOF
  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
  t0=$(t)
  if terraform -chdir="$tf" init -input=false -no-color > "$tf/init.log" 2>&1; then
    ok "terraform init ($(dt "$t0"))"
  else
    ko "terraform init: $(tail -5 "$tf/init.log")"
  fi
  t0=$(t)
  if terraform -chdir="$tf" apply -auto-approve -input=false -no-color > "$tf/apply.log" 2>&1 &&
    [ "$(ssh -F "$CFG" nat-director cat /tmp/tf-smoke)" = nat-director ]; then
    ok "terraform apply remote-exec on nat-director ($(dt "$t0"))"
  else
    ko "terraform apply: $(tail -15 "$tf/apply.log")"
  fi
  t0=$(t)
  if terraform -chdir="$tf" destroy -auto-approve -input=false -no-color > "$tf/destroy.log" 2>&1; then
    ok "terraform destroy ($(dt "$t0"))"
  else
    ko "terraform destroy: $(tail -5 "$tf/destroy.log")"
  fi
  ssh -F "$CFG" nat-director rm -f /tmp/tf-smoke || true
  rm -rf "$tf"
else
  echo "skip terraform (not installed)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
