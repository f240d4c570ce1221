import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { BACKENDS, ConfigError, LvsConfig, loadConfigFile } from '../stacks';
import { stacks, synthJson } from './helpers';

const ROOT = resolve(__dirname, '..');

/** Each stack's synthesized `terraform` block, by stack name. */
function terraformBlocks(config: LvsConfig): Record<string, any> {
  return Object.fromEntries(stacks(config).map((s) => [s.node.id, synthJson(s).terraform]));
}

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lvs-backend-')), name);
  writeFileSync(file, text);
  return file;
}

/** Runs the app as cdktf does (in the repo, optionally with a config file); returns each cdk.tf.json. */
function synthMain(config?: string): Record<string, string> {
  const out = join(mkdtempSync(join(tmpdir(), 'lvs-out-')), 'cdktf.out');
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: out };
  delete env.LVS_CDKTF_CONFIG;
  const res = spawnSync('node', [join(ROOT, 'bin/app.js')], { cwd: ROOT, env: config ? { ...env, LVS_CDKTF_CONFIG: config } : env, encoding: 'utf8' });
  expect(res.stderr).toBe('');
  return Object.fromEntries(
    ['nat-stack', 'dr-stack', 'tun-stack'].map((s) => [s, readFileSync(join(out, 'stacks', s, 'cdk.tf.json'), 'utf8')]),
  );
}

