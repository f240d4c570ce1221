import { IConstruct } from 'constructs';
import { Framework, frameworkOf } from './framework';
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

/** The defaults of {@link SshConnectionProps}, applied here and nowhere else. */
export const CONNECTION_DEFAULTS = { port: 22, user: 'root', timeout: '2m' } as const;

// What Terraform checks of a reference once it knows the value (RE2 syntax).
const HOST_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$';
const HOST_KEY_PATTERN = '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh[.]com) [A-Za-z0-9+/]+={0,2}$';

/**
 * One field of the record: the prop it comes from, how it is checked, what
 * Terraform checks when it is a reference, and the argument of Terraform's
 * connection block that reads it.
 */
interface Field {
  /** Record key; for the bastion, with the `bastion_` prefix. */
  readonly key: string;
  /** Field path in messages. */
  readonly field: string;
  /** Argument of Terraform's `connection` block. */
  readonly argument: string;
  /** Whether Terraform reads it as a file (a key path): the argument gets file(). */
  readonly file?: boolean;
  /** What a reference's value must match once known; `port` for 1..65535. Without it, the field takes no reference. */
  readonly reference?: string;
}

const TARGET: readonly Field[] = [
  { key: 'host', field: 'connection.host', argument: 'host', reference: HOST_PATTERN },
  { key: 'port', field: 'connection.port', argument: 'port', reference: 'port' },
  { key: 'user', field: 'connection.user', argument: 'user' },
  { key: 'timeout', field: 'connection.timeout', argument: 'timeout' },
  { key: 'private_key_path', field: 'connection.privateKeyPath', argument: 'private_key', file: true },
  { key: 'host_key', field: 'connection.hostKey', argument: 'host_key', reference: HOST_KEY_PATTERN },
];
const BASTION: readonly Field[] = [
  { key: 'bastion_host', field: 'connection.bastion.host', argument: 'bastion_host', reference: HOST_PATTERN },
  { key: 'bastion_port', field: 'connection.bastion.port', argument: 'bastion_port', reference: 'port' },
  { key: 'bastion_user', field: 'connection.bastion.user', argument: 'bastion_user' },
  { key: 'bastion_private_key_path', field: 'connection.bastion.privateKeyPath', argument: 'bastion_private_key', file: true },
  { key: 'bastion_host_key', field: 'connection.bastion.hostKey', argument: 'bastion_host_key', reference: HOST_KEY_PATTERN },
];
const FIELDS = [...TARGET, ...BASTION];

/**
 * Checks a connection and returns it as the record the resources store;
 * throws {@link LvsValidationError} on invalid input.
 */
export function connectionRecord(scope: IConstruct, props: SshConnectionProps | undefined): ConnectionRecord {
  if (props === undefined || props === null || typeof props !== 'object') fail(scope, 'connection', 'is required');
  const { Token } = frameworkOf(scope);
  // A reference is passed through as is; its value is checked by a precondition (referencePreconditions).
  const known = <T>(value: unknown, check: (v: unknown) => T): T => (Token.isUnresolved(value) ? (value as T) : check(value));
  const rec: ConnectionRecord = {
    host: known(props.host, (v) => checkHost(scope, 'connection.host', v)),
    port: known(props.port ?? CONNECTION_DEFAULTS.port, (v) => checkPort(scope, 'connection.port', v)),
    user: checkUser(scope, 'connection.user', props.user ?? CONNECTION_DEFAULTS.user),
    timeout: checkDuration(scope, 'connection.timeout', props.timeout ?? CONNECTION_DEFAULTS.timeout),
  };
  if (props.privateKeyPath !== undefined) {
    rec.private_key_path = checkPath(scope, 'connection.privateKeyPath', props.privateKeyPath);
  }
  if (props.hostKey !== undefined) rec.host_key = known(props.hostKey, (v) => checkHostKey(scope, 'connection.hostKey', v));
  const b = props.bastion;
  if (b === null || (b !== undefined && typeof b !== 'object')) fail(scope, 'connection.bastion', `expected an object with a host, got ${JSON.stringify(b)}`);
  if (b !== undefined) {
    rec.bastion_host = known(b.host, (v) => checkHost(scope, 'connection.bastion.host', v));
    rec.bastion_port = known(b.port ?? CONNECTION_DEFAULTS.port, (v) => checkPort(scope, 'connection.bastion.port', v));
    rec.bastion_user = checkUser(scope, 'connection.bastion.user', b.user ?? rec.user);
    const key = b.privateKeyPath ?? props.privateKeyPath;
    if (key !== undefined) rec.bastion_private_key_path = checkPath(scope, 'connection.bastion.privateKeyPath', key);
    if (b.hostKey !== undefined) rec.bastion_host_key = known(b.hostKey, (v) => checkHostKey(scope, 'connection.bastion.hostKey', v));
  }
  return rec;
}

