/**
 * Small, pure helpers for rendering POSIX sh. Every value that reaches a
 * script has been validated by the constructs already; quoting here is the
 * second line of defence, not the first.
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

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
 * Writes `content` to `path` on the host through the library's one writer,
 * `lvs_write` (replaced only when the content changes), from a quoted
 * heredoc (no expansion). {@link embeddedFiles} reads these back.
 */
export function writeFile(path: string, content: string, mode = '0644'): string {
  const body = content.endsWith('\n') ? content : content + '\n';
  let marker = 'LVS_CDKTF_EOF';
  while (body.includes(marker)) marker += '_';
  return `lvs_write ${sq(path)} ${mode} <<'${marker}'\n${body}${marker}`;
}

/**
 * A shell variable set to `lines` from a quoted heredoc (no expansion), for
 * a library function's argument: `name=$(cat <<'EOF' ... EOF\n)`.
 */
export function heredocVar(name: string, lines: string[], eof: string): string {
  return `${name}=$(cat <<'${eof}'\n${lines.join('\n')}\n${eof}\n)`;
}

// A file as writeFile renders it; and as scripts before lvs_write wrote it
// (`cat > 'path.new'`), so that a review against an older commit still
// compares file by file.
const WRITTEN = /(?:lvs_write '([^']+)' \d+|cat > '([^']+)\.new') <<'(LVS_CDKTF_EOF_*)'\n([\s\S]*?)\n\3\n/g;

/** The files a script writes with {@link writeFile}, by path on the host. */
export function embeddedFiles(script: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const m of script.matchAll(WRITTEN)) files[m[1] ?? m[2]] = m[4] + '\n';
  return files;
}

/**
 * The script with the bodies of the given files replaced by a one-line
 * pointer, so that a report showing those files separately does not print
 * them twice.
 */
export function elideFiles(script: string, paths: string[]): string {
  return script.replace(WRITTEN, (whole, path: string | undefined, old: string | undefined, eof: string) => {
    const file = path ?? old!;
    return paths.includes(file) ? whole.slice(0, whole.indexOf('\n') + 1) + `# … ${file} (shown above) …\n${eof}\n` : whole;
  });
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
 * The shell library (lvs.sh) as it ships in scripts: without its comments,
 * which are for readers of the file, but with shellcheck's directives.
 */
export const LIBRARY = readFileSync(join(__dirname, 'lvs.sh'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !/^\s*#(?! shellcheck disable)/.test(line))
  .join('\n');
