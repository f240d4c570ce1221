#!/usr/bin/env bash
# The README's main job: bring the lab up, deploy nat-stack to it with the
# real cdktf CLI and Terraform, and show the round-robin answers through the
# VIP. The lab is left running so it can be explored; the last lines say how
# to reach it and how to take everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null
export LVS_CDKTF_CONFIG=${LVS_CDKTF_CONFIG:-lab/lab-config.yaml}
lab() { ssh -F lab/.state/ssh_config "$@"; }

bash lab/lab.sh up
npx cdktf deploy nat-stack --auto-approve

echo
echo "== IPVS table on nat-director (ipvsadm -Ln)"
lab nat-director ipvsadm -Ln
echo
echo "== 6 requests from nat-client (192.168.115.200) to the VIP 192.168.115.111:80"
lab nat-client 'for i in 1 2 3 4 5 6; do curl -s -m 5 http://192.168.115.111/; done'
cat <<'MSG'

The lab is still running (state in lab/.state). To look around:
  npm run lab:shell -- nat-director        # or: ssh -F lab/.state/ssh_config nat-client
  npm run lab:status
To undo the deploy, then stop the lab:
  LVS_CDKTF_CONFIG=lab/lab-config.yaml npx cdktf destroy nat-stack --auto-approve
  npm run lab:down
MSG
