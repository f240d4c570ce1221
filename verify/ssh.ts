/**
 * Runs one command on a host over SSH with the connection settings the
 * deploy uses (key file or agent, pinned host key, bastion), bounded by a
 * deadline: a host that refuses, never answers or never speaks SSH is
 * reported as unreachable, it does not hang the run.
 */
import { readFileSync } from 'fs';
import { homedir } from 'os';
import { NodeSSH } from 'node-ssh';
import type { SshEndpoint, SshTarget } from '../lib/connection';
import { hostPort } from '../lib/validation';

export type RunResult =
  | { readonly ok: true; readonly stdout: string; readonly stderr: string; readonly code: number | null; readonly ms: number }
  | { readonly ok: false; readonly error: string; readonly ms: number };

/** `~/x` as Terraform's file() reads it. */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

/** `host:port` (IPv6 in brackets), prefixed with the bastion when there is one. */
export function targetLabel(t: SshTarget): string {
  const hp = (e: SshEndpoint) => hostPort(e.host, e.port);
  return t.bastion ? `${hp(t)} via ${hp(t.bastion)}` : hp(t);
}

/** The base64 key blob of "ssh-ed25519 AAAA... comment". */
function keyBlob(hostKey: string): string {
  return hostKey.trim().split(/\s+/)[1] ?? '';
}

function authOptions(e: SshEndpoint): Record<string, unknown> {
  if (e.privateKeyPath) return { privateKey: readFileSync(expandHome(e.privateKeyPath), 'utf8') };
  const agent = process.env.SSH_AUTH_SOCK;
  if (!agent) throw new Error(`no private key path for ${e.user}@${e.host}:${e.port} and no SSH agent (SSH_AUTH_SOCK)`);
  return { agent };
}

/**
 * ssh2 options for one endpoint. With a pinned key, ssh2 hands the raw key
 * blob to `hostVerifier`; it must equal the pinned key's base64 part.
 */
function connectOptions(e: SshEndpoint, timeoutMs: number, onHostKey: (msg: string) => void): Record<string, unknown> {
  const opts: Record<string, unknown> = {
    host: e.host,
    port: e.port,
    username: e.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: 0,
    ...authOptions(e),
  };
  if (e.hostKey) {
    const want = keyBlob(e.hostKey);
    opts.hostVerifier = (key: Buffer | string) => {
      const got = Buffer.isBuffer(key) ? key.toString('base64') : String(key);
      if (got !== want) onHostKey(`host key of ${e.host}:${e.port} does not match the pinned key`);
      return got === want;
    };
  }
  return opts;
}

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; level?: string };
  const msg = e?.message ?? String(err);
  return e?.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

/**
 * Connects (through the bastion if any), runs `command` once, disconnects.
 * Never rejects: failures, including the deadline, come back as `ok: false`.
 */
export async function runOnHost(target: SshTarget, command: string, timeoutMs: number): Promise<RunResult> {
  const started = Date.now();
  const conns: NodeSSH[] = [];
  let hostKeyError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    for (const c of conns.reverse()) {
      try {
        c.dispose();
      } catch {
        /* already closed */
      }
    }
  };
  const guard = (ssh: NodeSSH) => {
    // node-ssh drops its error listener once connected; a later socket error must not crash the run.
    ssh.connection?.on('error', () => undefined);
  };
  const work = async (): Promise<RunResult> => {
    const remaining = () => Math.max(1000, timeoutMs - (Date.now() - started));
    let sock: unknown;
    if (target.bastion) {
      const jump = new NodeSSH();
      conns.push(jump);
      await jump.connect(connectOptions(target.bastion, remaining(), (m) => (hostKeyError = `bastion: ${m}`)) as never);
      guard(jump);
      sock = await jump.forwardOut('127.0.0.1', 0, target.host, target.port);
    }
    const ssh = new NodeSSH();
    conns.push(ssh);
    const opts = connectOptions(target, remaining(), (m) => (hostKeyError = m));
    if (sock) opts.sock = sock;
    await ssh.connect(opts as never);
    guard(ssh);
    const res = await ssh.execCommand(command, { noTrim: true });
    return { ok: true, stdout: res.stdout, stderr: res.stderr, code: res.code, ms: Date.now() - started };
  };
  const deadline = new Promise<RunResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, error: `no answer within ${Math.round(timeoutMs / 1000)} s`, ms: Date.now() - started }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      work().catch((err): RunResult => ({ ok: false, error: hostKeyError ?? describeError(err), ms: Date.now() - started })),
      deadline,
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    dispose();
  }
}