describe('backend', () => {
  it('without a backend key the stacks keep cdktf\'s local default; type local without a path writes the same files', () => {
    for (const s of stacks()) expect(synthJson(s).terraform).toBeUndefined();
    const plain = synthMain();
    const local = synthMain(write('local.yaml', 'backend: { type: local }'));
    for (const name of ['nat-stack', 'dr-stack', 'tun-stack']) {
      const json = JSON.parse(plain[name]);
      expect(json.terraform.backend).toEqual({ local: { path: join(ROOT, `terraform.${name}.tfstate`) } });
      expect(local[name]).toBe(plain[name]);
    }
  });

  it('pg: one schema per stack, no connection string unless given (PG_CONN_STR supplies it)', () => {
    const blocks = terraformBlocks({ backend: { type: 'pg' } });
    expect(blocks).toEqual({
      'nat-stack': { backend: { pg: { schema_name: 'lvs_cdktf_nat_stack' } } },
      'dr-stack': { backend: { pg: { schema_name: 'lvs_cdktf_dr_stack' } } },
      'tun-stack': { backend: { pg: { schema_name: 'lvs_cdktf_tun_stack' } } },
    });
  });

  it('pg: a given schema name and connection string, {stack} spelled as an SQL identifier', () => {
    const blocks = terraformBlocks({
      backend: { type: 'pg', connStr: 'postgres://state.example.net/lb?sslmode=require', schemaName: 'edge_{stack}', skipSchemaCreation: true },
    });
    expect(blocks['tun-stack'].backend.pg).toEqual({
      conn_str: 'postgres://state.example.net/lb?sslmode=require',
      schema_name: 'edge_tun_stack',
      skip_schema_creation: true,
    });
    const schemas = Object.values(blocks).map((b) => b.backend.pg.schema_name);
    expect(new Set(schemas).size).toBe(3);
  });

  it('s3: one key per stack, defaulted or from a template; other options as Terraform names them', () => {
    const byDefault = terraformBlocks({ backend: { type: 's3', bucket: 'tf-state', region: 'eu-west-1', useLockfile: true } });
    expect(byDefault['nat-stack'].backend.s3).toEqual({
      bucket: 'tf-state',
      key: 'lvs-cdktf/nat-stack.tfstate',
      region: 'eu-west-1',
      use_lockfile: true,
    });
    const templated = terraformBlocks({ backend: { type: 's3', bucket: 'tf-state', key: 'network/{stack}/terraform.tfstate' } });
    expect(Object.values(templated).map((b) => b.backend.s3.key)).toEqual([
      'network/nat-stack/terraform.tfstate',
      'network/dr-stack/terraform.tfstate',
      'network/tun-stack/terraform.tfstate',
    ]);
  });

  it('http: {stack} in the state and lock addresses', () => {
    const blocks = terraformBlocks({
      backend: { type: 'http', address: 'https://state.example.net/{stack}', lockAddress: 'https://state.example.net/{stack}/lock' },
    });
    expect(blocks['dr-stack'].backend.http).toEqual({
      address: 'https://state.example.net/dr-stack',
      lock_address: 'https://state.example.net/dr-stack/lock',
    });
  });

  it('relative file paths in backend options are relative to the config file', () => {
    const file = write('c.yaml', 'backend: { type: local, path: "state/terraform.{stack}.tfstate" }');
    const blocks = terraformBlocks(loadConfigFile(file));
    expect(blocks['nat-stack'].backend.local.path).toBe(join(file, '..', 'state/terraform.nat-stack.tfstate'));
    const s3File = write('s3.yaml', 'backend: { type: s3, bucket: b, sharedCredentialsFiles: [aws/credentials, /etc/aws/credentials] }');
    expect(loadConfigFile(s3File).backend!.sharedCredentialsFiles).toEqual([join(s3File, '..', 'aws/credentials'), '/etc/aws/credentials']);
  });

  it('the documented example: pg, a schema per stack; its commented alternatives are valid too', () => {
    const example = join(ROOT, 'docs/config.example.yaml');
    const schemas = Object.values(terraformBlocks(loadConfigFile(example))).map((b) => b.backend.pg.schema_name);
    expect(schemas).toEqual(['lb_nat_stack', 'lb_dr_stack', 'lb_tun_stack']);
    const alternatives = readFileSync(example, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('# backend: {'))
      .map((l) => l.slice(2).replace(/\s+#.*$/, ''));
    expect(alternatives).toHaveLength(3);
    for (const text of alternatives) {
      const config = loadConfigFile(write('alternative.yaml', text));
      expect(Object.keys(terraformBlocks(config)['nat-stack'].backend)).toEqual([config.backend!.type]);
    }
  });

  it.each([
    ['an unknown type', '{"backend": {"type": "postgres"}}', 'backend.type: expected one of local, pg, s3, http, gcs, azurerm, consul, cos, oss, swift, got "postgres"'],
    ['no type', '{"backend": {"connStr": "postgres://db/state"}}', 'backend.type: expected one of'],
    ['an inherited name as type', '{"backend": {"type": "toString"}}', 'backend.type: expected one of'],
    ['not a mapping', '{"backend": "pg"}', 'backend: expected a mapping'],
    ['Terraform\'s snake_case name', '{"backend": {"type": "pg", "conn_str": "postgres://db/state"}}', "backend.conn_str: write it as connStr (cdktf's name for Terraform's conn_str)"],
    ['an unknown option', '{"backend": {"type": "pg", "database": "state"}}', 'backend: unknown key "database" (expected one of connStr, schemaName'],
    ['a wrong type', '{"backend": {"type": "pg", "skipTableCreation": "yes"}}', 'backend.skipTableCreation: expected a boolean, got "yes"'],
    ['a wrong nested type', '{"backend": {"type": "s3", "bucket": "b", "endpoints": {"s3": 1}}}', 'backend.endpoints.s3: expected a string, got 1'],
    ['a missing required option', '{"backend": {"type": "s3", "key": "{stack}.tfstate"}}', 'backend.bucket: required by the s3 backend'],
    ['one schema for all stacks', '{"backend": {"type": "pg", "schemaName": "terraform_remote_state"}}', 'backend.schemaName: must contain {stack}: every stack needs a state of its own'],
    ['one key for all stacks', '{"backend": {"type": "s3", "bucket": "b", "key": "lb.tfstate"}}', 'backend.key: must contain {stack}'],
    ['one lock for all stacks', '{"backend": {"type": "http", "address": "https://s/{stack}", "lockAddress": "https://s/lock"}}', 'backend.lockAddress: must contain {stack}'],
    ['one local file for all stacks', '{"backend": {"type": "local", "path": "terraform.tfstate"}}', 'backend.path: must contain {stack}'],
  ])('rejects %s with the file and the field', (_n, text, message) => {
    const file = write('c.json', text);
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(`${file}: ${message}`);
  });

  it('checks a backend given in code too, before building anything', () => {
    expect(() => stacks({ backend: { type: 'pg', schemaName: 'shared' } })).toThrow('config: backend.schemaName: must contain {stack}');
  });

  it('a bad backend stops main; nothing is written to cdktf.out', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lvs-out-')), 'cdktf.out');
    const file = write('bad.yaml', 'backend: { type: pg, schema_name: lb }');
    const res = spawnSync('node', [join(ROOT, 'bin/app.js')], {
      cwd: ROOT,
      env: { ...process.env, LVS_CDKTF_CONFIG: file, CDKTF_OUTDIR: out },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`lvs-cdktf: ${file}: backend.schema_name: write it as schemaName`);
    expect(existsSync(out)).toBe(false);
  });

  // The table of options is written by hand: it must name exactly what
  // cdktf's backend classes take (plus what Terraform 1.11 added since), so
  // a cdktf upgrade that adds or renames an option fails here instead of in
  // a user's config.
  const BEYOND_CDKTF: Record<string, string[]> = { s3: ['useLockfile'] };
  it.each(Object.keys(BACKENDS))('%s options are those of cdktf\'s backend class', (type) => {
    const dts = readFileSync(require.resolve(`cdktf/lib/backends/${type}-backend.d.ts`), 'utf8');
    const cdktf = interfaceFields(dts, /export interface \w+BackendConfig \{/);
    expect(Object.keys(BACKENDS[type].options).sort()).toEqual([...cdktf, ...(BEYOND_CDKTF[type] ?? [])].sort());
  });
});

/** Field names of the first interface matching `start`, at its top level. */
function interfaceFields(dts: string, start: RegExp): string[] {
  const from = dts.search(start);
  expect(from).toBeGreaterThanOrEqual(0);
  const fields: string[] = [];
  let depth = 0;
  for (const line of dts.slice(from).split('\n')) {
    const field = /^\s*readonly (\w+)\??:/.exec(line);
    if (field && depth === 1) fields.push(field[1]);
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    if (depth === 0 && fields.length > 0) break;
  }
  return fields;
}
