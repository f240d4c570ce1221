/**
 * Where each stack keeps its Terraform state: the config file's `backend`
 * key, made into one of cdktf's backend constructs for every stack, so that
 * a plan in CI runs against the team's state instead of a file on one
 * machine. Every stack gets a state of its own: `{stack}` in an option is
 * replaced with the stack's name, and the options that name the state (pg's
 * schemaName, s3's key, ...) must contain it, or default to a value that
 * does. HCP Terraform (cdktf's CloudBackend and RemoteBackend) is not among
 * the types: it names states by workspace objects, not by options.
 */
import { Construct } from 'constructs';
import {
  AzurermBackend,
  ConsulBackend,
  CosBackend,
  GcsBackend,
  HttpBackend,
  LocalBackend,
  OssBackend,
  PgBackend,
  S3Backend,
  SwiftBackend,
  TerraformBackend,
} from 'cdktf';
import { ConfigError, Schema, bool, list, num, obj, record, str } from './schema';

export interface BackendConfig {
  /** The Terraform backend type: one of the keys of BACKENDS (local, pg, s3, http, ...). */
  readonly type: string;
  /**
   * The backend's arguments, named as cdktf's backend classes name them:
   * Terraform's argument names in camelCase (conn_str is connStr). `{stack}`
   * in a value is replaced with the stack's name.
   */
  readonly [option: string]: unknown;
}

export interface BackendKind {
  /** The arguments the backend takes, and the schema of each. */
  readonly options: Record<string, Schema<unknown>>;
  /**
   * The arguments that name a stack's state (or its lock): each that is set
   * must contain `{stack}`, or the stacks would overwrite one another's state.
   */
  readonly stateOptions: readonly string[];
  /**
   * Value of the first state option when the config leaves it out.
   * @default - none: the backend's own default (local: terraform.<stack>.tfstate), or required
   */
  readonly stateDefault?: string;
  /**
   * Arguments Terraform cannot do without (and that have no environment variable).
   * @default - none
   */
  readonly required?: readonly string[];
  /**
   * Arguments that are file paths: relative ones are taken relative to the
   * config file, as privateKeyPath is, not to cdktf.out/stacks/<stack>.
   * @default - none
   */
  readonly files?: readonly string[];
  /**
   * How `{stack}` is spelled in this backend's arguments.
   * @default - the stack name as it is
   */
  readonly stackName?: (stack: string) => string;
  readonly create: (scope: Construct, options: Record<string, unknown>) => TerraformBackend;
}

const ARG_TYPES = { string: str(), number: num(), boolean: bool(), list: list(str()) };
type ArgType = keyof typeof ARG_TYPES;

/** Schemas of arguments by type, names separated by spaces: `{ string: 'a b', boolean: 'c' }`; `list` is a list of strings. */
function args(byType: Partial<Record<ArgType, string>>, nested: Record<string, Schema<unknown>> = {}): Record<string, Schema<unknown>> {
  const out: Record<string, Schema<unknown>> = { ...nested };
  for (const [type, names] of Object.entries(byType) as [ArgType, string][]) {
    for (const name of names.split(/\s+/)) out[name] = ARG_TYPES[type];
  }
  return out;
}

function backend<C>(
  Backend: new (scope: Construct, config: C) => TerraformBackend,
  kind: Omit<BackendKind, 'create'>,
): BackendKind {
  return { ...kind, create: (scope, options) => new Backend(scope, options as unknown as C) };
}

/**
 * The backend types, by Terraform's name. Option names and shapes follow
 * cdktf's backend config interfaces (a unit test compares them), plus
 * what Terraform 1.11 has and cdktf 0.21 does not name yet.
 */
