import { IConstruct } from 'constructs';
import { frameworkOf } from './framework';
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
  /**
   * SSH port of the bastion.
   * @default 22
   */
  readonly port?: number;
  /**
   * User to log in to the bastion as.
   * @default - the target's user
   */
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
 *
 * `host`, `port` and `hostKey` may be Terraform references (tokens) to
 * resources of the same stack, such as the address of an instance the app
 * creates: Terraform then configures the host after it exists, and the checks
 * made here at synth run as preconditions once the value is known.
 */
export interface SshConnectionProps {
  /** Management address or DNS name to SSH to; a token is checked when Terraform knows it. */
  readonly host: string;
  /**
   * SSH port of the host.
   * @default 22
   */
  readonly port?: number;
  /**
   * The login user. A user other than root runs every create and destroy
   * script through `sudo -n` (non-interactive: it needs a NOPASSWD rule for
   * `sh`), because configuring IPVS, sysctls and addresses needs root.
   * @default 'root'
   */
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
  /**
   * Jump host to reach the host through.
   * @default - no bastion
   */
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

// What Terraform checks of a reference once it knows the value (RE2 syntax).
const HOST_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$';
const HOST_KEY_PATTERN = '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh[.]com) [A-Za-z0-9+/]+={0,2}$';

/** Which fields of a connection record may be Terraform references, and how to check their value when it is known. */
export const REFERENCE_FIELDS: Record<string, { readonly field: string; readonly pattern?: string; readonly port?: boolean }> = {
  host: { field: 'connection.host', pattern: HOST_PATTERN },
  port: { field: 'connection.port', port: true },
  host_key: { field: 'connection.hostKey', pattern: HOST_KEY_PATTERN },
  bastion_host: { field: 'connection.bastion.host', pattern: HOST_PATTERN },
  bastion_port: { field: 'connection.bastion.port', port: true },
  bastion_host_key: { field: 'connection.bastion.hostKey', pattern: HOST_KEY_PATTERN },
};

/**
 * Checks a connection and returns it as the record the resources store;
 * throws {@link LvsValidationError} on invalid input.
 */
export function connectionRecord(scope: IConstruct, props: SshConnectionProps | undefined): ConnectionRecord {
  if (props === undefined || props === null || typeof props !== 'object') fail(scope, 'connection', 'is required');
  const { Token } = frameworkOf(scope);
  // A reference is passed through as is; HostScript checks its value with a precondition.
  const known = <T>(value: unknown, check: (v: unknown) => T): T => (Token.isUnresolved(value) ? (value as T) : check(value));
  const rec: ConnectionRecord = {
    host: known(props.host, (v) => checkHost(scope, 'connection.host', v)),
    port: known(props.port ?? 22, (v) => checkPort(scope, 'connection.port', v)),
    user: checkUser(scope, 'connection.user', props.user ?? 'root'),
    timeout: checkDuration(scope, 'connection.timeout', props.timeout ?? '2m'),
  };
  if (props.privateKeyPath !== undefined) {
    rec.private_key_path = checkPath(scope, 'connection.privateKeyPath', props.privateKeyPath);
  }
  if (props.hostKey !== undefined) rec.host_key = known(props.hostKey, (v) => checkHostKey(scope, 'connection.hostKey', v));
  const b = props.bastion;
  if (b === null || (b !== undefined && typeof b !== 'object')) fail(scope, 'connection.bastion', `expected an object with a host, got ${JSON.stringify(b)}`);
  if (b !== undefined) {
    rec.bastion_host = known(b.host, (v) => checkHost(scope, 'connection.bastion.host', v));
    rec.bastion_port = known(b.port ?? 22, (v) => checkPort(scope, 'connection.bastion.port', v));
    rec.bastion_user = checkUser(scope, 'connection.bastion.user', b.user ?? rec.user);
    const key = b.privateKeyPath ?? props.privateKeyPath;
    if (key !== undefined) rec.bastion_private_key_path = checkPath(scope, 'connection.bastion.privateKeyPath', key);
    if (b.hostKey !== undefined) rec.bastion_host_key = known(b.hostKey, (v) => checkHostKey(scope, 'connection.bastion.hostKey', v));
  }
  return rec;
}

/**
 * Host, port and user of a connection record, for reports and verification.
 * A reference stays a token: it is recorded as the Terraform expression.
 */
export function connectionSummary(scope: IConstruct, rec: ConnectionRecord): { host: string; port: number | string; user: string } {
  const { Token } = frameworkOf(scope);
  return { host: String(rec.host), port: Token.isUnresolved(rec.port) ? Token.asString(rec.port) : Number(rec.port), user: String(rec.user) };
}
