/**
 * Input validation. Every check throws before anything is synthesized, with
 * the construct path and the field, so bad input never reaches a host and
 * nothing is half-written to cdktf.out.
 */
import { IConstruct } from 'constructs';
import { isIPv4, isIPv6 } from 'net';
import { isAbsolute, resolve } from 'path';

/** Invalid input: names the construct and the field at fault. */
export class LvsValidationError extends Error {
  /**
   * @param constructPath path of the construct whose input is invalid
   * @param field the input at fault, e.g. `connection.port`
   * @param detail what is wrong with it
   */
  constructor(
    public readonly constructPath: string,
    public readonly field: string,
    detail: string,
  ) {
    super(`${constructPath}: ${field}: ${detail}`);
    this.name = 'LvsValidationError';
  }
}

/** Throws an {@link LvsValidationError} for `field` of `scope`. */
export function fail(scope: IConstruct, field: string, detail: string): never {
  throw new LvsValidationError(scope.node.path, field, detail);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * The id of a construct about to be created in `scope`, checked before
 * `super()` so that an empty or taken id fails in this form, not with
 * constructs' own error and stack trace.
 */
export function checkId(scope: IConstruct, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new LvsValidationError(scope.node.path, 'id', `expected a non-empty string, got ${show(id)}`);
  }
  const taken = scope.node.tryFindChild(id);
  if (taken) throw new LvsValidationError(taken.node.path, 'id', `${show(id)} is already taken in ${scope.node.path} (${taken.constructor.name})`);
  return id;
}

/** A non-empty string. */
export function checkString(scope: IConstruct, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(scope, field, `expected a non-empty string, got ${show(value)}`);
  return value;
}

/** A real boolean: from untyped callers a string such as "false" would otherwise count as true. */
export function checkBool(scope: IConstruct, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(scope, field, `expected true or false, got ${show(value)}`);
  return value;
}