/**
 * Terraform's `connection` block for a record kept in the resource's
 * attribute `root` (`input`, `triggers`): every argument read from `self`,
 * as destroy-time provisioners require. Plain `${self...}` strings rather
 * than cdktf tokens: they pass through verbatim, and each token would
 * capture a stack trace (most of synth time for large clusters).
 * @internal
 */
export function selfConnection(root: string, rec: ConnectionRecord): Record<string, string> {
  const block: Record<string, string> = { type: 'ssh' };
  for (const f of FIELDS) {
    if (rec[f.key] === undefined) continue;
    block[f.argument] = f.file ? `\${file(self.${root}.${f.key})}` : `\${self.${root}.${f.key}}`;
  }
  // With a key file the agent is not asked: a loaded agent would offer its keys first.
  block.agent = rec.private_key_path === undefined ? 'true' : 'false';
  return block;
}

/**
 * The synth-time checks of the record's fields given as Terraform
 * references, as lifecycle preconditions that Terraform evaluates once it
 * knows the value.
 * @internal
 */
export function referencePreconditions(fw: Framework, path: string, rec: ConnectionRecord): { condition: unknown; errorMessage: string }[] {
  return FIELDS.flatMap((f) => {
    const value = rec[f.key];
    if (value === undefined || !f.reference || !fw.Token.isUnresolved(value)) return [];
    return [
      f.reference === 'port'
        ? { condition: fw.Op.and(fw.Op.gte(value, 1), fw.Op.lte(value, 65535)), errorMessage: `${path}: ${f.field}: expected a port from 1 to 65535` }
        : { condition: fw.Fn.can(fw.Fn.regex(f.reference, value as string)), errorMessage: `${path}: ${f.field}: does not match ${f.reference}` },
    ];
  });
}

/** One SSH endpoint as a client reaches it: a host, or the bastion in front of it. */
export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private key file; otherwise the SSH agent ($SSH_AUTH_SOCK). */
  readonly privateKeyPath?: string;
  /** Pinned public host key, "ssh-ed25519 AAAA..."; any other key is refused. */
  readonly hostKey?: string;
}

/** A host as a client reaches it, decoded from a record. */
export interface SshTarget extends SshEndpoint {
  readonly bastion?: SshEndpoint;
}

/** Decodes a record, as synthesized (a step's `input` or `triggers`), into how a client reaches the host. */
export function targetOf(rec: Record<string, unknown>): SshTarget {
  const str = (k: string) => (rec[k] === undefined || rec[k] === null ? undefined : String(rec[k]));
  const endpoint = (prefix: string, user: string | undefined): SshEndpoint => ({
    host: String(rec[`${prefix}host`]),
    port: Number(rec[`${prefix}port`] ?? CONNECTION_DEFAULTS.port),
    user: str(`${prefix}user`) ?? user ?? CONNECTION_DEFAULTS.user,
    privateKeyPath: str(`${prefix}private_key_path`),
    hostKey: str(`${prefix}host_key`),
  });
  const target = endpoint('', undefined);
  return { ...target, bastion: str('bastion_host') ? endpoint('bastion_', target.user) : undefined };
}

/** Where a host is reached over SSH, as the topology records it (no key paths). */
export interface ConnectionSummary {
  /** A Terraform expression where the app gave a reference. */
  readonly host: string;
  /** A Terraform expression (a string) where the app gave a reference. */
  readonly port: number | string;
  readonly user: string;
}

/**
 * Host, port and user of a connection record, for reports and verification.
 * A reference stays a token: it is recorded as the Terraform expression.
 */
export function connectionSummary(scope: IConstruct, rec: ConnectionRecord): ConnectionSummary {
  const { Token } = frameworkOf(scope);
  return { host: String(rec.host), port: Token.isUnresolved(rec.port) ? Token.asString(rec.port) : Number(rec.port), user: String(rec.user) };
}
