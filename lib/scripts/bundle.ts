/**
 * A bundle is the unit of host state that one Terraform resource owns.
 *
 * On the host it lives in /var/lib/lvs-cdktf/<owner>/: `up.sh` (runtime
 * state; re-run at every boot by a systemd unit), `down.sh` (undoes `up.sh`
 * and `prepare`, restoring recorded originals), `lib.sh` (the shell
 * library, lvs.sh, that both source) and `generation` (a hash of the
 * bundle's content, library included). The generation lets a destroy step recognise that a
 * newer resource has taken the host over, so a replaced resource's destroy
 * never undoes its successor's work.
 */
import { LIBRARY, script, scriptHeader, shortHash, sq, stateDir, unitName, writeFile } from './shell';

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
  /**
   * Apply-time shell run before the previous generation is undone: what
   * must outlive that teardown (a director's VIPs on their way to keepalived).
   * @default - none
   */
  readonly handover?: string;
  /** Owners whose boot units must run before this one. */
  readonly after?: string[];
}

export interface RenderedBundle {
  readonly owner: string;
  readonly generation: string;
  /**
   * Create-time script, run by the resource's create provisioner, as
   * Terraform's `inline` list (joined with newlines into one script): the
   * second element is {@link LIBRARY}, which a stack carries once and each
   * host step references.
   */
  readonly apply: readonly [head: string, library: string, tail: string];
  /** Destroy-time script: run by the resource's destroy provisioner. */
  readonly destroy: string;
  /** The files the bundle installs on the host (also checked by shellcheck). */
  readonly upScript: string;
  readonly downScript: string;
  readonly unit: string;
}

const UNIT_DIR = '/etc/systemd/system';
const LIBRARY_EOF = 'LVS_CDKTF_LIB';

export function renderBundle(spec: BundleSpec): RenderedBundle {
  const dir = stateDir(spec.owner);
  const unit = unitName(spec.owner);
  // up.sh and down.sh run on their own (at boot, and on teardown), with the library this generation installed.
  const standalone = (purpose: string, body: string) =>
    script(purpose, `dir=${sq(dir)}`, '# shellcheck source=/dev/null', '. "$dir/lib.sh"', body);
  const upScript = standalone(`boot-time state of ${spec.description}`, spec.up);
  const downScript = standalone(`undo ${spec.description}`, spec.down);
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
  const generation = shortHash(LIBRARY, ...(spec.handover ? [spec.handover] : []), spec.prepare, upScript, downScript, unitText, spec.onChange);
  // One command, so that one directive covers it: the library's functions read them.
  const identity = ['# shellcheck disable=SC2034', `owner=${sq(spec.owner)} dir=${sq(dir)} gen=${sq(generation)}`];

  const destroy = script(
    `destroy ${spec.description}`,
    ...identity,
    'cur=$(cat "$dir/generation" 2>/dev/null || true)',
    'if [ "$cur" != "$gen" ]; then',
    '  [ -n "$cur" ] || cur=none',
    '  echo "lvs-cdktf: $owner: host holds generation $cur, not $gen; leaving it to its current owner"',
    '  exit 0',
    'fi',
    '# shellcheck source=/dev/null',
    '. "$dir/lib.sh"',
    `lvs_remove ${sq(`${UNIT_DIR}/${unit}`)}`,
  );

  // The library goes to a temporary file first: a teardown of the previous
  // generation runs its down.sh with the library that generation installed.
  const head = [
    scriptHeader(`apply ${spec.description}`),
    'lvs_lib=$(mktemp)',
    'trap \'rm -f "$lvs_lib"\' EXIT',
    `cat > "$lvs_lib" <<'${LIBRARY_EOF}'`,
  ].join('\n');
  const tail = [
    LIBRARY_EOF,
    '# shellcheck source=/dev/null',
    '. "$lvs_lib"',
    ...identity,
    spec.handover ?? '',
    `lvs_begin ${spec.onChange}`,
    `lvs_write ${sq(`${dir}/lib.sh`)} 0644 < "$lvs_lib"`,
    writeFile(`${dir}/up.sh`, upScript, '0755'),
    writeFile(`${dir}/down.sh`, downScript, '0755'),
    // The destroy step, kept on the host for a server that leaves the code without being retired.
    writeFile(`${dir}/remove.sh`, destroy, '0755'),
    // Recorded before any change so that a failed apply is still cleaned by its destroy.
    'echo "$gen" > "$dir/generation"',
    spec.prepare,
    'sh "$dir/up.sh"',
    writeFile(`${UNIT_DIR}/${unit}`, unitText, '0644'),
    `lvs_enable ${sq(unit)}`,
  ]
    .filter((s) => s.length > 0)
    .join('\n') + '\n';

  return { owner: spec.owner, generation, apply: [head, LIBRARY, tail], destroy, upScript, downScript, unit: unitText };
}

const LIBRARY_BLOCK = new RegExp(`(<<'${LIBRARY_EOF}'\\n)([\\s\\S]*?)(\\n${LIBRARY_EOF}\\n)`);

/**
 * A create script's copy of the shell library, and the script with a
 * one-line pointer in its place, for reports that show the library once.
 */
export function splitLibrary(script: string): { readonly library?: string; readonly rest: string } {
  const m = LIBRARY_BLOCK.exec(script);
  if (!m) return { rest: script };
  return { library: m[2] + '\n', rest: script.replace(LIBRARY_BLOCK, (_all, open: string, _lib: string, close: string) => `${open}# … the shell library, lib/scripts/lvs.sh (installed as lib.sh) …${close}`) };
}

/** The create script as one text, as Terraform joins the `inline` list. */
export function applyScript(bundle: RenderedBundle): string {
  return bundle.apply.join('\n');
}