/** An integer in [min, max]. */
export function checkInt(scope: IConstruct, field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(scope, field, `expected an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/** A port number: an integer from 1 to 65535. */
export function checkPort(scope: IConstruct, field: string, value: unknown): number {
  return checkInt(scope, field, value, 1, 65535);
}

/** An IPv4 or IPv6 address, returned in the canonical form ipvsadm prints. */
export function checkIp(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (isIPv4(s)) {
    if (s.split('.').some((o) => o.length > 1 && o.startsWith('0'))) fail(scope, field, `${show(s)} has leading zeros`);
    return s;
  }
  if (isIPv6(s) && !s.includes('%')) return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  fail(scope, field, `expected an IPv4 or IPv6 address, got ${show(value)}`);
}

/** An address with its prefix length, as {@link checkCidr} returns it. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  /** `address/prefix`. */
  readonly cidr: string;
}

/**
 * An interface address with prefix length, e.g. 192.168.116.111/24: a host's
 * own unicast address (a DIP or RIP), never its subnet's network or broadcast
 * address. IPv6 link-local addresses are refused: ipvsadm rules and routes
 * name no zone, so the director could not reach one.
 */
export function checkCidr(scope: IConstruct, field: string, value: unknown): Cidr {
  const s = checkString(scope, field, value);
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) fail(scope, field, `expected an address with prefix length such as 192.168.116.111/24, got ${show(s)}`);
  const address = checkIp(scope, field, m[1]);
  const prefix = Number(m[2]);
  const max = address.includes(':') ? 128 : 32;
  if (prefix < 1 || prefix > max || String(prefix) !== m[2]) fail(scope, field, `prefix length must be 1-${max}, got ${show(m[2])}`);
  const cidr = { address, prefix, cidr: `${address}/${prefix}` };
  const why = notAHost(address);
  if (why) fail(scope, field, `${s} is ${why}; expected the host's own unicast address`);
  if (inSubnet(address, IPV6_LINK_LOCAL)) fail(scope, field, `${s} is link-local; use the interface's global or unique-local address`);
  const edge = subnetEdge(address, cidr);
  if (edge) fail(scope, field, `${s} is the ${edge} address of its subnet; expected the host's own address`);
  return cidr;
}

/**
 * A virtual IP: a unicast address clients are routed to. Link-local ones are
 * refused in both families: routers never forward them, so clients beyond
 * the director's link could not reach the service.
 */
export function checkVip(scope: IConstruct, field: string, value: unknown): string {
  const vip = checkIp(scope, field, value);
  const why = notAHost(vip) ?? (LINK_LOCAL.some((net) => inSubnet(vip, net)) ? 'link-local, which routers do not forward' : undefined);
  if (why) fail(scope, field, `${value} is ${why}; a VIP must be a unicast address clients can reach`);
  return vip;
}

function range(cidr: string): Cidr {
  const [address, prefix] = cidr.split('/');
  return { address, prefix: Number(prefix), cidr };
}

/** Ranges whose addresses belong to no single host, so none can be a VIP, RIP or DIP. */
const NOT_A_HOST: [Cidr, string][] = [
  [range('0.0.0.0/32'), 'the unspecified address'],
  [range('::/128'), 'the unspecified address'],
  [range('255.255.255.255/32'), 'the limited broadcast address'],
  [range('127.0.0.0/8'), 'a loopback address'],
  [range('::1/128'), 'the loopback address'],
  [range('224.0.0.0/4'), 'a multicast address'],
  [range('ff00::/8'), 'a multicast address'],
  // The kernel handles these as IPv4 traffic; ipvsadm rules never show them.
  [range('::ffff:0:0/96'), 'an IPv4-mapped IPv6 address (write the IPv4 address itself)'],
];
const IPV6_LINK_LOCAL = range('fe80::/10');
const LINK_LOCAL = [range('169.254.0.0/16'), IPV6_LINK_LOCAL];

function notAHost(ip: string): string | undefined {
  return NOT_A_HOST.find(([net]) => inSubnet(ip, net))?.[1];
}

/** Whether `ip` is the network or the broadcast address of the IPv4 subnet of `net` (a /31 or /32 has neither, RFC 3021). */
export function subnetEdge(ip: string, net: Cidr): 'network' | 'broadcast' | undefined {
  if (ip.includes(':') || net.address.includes(':') || net.prefix >= 31 || !inSubnet(ip, net)) return undefined;
  const hostBits = (1n << BigInt(32 - net.prefix)) - 1n;
  const host = toBigInt(ip) & hostBits;
  return host === 0n ? 'network' : host === hostBits ? 'broadcast' : undefined;
}

function toBigInt(ip: string): bigint {
  if (ip.includes('.') && !ip.includes(':')) {
    return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  }
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** `host:port`, with an IPv6 address in brackets (`[2001:db8::1]:80`); just the host without a port. */
export function hostPort(host: string, port?: number | string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

/** Whether `ip` lies in the subnet of `net`. */
export function inSubnet(ip: string, net: Cidr): boolean {
  if (ip.includes(':') !== net.address.includes(':')) return false;
  const bits = net.address.includes(':') ? 128 : 32;
  const shift = BigInt(bits - net.prefix);
  return toBigInt(ip) >> shift === toBigInt(net.address) >> shift;
}

/** A Linux interface name (at most 15 characters, nothing a shell or sysctl path would read specially). */
export function checkInterface(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(s)) {
    fail(scope, field, `expected an interface name of up to 15 letters, digits, '_', '.' or '-', got ${show(s)}`);
  }
  return s;
}

/** A host name or address to SSH to. */
export function checkHost(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (isIPv4(s) || isIPv6(s)) return s;
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
  if (s.length > 253 || !new RegExp(`^${label}(?:\\.${label})*$`).test(s)) {
    fail(scope, field, `expected a DNS name or IP address, got ${show(s)}`);
  }
  return s;
}

/** A POSIX user name. */
export function checkUser(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(s)) fail(scope, field, `expected a POSIX user name, got ${show(s)}`);
  return s;
}

/**
 * A local file path that Terraform reads (never its content), made absolute
 * against the app's working directory: Terraform runs in
 * cdktf.out/stacks/<stack> and would read a relative path from there.
 */
export function checkPath(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (!/^[A-Za-z0-9_./~+@-]+$/.test(s)) {
    fail(scope, field, `expected a file path of letters, digits and _ . / ~ + @ -, got ${show(s)}`);
  }
  return absolutePath(s, process.cwd());
}

/** `path` resolved against `base` unless it is absolute or starts with ~, which Terraform expands. */
export function absolutePath(path: string, base: string): string {
  return isAbsolute(path) || path.startsWith('~') ? path : resolve(base, path);
}

/**
 * What each host key type's blob holds after its type name, as SSH strings
 * (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4, OpenSSH PROTOCOL.u2f), so that a
 * truncated key fails here rather than as a mismatch at apply.
 */
const HOST_KEY_TYPES: Record<string, { fields: string; ok: (f: Buffer[]) => boolean }> = {
  'ssh-ed25519': { fields: 'a 32-byte key', ok: (f) => f.length === 1 && f[0].length === 32 },
  'sk-ssh-ed25519@openssh.com': { fields: 'a 32-byte key and an application', ok: (f) => f.length === 2 && f[0].length === 32 },
  'ssh-rsa': { fields: 'an exponent and a modulus', ok: (f) => f.length === 2 && f[0].length > 0 && f[1].length > 0 },
  ...Object.fromEntries(
    [['nistp256', 65], ['nistp384', 97], ['nistp521', 133]].map(([curve, size]) => [
      `ecdsa-sha2-${curve}`,
      { fields: `the curve ${curve} and a ${size}-byte point`, ok: (f: Buffer[]) => f.length === 2 && f[0].toString() === curve && f[1].length === size && f[1][0] === 4 },
    ]),
  ),
};

/** The SSH strings (uint32 length, then the bytes) a blob is made of, or undefined if it is not exactly a run of them. */
function sshStrings(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const end = at + 4 <= blob.length ? at + 4 + blob.readUInt32BE(at) : Infinity;
    if (end > blob.length) return undefined;
    out.push(blob.subarray(at + 4, end));
    at = end;
  }
  return out;
}