export const BACKENDS: Record<string, BackendKind> = {
  local: backend(LocalBackend, {
    options: args({ string: 'path workspaceDir' }),
    stateOptions: ['path'],
    files: ['path', 'workspaceDir'],
  }),
  // Schemas are SQL identifiers: tun_stack reads better unquoted than "tun-stack".
  pg: backend(PgBackend, {
    options: args({ string: 'connStr schemaName', boolean: 'skipSchemaCreation skipTableCreation skipIndexCreation' }),
    stateOptions: ['schemaName'],
    stateDefault: 'lvs_cdktf_{stack}',
    stackName: (stack) => stack.replace(/-/g, '_'),
  }),
  s3: backend(S3Backend, {
    options: args(
      {
        string:
          'bucket key region endpoint acl accessKey secretKey kmsKeyId dynamodbTable profile sharedCredentialsFile token roleArn ' +
          'assumeRolePolicy externalId sessionName workspaceKeyPrefix dynamodbEndpoint iamEndpoint stsEndpoint stsRegion ' +
          'customCaBundle ec2MetadataServiceEndpoint ec2MetadataServiceEndpointMode httpProxy httpsProxy noProxy retryMode sseCustomerKey',
        boolean:
          'encrypt forcePathStyle usePathStyle skipCredentialsValidation skipRegionValidation skipRequestingAccountId ' +
          'skipMetadataApiCheck skipS3Checksum useLegacyWorkflow insecure ' +
          // Terraform 1.11's lock file next to the state (DynamoDB locking is deprecated): newer than cdktf's
          // S3BackendConfig, which passes it through like any option.
          'useLockfile',
        number: 'maxRetries',
        list: 'allowedAccountIds forbiddenAccountIds sharedConfigFiles sharedCredentialsFiles assumeRolePolicyArns assumeRoleTransitiveTagKeys',
      },
      {
        assumeRoleTags: record(str()),
        endpoints: obj(args({ string: 'dynamodb iam s3 sso sts' })),
        assumeRole: obj(
          args(
            { string: 'roleArn duration externalId policy sessionName sourceIdentity', list: 'policyArns transitiveTagKeys' },
            { tags: record(str()) },
          ),
        ),
        assumeRoleWithWebIdentity: obj(
          args({
            string: 'roleArn duration policy sessionName webIdentityToken webIdentityTokenFile',
            list: 'policyArns',
          }),
        ),
      },
    ),
    stateOptions: ['key'],
    stateDefault: 'lvs-cdktf/{stack}.tfstate',
    required: ['bucket'],
    files: ['customCaBundle', 'sharedCredentialsFile', 'sharedConfigFiles', 'sharedCredentialsFiles'],
  }),
  http: backend(HttpBackend, {
    options: args({
      string:
        'address updateMethod lockAddress lockMethod unlockAddress unlockMethod username password ' +
        'clientCertificatePem clientPrivateKeyPem clientCaCertificatePem',
      boolean: 'skipCertVerification',
      number: 'retryMax retryWaitMin retryWaitMax',
    }),
    stateOptions: ['address', 'lockAddress', 'unlockAddress'],
    required: ['address'],
  }),
  gcs: backend(GcsBackend, {
    options: args({
      string: 'bucket credentials accessToken prefix encryptionKey impersonateServiceAccount kmsEncryptionKey storeageCustomEndpoint',
      list: 'impersonateServiceAccountDelegates',
    }),
    stateOptions: ['prefix'],
    stateDefault: 'lvs-cdktf/{stack}',
    required: ['bucket'],
  }),
  azurerm: backend(AzurermBackend, {
    options: args({
      string:
        'storageAccountName containerName key environment endpoint metadataHost subscriptionId tenantId msiEndpoint sasToken ' +
        'accessKey resourceGroupName clientId clientSecret clientCertificatePassword clientCertificatePath oidcRequestUrl ' +
        'oidcRequestToken oidcToken oidcTokenFilePath',
      boolean: 'snapshot useMsi useMicrosoftGraph useOidc useAzureadAuth',
    }),
    stateOptions: ['key'],
    stateDefault: 'lvs-cdktf/{stack}.tfstate',
    required: ['storageAccountName', 'containerName'],
    files: ['clientCertificatePath', 'oidcTokenFilePath'],
  }),
  consul: backend(ConsulBackend, {
    options: args({ string: 'path accessToken address scheme datacenter httpAuth caFile certFile keyFile', boolean: 'gzip lock' }),
    stateOptions: ['path'],
    stateDefault: 'lvs-cdktf/{stack}',
    files: ['caFile', 'certFile', 'keyFile'],
  }),
  cos: backend(CosBackend, {
    options: args(
      { string: 'secretId secretKey securityToken region bucket prefix key acl endpoint domain', boolean: 'encrypt accelerate' },
      { assumeRole: obj(args({ string: 'roleArn sessionName policy', number: 'sessionDuration' })) },
    ),
    stateOptions: ['key'],
    stateDefault: 'lvs-cdktf/{stack}.tfstate',
    required: ['bucket'],
  }),
  oss: backend(OssBackend, {
    options: args(
      {
        string:
          'accessKey secretKey securityToken ecsRoleName region endpoint bucket prefix key tablestoreEndpoint tablestoreTable ' +
          'stsEndpoint acl sharedCredentialsFile profile assumeRoleRoleArn assumeRolePolicy assumeRoleSessionName',
        boolean: 'encrypt',
        number: 'assumeRoleSessionExpiration',
      },
      { assumeRole: obj(args({ string: 'roleArn policy sessionName', number: 'sessionExpiration' })) },
    ),
    stateOptions: ['key'],
    stateDefault: 'lvs-cdktf/{stack}.tfstate',
    required: ['bucket'],
    files: ['sharedCredentialsFile'],
  }),
  swift: backend(SwiftBackend, {
    options: args({
      string:
        'authUrl cloud container stateName userName userId password applicationCredentialId applicationCredentialName ' +
        'applicationCredentialSecret token regionName tenantId tenantName domainId domainName userDomainName userDomainId ' +
        'projectDomainName projectDomainId defaultDomain cacertFile cert key archiveContainer expireAfter',
      boolean: 'insecure',
    }),
    stateOptions: ['stateName'],
    stateDefault: 'lvs-cdktf-{stack}.tfstate',
    required: ['container'],
    files: ['cacertFile', 'cert', 'key'],
  }),
};

