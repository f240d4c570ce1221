/**
 * The stack configuration file: hosts, keys and addresses for the three
 * stacks, so they can be pointed at real hosts without editing code.
 * JSON or YAML; chosen by LVS_CDKTF_CONFIG or the cdktf.json context key
 * "lvs-cdktf:config". The loader checks the shape (unknown keys, types of
 * containers); the constructs check every value and name the field.
 */
import { readFileSync } from 'fs';
import { dirname, resolve } from 'path';
import { parse as parseYaml } from 'yaml';
import { absolutePath } from '../lib/validation';
import type {
  BastionProps,
  HealthCheckOptions,
  InterfaceProps,
  IpvsTunables,
  LvsDirectorProps,
  PersistenceOptions,
  Protocol,
  RealServerOptions,
  Scheduler,
  SorryServerOptions,
  SshConnectionProps,
  TunnelProps,
  VirtualServiceOptions,
  WebServerKind,
} from '../lib';
import { BackendConfig, backendKind, checkBackend } from './backend';
import { ConfigError, FieldsOf, Infer, bool, custom, list, num, obj, objOf, optional, partial, record, str } from './schema';

// The director, the service and connections are lib's props, documented
// there; objOf holds each schema to its type's fields, so a field added in
// lib fails to compile here until the config file takes it too.
const BASTION = objOf<BastionProps>({ host: str(), port: num(), user: str(), privateKeyPath: str(), hostKey: str() });
const CONNECTION = objOf<SshConnectionProps>({
  host: str(),
  port: num(),
  user: str(),
  privateKeyPath: str(),
  hostKey: str(),
  timeout: str(),
  bastion: BASTION,
});
const INTERFACE = objOf<InterfaceProps>({ name: str(), address: str() });
const TUNABLES = objOf<IpvsTunables>({
  expireNodestConn: bool(),
  expireQuiescentTemplate: bool(),
  // 'auto' or a number: the director checks which.
  connReuseMode: custom<IpvsTunables['connReuseMode']>(() => undefined),
  sloppyTcp: bool(),
  conntrack: bool(),
  tcpTimeout: num(),
  tcpFinTimeout: num(),
  udpTimeout: num(),
  connTableBits: num(),
});
const DIRECTOR = objOf<LvsDirectorProps>({
  connection: CONNECTION,
  interfaces: list(INTERFACE),
  ownsWholeTable: bool(),
  drainSeconds: num(),
  tunables: TUNABLES,
});
/** The stack's one virtual service: an address service, so a VIP and no fwmark. */
const SERVICE = objOf<Omit<VirtualServiceOptions, 'fwmark' | 'markRules'> & Required<Pick<VirtualServiceOptions, 'vip'>>>({
  vip: str(),
  port: num(),
  protocol: str<Protocol>(),
  scheduler: str<Scheduler>(),
  persistence: objOf<PersistenceOptions>({ timeout: num(), netmask: str() }),
  onePacket: bool(),
  healthCheck: objOf<HealthCheckOptions>({
    type: str<HealthCheckOptions['type']>(),
    path: str(),
    // Numbers and 'from-to' ranges: the service checks each.
    statusCodes: custom<HealthCheckOptions['statusCodes']>(() => undefined),
    command: str(),
    payload: str(),
    requireReply: bool(),
    port: num(),
    intervalSeconds: num(),
    timeoutSeconds: num(),
    retries: num(),
    retryDelaySeconds: num(),
    inhibitOnFailure: bool(),
  }),
});
/** How a real server is added to the service: its weight, port and thresholds. */
const SERVER_OPTIONS: FieldsOf<RealServerOptions> = { weight: num(), port: num(), upperThreshold: num(), lowerThreshold: num() };

const REAL_SERVER = obj({
  /** Construct id of the server: keep it stable, it names the Terraform resource. */
  name: str(),
  /** How Terraform reaches the host (management address). */
  connection: CONNECTION,
  /** The server's data-plane interface and its address (RIP): the construct's dataInterface. */
  interface: INTERFACE,
  ...SERVER_OPTIONS,
  /** NAT only: the director address to use as gateway. */
  gateway: optional(str()),
  /** TUN only: the encapsulation and MSS clamp (TunRealServer's `tunnel`). @default - IPIP */
  tunnel: optional(
    objOf<TunnelProps>({
      type: str<NonNullable<TunnelProps['type']>>(),
      port: num(),
      // 'auto' or a number: the construct checks which.
      mss: custom<TunnelProps['mss']>(() => undefined),
    }),
  ),
  /** A web server to install and start on the host. @default - none */
  webServer: optional(str<WebServerKind>()),
  /** Leaves the cluster: drained out of the table and its host cleaned (see RetiredRealServer). */
  retired: optional(bool()),
  /**
   * The service's sorry server instead of one of its real servers (a
   * health-checked service's; see VirtualService.setSorryServer): `{}`, or its `quorum` and `hysteresis`.
   * @default - a real server
   */
  sorry: optional(objOf<Omit<SorryServerOptions, 'port'>>({ quorum: num(), hysteresis: num() })),
});

