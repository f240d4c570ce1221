import { IConstruct } from 'constructs';
import {
  checkDuration,
  checkHost,
  checkHostKey,
  checkPath,
  checkPort,
  checkUser,
  fail,
} from './validation';

/** A jump host between Terraform and the target host. */
export interface BastionProps {
  /** Address of the bastion. */
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  /** @default - the target's user */
  readonly user?: string;
  /**
   * Path of the private key for the bastion; Terraform reads it, the key
   * never enters the synthesized config. Relative paths are resolved as for
   * the target's `privateKeyPath`.
   * @default - the target's key, or the SSH agent
   */
  readonly privateKeyPath?: string;
  /** Pinned public host key of the bastion. @default - not checked */
  readonly hostKey?: string;
}

/**
 * How Terraform reaches a host over SSH. This is the management address;
 * data-plane addresses (VIP, DIP, RIP) are declared separately.
 */
export interface SshConnectionProps {
  /** Management address or DNS name to SSH to. */
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  /** @default 'root' */
  readonly user?: string;
  /**
   * Path of the private key. Terraform reads the file at apply time; its
   * content never appears in the synthesized configuration. A relative path
   * is resolved at synth against the app's working directory
   * (`process.cwd()`, where cdktf runs the app), because Terraform runs in
   * `cdktf.out/stacks/<stack>` and would look there; a path starting with `~`
   * is left for Terraform to expand. (In the config file, relative paths are
   * relative to the file.)
   * @default - the SSH agent (SSH_AUTH_SOCK)
   */
  readonly privateKeyPath?: string;
  /** Pinned public host key ("ssh-ed25519 AAAA..."); a host presenting another key is refused. @default - not checked */
  readonly hostKey?: string;
  /** @default - no bastion */
  readonly bastion?: BastionProps;
  /** How long to keep trying to connect. @default '2m' */
  readonly timeout?: string;
}

/**
 * The connection as stored in the resource's own attributes (snake_case,
 * because Terraform's `self` paths are). Destroy-time provisioners may only
 * read `self`, so every step takes its connection from here.
 */
export type ConnectionRecord = Record<string, string | number | boolean>;

export function connectionRecord(scope: IConstruct, props: SshConnectionProps | undefined): ConnectionRecord {
  if (props === undefined || props === null || typeof props !== 'object') fail(scope, 'connection', 'is required');
  const rec: ConnectionRecord = {
    host: checkHost(scope, 'connection.host', props.host),
    port: checkPort(scope, 'connection.port', props.port ?? 22),
    user: checkUser(scope, 'connection.user', props.user ?? 'root'),
    timeout: checkDuration(scope, 'connection.timeout', props.timeout ?? '2m'),
  };
  if (props.privateKeyPath !== undefined) {
    rec.private_key_path = checkPath(scope, 'connection.privateKeyPath', props.privateKeyPath);
  }
  if (props.hostKey !== undefined) rec.host_key = checkHostKey(scope, 'connection.hostKey', props.hostKey);
  const b = props.bastion;
  if (b !== undefined) {
    rec.bastion_host = checkHost(scope, 'connection.bastion.host', b.host);
    rec.bastion_port = checkPort(scope, 'connection.bastion.port', b.port ?? 22);
    rec.bastion_user = checkUser(scope, 'connection.bastion.user', b.user ?? rec.user);
    const key = b.privateKeyPath ?? props.privateKeyPath;
    if (key !== undefined) rec.bastion_private_key_path = checkPath(scope, 'connection.bastion.privateKeyPath', key);
    if (b.hostKey !== undefined) rec.bastion_host_key = checkHostKey(scope, 'connection.bastion.hostKey', b.hostKey);
  }
  return rec;
}

/** Host, port and user of a connection record, for reports and verification. */
export function connectionSummary(rec: ConnectionRecord): { host: string; port: number; user: string } {
  return { host: String(rec.host), port: Number(rec.port), user: String(rec.user) };
}
