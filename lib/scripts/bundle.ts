/**
 * A bundle is the unit of host state that one Terraform resource owns.
 *
 * On the host it lives in /var/lib/lvs-cdktf/<owner>/: `up.sh` (runtime
 * state; re-run at every boot by a systemd unit), `down.sh` (undoes `up.sh`
 * and `prepare`, restoring recorded originals) and `generation` (a hash of
 * the bundle's content). The generation lets a destroy step recognise that a
 * newer resource has taken the host over, so a replaced resource's destroy
 * never undoes its successor's work.
 */
import { OS_FUNCTIONS, STATE_ROOT, script, shortHash, sq, stateDir, unitName, writeFile } from './shell';

export interface BundleSpec {
  /** Owner key: [a-z0-9-], unique per host. */
  readonly owner: string;
  /** One line saying what the bundle configures. */
  readonly description: string;
  /**
   * Apply-time work that is not re-run at boot: installing packages and
   * recording originals that `down` restores. Must be idempotent.
   */
  readonly prepare: string;
  /** Runtime state (sysctls, addresses, routes, IPVS entries). Idempotent. */
  readonly up: string;
  /** Restores the host to its state before `prepare` and `up`; tolerates partial state. */
  readonly down: string;
  /**
   * What happens when a new generation replaces an old one on the same host.
   * `teardown`: the old `down.sh` runs first (right for host settings);
   * `reconcile`: the new `up.sh` converges from whatever is live (right for
   * IPVS tables, which must never be flushed under traffic).
   */
  readonly onChange: 'teardown' | 'reconcile';
  /** Owners whose boot units must run before this one. */
  readonly after?: string[];
}

export interface RenderedBundle {
  readonly owner: string;
  readonly generation: string;
  /** Create-time script: run by the resource's create provisioner. */
  readonly apply: string;
  /** Destroy-time script: run by the resource's destroy provisioner. */
  readonly destroy: string;
  /** The files the bundle installs on the host (also checked by shellcheck). */
  readonly upScript: string;
  readonly downScript: string;
  readonly unit: string;
}

const UNIT_DIR = '/etc/systemd/system';

export function renderBundle(spec: BundleSpec): RenderedBundle {
  const dir = stateDir(spec.owner);
  const unit = unitName(spec.owner);
  // up.sh and down.sh run on their own (down.sh also at boot-less cleanup), so they carry what they use.
  const standalone = (body: string) => [
    /\blvs_(os_family|install|systemd)\b/.test(body) ? OS_FUNCTIONS : '',
    body.includes('$dir') ? `dir=${sq(dir)}` : '',
    body,
  ];
  const upScript = script(`boot-time state of ${spec.description}`, ...standalone(spec.up));
  const downScript = script(`undo ${spec.description}`, ...standalone(spec.down));
  const afterUnits = (spec.after ?? []).map(unitName);
  const unitText = [
    '[Unit]',
    `Description=lvs-cdktf: ${spec.description}`,
    `After=network-online.target systemd-sysctl.service systemd-modules-load.service${afterUnits.map((u) => ' ' + u).join('')}`,
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh ${dir}/up.sh`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
  const generation = shortHash(spec.prepare, upScript, downScript, unitText, spec.onChange);

  const teardownPrevious =
    spec.onChange === 'teardown'
      ? [
          'prev=$(cat "$dir/generation" 2>/dev/null || true)',
          'if [ -n "$prev" ] && [ "$prev" != "$gen" ] && [ -f "$dir/down.sh" ]; then',
          '  echo "lvs-cdktf: $owner: undoing generation $prev before applying $gen"',
          '  sh "$dir/down.sh"',
          'fi',
        ].join('\n')
      : '';

  const destroy = script(
    `destroy ${spec.description}`,
    `owner=${sq(spec.owner)}`,
    `dir=${sq(dir)}`,
    `gen=${sq(generation)}`,
    'cur=$(cat "$dir/generation" 2>/dev/null || true)',
    'if [ "$cur" != "$gen" ]; then',
    '  echo "lvs-cdktf: $owner: host holds generation ${cur:-none}, not $gen; leaving it to its current owner"',
    '  exit 0',
    'fi',
    'sh "$dir/down.sh"',
    'if command -v systemctl >/dev/null 2>&1; then',
    `  systemctl disable --no-reload ${sq(unit)} >/dev/null 2>&1 || true`,
    'fi',
    `rm -f ${sq(`${UNIT_DIR}/${unit}`)}`,
    'if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi',
    'rm -rf "$dir"',
    `rmdir ${sq(STATE_ROOT)} 2>/dev/null || true`,
    'echo "lvs-cdktf: $owner: removed"',
  );

  const apply = script(
    `apply ${spec.description}`,
    OS_FUNCTIONS,
    `owner=${sq(spec.owner)}`,
    `dir=${sq(dir)}`,
    `gen=${sq(generation)}`,
    'umask 022',
    'mkdir -p "$dir"',
    teardownPrevious,
    writeFile(`${dir}/up.sh`, upScript, '0755'),
    writeFile(`${dir}/down.sh`, downScript, '0755'),
    // The destroy step, kept on the host for a server that leaves the code without being retired.
    writeFile(`${dir}/remove.sh`, destroy, '0755'),
    // Recorded before any change so that a failed apply is still cleaned by its destroy.
    'echo "$gen" > "$dir/generation"',
    spec.prepare,
    'sh "$dir/up.sh"',
    // systemd is reloaded only when the unit file changed: a reload takes seconds on a busy host.
    'unit_changed=',
    writeFile(`${UNIT_DIR}/${unit}`, unitText, '0644', 'unit_changed=1'),
    'if command -v systemctl >/dev/null 2>&1; then',
    '  if lvs_systemd && [ -n "$unit_changed" ]; then systemctl daemon-reload; fi',
    `  systemctl is-enabled --quiet ${sq(unit)} 2>/dev/null || systemctl enable --quiet --no-reload ${sq(unit)}`,
    'else',
    '  echo "lvs-cdktf: $owner: no systemctl here, so this state is not restored at boot" >&2',
    'fi',
    'echo "lvs-cdktf: $owner: generation $gen applied"',
  );

  return { owner: spec.owner, generation, apply, destroy, upScript, downScript, unit: unitText };
}