/**
 * Checks a backend setting: a known type, its arguments and their types,
 * and a state of its own for every stack.
 */
export function checkBackend(file: string, path: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(file, path, 'expected a mapping');
  const { type, ...options } = value as Record<string, unknown>;
  const kind = backendKind(type);
  if (!kind) {
    throw new ConfigError(file, `${path}.type`, `expected one of ${Object.keys(BACKENDS).join(', ')}, got ${JSON.stringify(type)}`);
  }
  // Terraform's documentation spells arguments in snake_case; say which name is meant.
  for (const key of Object.keys(options)) {
    const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (camel !== key && Object.prototype.hasOwnProperty.call(kind.options, camel)) {
      throw new ConfigError(file, `${path}.${key}`, `write it as ${camel} (cdktf's name for Terraform's ${key})`);
    }
  }
  obj(kind.options).check(file, path, options);
  for (const name of kind.required ?? []) {
    if (options[name] === undefined) throw new ConfigError(file, `${path}.${name}`, `required by the ${type} backend`);
  }
  for (const name of kind.stateOptions) {
    const v = options[name];
    if (typeof v === 'string' && !v.includes('{stack}')) {
      throw new ConfigError(file, `${path}.${name}`, `must contain {stack}: every stack needs a state of its own, got ${JSON.stringify(v)}`);
    }
  }
}

/** The backend's arguments for one stack: the state option defaulted, `{stack}` replaced. */
export function stackBackendOptions(config: BackendConfig, stack: string): Record<string, unknown> {
  const kind = knownBackend(config.type);
  const { type: _type, ...given } = config;
  const [stateOption] = kind.stateOptions;
  const defaulted = kind.stateDefault !== undefined && given[stateOption] === undefined;
  const options = defaulted ? { ...given, [stateOption]: kind.stateDefault } : given;
  const name = kind.stackName ? kind.stackName(stack) : stack;
  const expand = (v: unknown): unknown =>
    typeof v === 'string'
      ? v.split('{stack}').join(name)
      : Array.isArray(v)
        ? v.map(expand)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]))
          : v;
  return expand(options) as Record<string, unknown>;
}

/** Adds the configured backend to a stack (its only backend: cdktf adds its local default only when there is none). */
export function addBackend(stack: Construct, config: BackendConfig): TerraformBackend {
  return knownBackend(config.type).create(stack, stackBackendOptions(config, stack.node.id));
}

/** The kind of a backend type, if it is one (own keys only: "toString" is not a backend). */
export function backendKind(type: unknown): BackendKind | undefined {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(BACKENDS, type) ? BACKENDS[type] : undefined;
}

function knownBackend(type: string): BackendKind {
  const kind = backendKind(type);
  if (!kind) throw new Error(`unknown backend type "${type}" (expected one of ${Object.keys(BACKENDS).join(', ')})`);
  return kind;
}