/** A stack's part of the file, merged over its default topology: the director's and the service's fields one by one. */
const STACK = obj({
  director: optional(partial(DIRECTOR)),
  service: optional(partial(SERVICE)),
  /** Replaces the default list of real servers. */
  realServers: optional(list(REAL_SERVER)),
});

const SCHEMA = obj({
  /** @default 'terraform_data' */
  resourceKind: optional(str()),
  /**
   * Where every stack keeps its Terraform state, for example
   * `{ type: pg, schemaName: "lb_{stack}" }` with the connection string in
   * PG_CONN_STR. Each stack gets a state of its own (see BACKENDS).
   * @default - cdktf's local backend: terraform.<stack>.tfstate in the directory cdktf runs in
   */
  backend: optional(custom<BackendConfig>(checkBackend)),
  /** Connection settings every host starts from; a host's own settings win field by field, the bastion's too. */
  defaults: optional(partial(CONNECTION)),
  /** By stack name (nat-stack, dr-stack, tun-stack). */
  stacks: optional(record(STACK)),
});

/** A real server, as the config file and the default topologies give it. */
export interface RealServerConfig extends Infer<typeof REAL_SERVER> {}
/** A stack's settings in the config file. */
export interface StackConfig extends Infer<typeof STACK> {}
/** The config file. */
export interface LvsConfig extends Infer<typeof SCHEMA> {}

/** What a stack builds: its default topology, with the config file's settings merged over it. */
export interface ClusterConfig {
  readonly director: Infer<typeof DIRECTOR>;
  readonly service: Infer<typeof SERVICE>;
  readonly realServers: RealServerConfig[];
}

export const CONFIG_ENV = 'LVS_CDKTF_CONFIG';
export const CONFIG_CONTEXT = 'lvs-cdktf:config';

/** Reads and checks a config file; relative key (and backend file) paths become relative to the file. */
export function loadConfigFile(file: string): LvsConfig {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(file)', `cannot read: ${(e as Error).message}`);
  }
  SCHEMA.check(file, '', raw ?? {});
  const base = dirname(resolve(file));
  const absolute = (p: unknown) => (typeof p === 'string' ? absolutePath(p, base) : p);
  const config = JSON.parse(JSON.stringify(raw ?? {}), (key, value) =>
    key === 'privateKeyPath' ? absolute(value) : value,
  ) as LvsConfig;
  if (!config.backend) return config;
  const files = backendKind(config.backend.type)?.files ?? [];
  const backend = Object.fromEntries(
    Object.entries(config.backend).map(([k, v]) => [k, files.includes(k) ? (Array.isArray(v) ? v.map(absolute) : absolute(v)) : v]),
  ) as BackendConfig;
  return { ...config, backend };
}

/** The config file named by the environment (first) or by app context, if any. */
export function configPath(context: unknown): string | undefined {
  const fromEnv = process.env[CONFIG_ENV];
  if (fromEnv) return fromEnv;
  return typeof context === 'string' && context ? context : undefined;
}

const isMapping = (v: unknown): v is object => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Connection settings with `over` winning, field by field, the bastion's
 * fields too: a host's bastion port keeps the bastion host and user of the
 * defaults. A bastion that is not a mapping (a config given in code) wins
 * as it is, for the construct to name.
 */
function overlay(under: Partial<SshConnectionProps>, over: Partial<SshConnectionProps> | undefined): Partial<SshConnectionProps> {
  const merged = { ...under, ...over };
  return isMapping(under.bastion) && isMapping(over?.bastion) ? { ...merged, bastion: { ...under.bastion, ...over.bastion } } : merged;
}

/** Applies a stack's config over its default topology. */
export function mergeCluster(defaults: ClusterConfig, config: LvsConfig, stackName: string): ClusterConfig {
  const stack = config.stacks?.[stackName] ?? {};
  // The file's defaults, then the host's settings in order. Nothing else:
  // lib defaults what is still unset (port 22, user root) and names a
  // missing host.
  const connection = (...host: (SshConnectionProps | undefined)[]) => [config.defaults, ...host].reduce(overlay, {}) as SshConnectionProps;
  return {
    director: {
      ...defaults.director,
      ...stack.director,
      connection: connection(defaults.director.connection, stack.director?.connection),
    },
    service: { ...defaults.service, ...stack.service },
    realServers: (stack.realServers ?? defaults.realServers).map((r) => ({ ...r, connection: connection(r.connection) })),
  };
}