/**
 * A public SSH host key, returned as "<type> <base64>". A comment after it,
 * as in a .pub file ("ssh-ed25519 AAAA... root@web1"), is dropped, so the same
 * key always reaches Terraform the same way.
 */
export function checkHostKey(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value).trim();
  const [type, data = '', ...comment] = s.split(/[ \t]+/);
  if (!HOST_KEY_TYPES[type]) {
    const hint = HOST_KEY_TYPES[data] ? `; remove ${show(type)} in front (a known_hosts line's host names)` : '';
    fail(scope, field, `expected a public host key such as "ssh-ed25519 AAAA...", got ${show(s)}${hint}`);
  }
  if (/[\r\n]/.test(s) || comment.some((w) => HOST_KEY_TYPES[w])) fail(scope, field, 'holds more than one line or key; give one key');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || Buffer.from(data, 'base64').toString('base64') !== data) {
    fail(scope, field, `the key data ${show(data)} is not complete base64; copy the whole key`);
  }
  const [name, ...fields] = sshStrings(Buffer.from(data, 'base64')) ?? [];
  const actual = name?.toString();
  if (actual !== type && actual !== undefined && HOST_KEY_TYPES[actual]) fail(scope, field, `the key data is an ${actual} key, not ${type}`);
  if (actual !== type || !HOST_KEY_TYPES[type].ok(fields)) {
    fail(scope, field, `the key data is not a whole ${type} key (its type name, then ${HOST_KEY_TYPES[type].fields}); copy the whole key`);
  }
  return `${type} ${data}`;
}

/**
 * Terraform's SSH communicator reads a timeout with Go's time.ParseDuration
 * and, when that fails, silently uses 5m (communicator/ssh/provisioner.go,
 * safeDuration): a duration over int64 nanoseconds must not reach it.
 */
const MAX_DURATION: Record<string, number> = { s: 9223372036, m: 153722867, h: 2562047 };

/** A Terraform duration such as 30s, 2m or 1h. */
export function checkDuration(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  const m = /^([1-9][0-9]*)(s|m|h)$/.exec(s);
  if (!m) fail(scope, field, `expected a duration such as 30s, 5m or 1h, got ${show(s)}`);
  if (Number(m[1]) > MAX_DURATION[m[2]]) fail(scope, field, `${s} is longer than Terraform can hold (${MAX_DURATION.h}h)`);
  return s;
}

/** One of the `allowed` strings. */
export function checkOneOf<T extends string>(scope: IConstruct, field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(scope, field, `expected one of ${allowed.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

/** Text shown on a page or in a description: one line, printable, no quotes or shell syntax. */
export function checkLabel(scope: IConstruct, field: string, value: unknown): string {
  const s = checkString(scope, field, value);
  if (!/^[A-Za-z0-9 _.,:()@+/-]{1,200}$/.test(s)) fail(scope, field, `expected one line of plain text, got ${show(s)}`);
  return s;
}
