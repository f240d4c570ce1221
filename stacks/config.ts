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
import type { SshConnectionProps } from '../lib';
import type { PersistenceOptions } from '../lib/virtual-service';
import type { Scheduler } from '../lib/ipvs';
import type { Protocol, WebServerKind } from '../lib';
import { BackendConfig, backendKind, checkBackend } from './backend';
import { ConfigError, Shape, checkShape } from './schema';

export interface ClusterConfig {
  readonly director: {
    readonly connection: SshConnectionProps;
    readonly interfaces: { readonly name: string; readonly address: string }[];
    readonly ownsWholeTable?: boolean;
    readonly drainSeconds?: number;
  };
  readonly service: {
    readonly vip: string;
    readonly port?: number;
    readonly protocol?: Protocol;
    readonly scheduler?: Scheduler;
    readonly persistence?: PersistenceOptions;
  };
  readonly realServers: RealServerConfig[];
}

export interface RealServerConfig {
  /** Construct id of the server: keep it stable, it names the Terraform resource. */
  readonly name: string;
  readonly connection: SshConnectionProps;
  readonly interface: { readonly name: string; readonly address: string };
  readonly weight?: number;
  readonly port?: number;
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
  /** NAT only: the director address to use as gateway. */
  readonly gateway?: string;
  readonly webServer?: WebServerKind;
  /** Leaves the cluster: drained out of the table and its host cleaned (see RetiredRealServer). */
  readonly retired?: boolean;
}

export interface StackConfig {
  readonly director?: Partial<ClusterConfig['director']>;
  readonly service?: Partial<ClusterConfig['service']>;
  /** Replaces the default list of real servers. */
  readonly realServers?: RealServerConfig[];
}

export interface LvsConfig {
  /** @default 'terraform_data' */
  readonly resourceKind?: string;
  /** Connection settings every host starts from (host-level settings win). */
  readonly defaults?: Partial<SshConnectionProps>;
  readonly stacks?: Record<string, StackConfig>;
  /**
   * Where every stack keeps its Terraform state, for example
   * `{ type: pg, schemaName: "lb_{stack}" }` with the connection string in
   * PG_CONN_STR. Each stack gets a state of its own (see BACKENDS).
   * @default - cdktf's local backend: terraform.<stack>.tfstate in the directory cdktf runs in
   */
  readonly backend?: BackendConfig;
}

export const CONFIG_ENV = 'LVS_CDKTF_CONFIG';
export const CONFIG_CONTEXT = 'lvs-cdktf:config';

const CONNECTION: Shape = {
  host: 'string',
  port: 'number',
  user: 'string',
  privateKeyPath: 'string',
  hostKey: 'string',
  timeout: 'string',
  bastion: { host: 'string', port: 'number', user: 'string', privateKeyPath: 'string', hostKey: 'string' },
};
const INTERFACE: Shape = { name: 'string', address: 'string' };
const SCHEMA: Shape = {
  resourceKind: 'string',
  backend: checkBackend,
  defaults: CONNECTION,
  stacks: {
    '*': {
      director: { connection: CONNECTION, interfaces: [INTERFACE], ownsWholeTable: 'boolean', drainSeconds: 'number' },
      service: {
        vip: 'string',
        port: 'number',
        protocol: 'string',
        scheduler: 'string',
        persistence: { timeout: 'number', netmask: 'string' },
      },
      realServers: [
        {
          name: 'string',
          connection: CONNECTION,
          interface: INTERFACE,
          weight: 'number',
          port: 'number',
          upperThreshold: 'number',
          lowerThreshold: 'number',
          gateway: 'string',
          webServer: 'string',
          retired: 'boolean',
        },
      ],
    },
  },
};

/** Reads and checks a config file; relative key (and backend file) paths become relative to the file. */
export function loadConfigFile(file: string): LvsConfig {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '(file)', `cannot read: ${(e as Error).message}`);
  }
  checkShape(file, '', raw ?? {}, SCHEMA);
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

/** Applies a stack's config over its default topology. */
export function mergeCluster(defaults: ClusterConfig, config: LvsConfig, stackName: string): ClusterConfig {
  const stack = config.stacks?.[stackName] ?? {};
  const conn = (c: SshConnectionProps | undefined): SshConnectionProps => ({ ...config.defaults, ...c }) as SshConnectionProps;
  const director = { ...defaults.director, ...stack.director };
  return {
    director: { ...director, connection: conn({ ...defaults.director.connection, ...stack.director?.connection }) },
    service: { ...defaults.service, ...stack.service },
    realServers: (stack.realServers ?? defaults.realServers).map((r) => ({ ...r, connection: conn(r.connection) })),
  };
}
