/**
 * Small, pure helpers for rendering POSIX sh. Every value that reaches a
 * script has been validated by the constructs already; quoting here is the
 * second line of defence, not the first.
 */
import { createHash } from 'crypto';

/** Single-quote a value for POSIX sh. */
export function sq(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Stable short hash used for generations and file names. */
export function shortHash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The header every generated script starts with. */
export function scriptHeader(purpose: string): string {
  return ['#!/bin/sh', 'set -eu', `# lvs-cdktf: ${purpose}`].join('\n');
}

/** A complete script from a purpose line and body sections. */
export function script(purpose: string, ...sections: string[]): string {
  return [scriptHeader(purpose), ...sections.filter((s) => s.length > 0)].join('\n') + '\n';
}

/**
 * The script run as root when the login user is not: it re-executes itself
 * (remote-exec runs an uploaded file, `$0`) through non-interactive sudo, so
 * a missing NOPASSWD rule fails at once with sudo's message.
 */
export function asRoot(script: string): string {
  const header = 'set -eu\n';
  const at = script.indexOf(header);
  if (at < 0) throw new Error('asRoot: the script has no set -eu header');
  const reexec = '[ "$(id -u)" = 0 ] || exec sudo -n /bin/sh "$0"\n';
  return script.slice(0, at + header.length) + reexec + script.slice(at + header.length);
}

/**
 * Writes `content` to `path` through a quoted heredoc (no expansion), only
 * replacing the file when it changes so re-runs leave mtimes alone;
 * `onChange` runs only then.
 */
export function writeFile(path: string, content: string, mode = '0644', onChange?: string): string {
  const body = content.endsWith('\n') ? content : content + '\n';
  let marker = 'LVS_CDKTF_EOF';
  while (body.includes(marker)) marker += '_';
  const replace = `mv -f ${sq(path + '.new')} ${sq(path)}${onChange ? `; ${onChange}` : ''}`;
  return [
    `cat > ${sq(path + '.new')} <<'${marker}'`,
    body + marker,
    `chmod ${mode} ${sq(path + '.new')}`,
    `if cmp -s ${sq(path + '.new')} ${sq(path)}; then rm -f ${sq(path + '.new')}; else ${replace}; fi`,
  ].join('\n');
}

/** Root of the per-owner state kept on each host. */
export const STATE_ROOT = '/var/lib/lvs-cdktf';

/** Directory holding one owner's bundle and recorded originals. */
export function stateDir(owner: string): string {
  return `${STATE_ROOT}/${owner}`;
}

/** Name of the systemd unit that re-applies an owner's runtime state at boot. */
export function unitName(owner: string): string {
  return `lvs-cdktf-${owner}.service`;
}

/**
 * Shell functions shared by create scripts: OS family detection (from
 * /etc/os-release, at run time) and package installation.
 */
export const OS_FUNCTIONS = `lvs_os_family() {
  # shellcheck disable=SC1091
  . /etc/os-release
  case " \${ID:-} \${ID_LIKE:-} " in
    *" debian "*|*" ubuntu "*) echo debian ;;
    *" rhel "*|*" fedora "*|*" centos "*|*" rocky "*|*" almalinux "*) echo rhel ;;
    *) echo "lvs-cdktf: unsupported OS '\${ID:-unknown}' (need a Debian or RHEL family host)" >&2; return 1 ;;
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
lvs_systemd() { [ -d /run/systemd/system ]; }`;
