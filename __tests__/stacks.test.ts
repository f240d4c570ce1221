import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Testing } from 'cdktf';
import { ResourceKind } from '../lib';
import { ConfigError, DEFAULT_TOPOLOGIES, loadConfigFile } from '../stacks';
import { resourcesOf, stacks, synthJson } from './helpers';

const ROOT = resolve(__dirname, '..');

describe('default stacks are the tutorial topologies', () => {
  it.each(stacks().map((s) => [s.node.id, s] as const))('%s matches its snapshot', (_name, stack) => {
    expect(Testing.synth(stack)).toMatchSnapshot();
  });

  it('rules: port 80, rr, two web nodes each, forwarding by class', () => {
    const [nat, dr, tun] = stacks();
    expect(nat.director.desiredRules).toEqual([
      '-A -t 192.168.115.111:80 -s rr',
      '-a -t 192.168.115.111:80 -r 192.168.116.112:80 -m -w 1',
      '-a -t 192.168.115.111:80 -r 192.168.116.113:80 -m -w 1',
    ]);
    expect(dr.director.desiredRules).toEqual([
      '-A -t 192.168.115.110:80 -s rr',
      '-a -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 1',
      '-a -t 192.168.115.110:80 -r 192.168.115.113:80 -g -w 1',
    ]);
    expect(tun.director.desiredRules).toEqual([
      '-A -t 192.168.100.101:80 -s rr',
      '-a -t 192.168.100.101:80 -r 192.168.100.1:80 -i -w 1 --tun-type ipip',
      '-a -t 192.168.100.101:80 -r 192.168.100.2:80 -i -w 1 --tun-type ipip',
    ]);
  });

  it('the stacks are independent: no cross-stack references or remote state', () => {
    for (const s of stacks()) {
      const json = synthJson(s);
      expect(json.data).toBeUndefined();
      expect(JSON.stringify(json)).not.toMatch(/terraform_remote_state|cross-stack/);
    }
  });

  it('web pages name their host', () => {
    const [nat] = stacks();
    const web1 = resourcesOf(nat).find((r) => r.name === 'web1_Host')!;
    expect(web1.create).toContain("lvs_web_server nginx 'web1 (192.168.116.112)'");
  });
});

describe('Terraform accepts the synthesized stacks', () => {
  const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' };
  it.each(stacks({}, ResourceKind.TERRAFORM_DATA).map((s) => [s.node.id, s] as const))('%s (terraform_data) validates', (_n, stack) => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-tf-'));
    writeFileSync(join(dir, 'cdk.tf.json'), Testing.synth(stack));
    execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, env, stdio: 'pipe' });
    const out = execFileSync('terraform', ['validate', '-json'], { cwd: dir, env, encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ valid: true, error_count: 0 });
  });

  it('a stack with a retired server validates (removed block with a destroy provisioner)', () => {
    const [nat] = stacks({ stacks: { 'nat-stack': { realServers: [
      { name: 'web1', connection: { host: '192.168.116.112' }, interface: { name: 'ens33', address: '192.168.116.112/24' } },
      { name: 'web2', connection: { host: '192.168.116.113' }, interface: { name: 'ens33', address: '192.168.116.113/24' }, retired: true },
    ] } } });
    const dir = mkdtempSync(join(tmpdir(), 'lvs-tf-'));
    writeFileSync(join(dir, 'cdk.tf.json'), Testing.synth(nat));
    execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, env, stdio: 'pipe' });
    const out = execFileSync('terraform', ['validate', '-json'], { cwd: dir, env, encoding: 'utf8' });
    expect(JSON.parse(out)).toMatchObject({ valid: true });
  });
});

describe('config file', () => {
  const write = (name: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-cfg-'));
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('YAML: points hosts elsewhere and resolves key paths relative to the file', () => {
    const file = write(
      'lab.yaml',
      [
        'resourceKind: null_resource',
        'defaults: { privateKeyPath: keys/id_ed25519, timeout: 30s }',
        'stacks:',
        '  dr-stack:',
        '    director: { connection: { host: 127.0.0.1, port: 2221 } }',
        '    service: { scheduler: wrr }',
      ].join('\n'),
    );
    const cfg = loadConfigFile(file);
    const [, dr] = stacks(cfg);
    const director = resourcesOf(dr).find((r) => r.name === 'director_Host')!;
    expect(director.type).toBe('null_resource');
    expect(director.attributes).toMatchObject({ host: '127.0.0.1', port: '2221', timeout: '30s', private_key_path: join(file, '..', 'keys/id_ed25519') });
    expect(dr.director.desiredRules[0]).toBe('-A -t 192.168.115.110:80 -s wrr');
  });

  it.each([
    ['unknown key', '{"stacks": {"nat-stack": {"servce": {}}}}', /stacks\.nat-stack: unknown key "servce"/],
    ['wrong type', '{"stacks": {"nat-stack": {"director": {"interfaces": {}}}}}', /stacks\.nat-stack\.director\.interfaces: expected a list/],
    ['number as string', '{"defaults": {"port": "22"}}', /defaults\.port: expected a number/],
    ['not JSON', '{"stacks": ', /cannot read/],
  ])('rejects %s with the file and the path', (_n, text, message) => {
    const file = write('c.json', text);
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(message);
  });

  // JSON has no such numbers; copied through it they became null, so the default (drainSeconds 30, weight 1).
  it.each([
    ['.nan', 'director: { drainSeconds: .nan }', 'stacks.nat-stack.director.drainSeconds', 'NaN'],
    ['.inf', 'service: { port: .inf }', 'stacks.nat-stack.service.port', 'Infinity'],
    ['-.inf', 'service: { persistence: { timeout: -.inf } }', 'stacks.nat-stack.service.persistence.timeout', '-Infinity'],
    ['.NaN', 'realServers: [{ name: web1, weight: .NaN }]', 'stacks.nat-stack.realServers[0].weight', 'NaN'],
    ['+.Inf', 'director: { connection: { port: +.Inf } }', 'stacks.nat-stack.director.connection.port', 'Infinity'],
    ['1e400', 'realServers: [{ name: web1, upperThreshold: 1e400 }]', 'stacks.nat-stack.realServers[0].upperThreshold', 'Infinity'],
  ])('YAML %s is refused with the file and the path, not taken as the default', (_n, yaml, path, shown) => {
    const file = write('c.yaml', `stacks:\n  nat-stack:\n    ${yaml}\n`);
    expect(() => loadConfigFile(file)).toThrow(new ConfigError(file, path, `expected a finite number, got ${shown}`));
  });

  it('YAML non-finite numbers are refused in defaults and backend options too', () => {
    const defaults = write('d.yaml', 'defaults: { port: .nan }\n');
    expect(() => loadConfigFile(defaults)).toThrow(`${defaults}: defaults.port: expected a finite number, got NaN`);
    const backend = write('b.yaml', 'backend: { type: s3, bucket: b, maxRetries: .inf }\n');
    expect(() => loadConfigFile(backend)).toThrow(`${backend}: backend.maxRetries: expected a finite number, got Infinity`);
  });

  it('a string where a boolean belongs in a config given in code is refused, not taken as true', () => {
    const servers = DEFAULT_TOPOLOGIES.nat.realServers.map((r) => ({ ...r, retired: 'false' as never }));
    expect(() => stacks({ stacks: { 'nat-stack': { realServers: servers } } })).toThrow(
      'nat-stack: cluster.realServers[0].retired: expected true or false, got "false"',
    );
  });

  it('a real server marked sorry is the service\'s sorry server, with its port and quorum; weights and thresholds it has none', () => {
    const [web1, web2] = DEFAULT_TOPOLOGIES.nat.realServers;
    const sorry = { ...web2, name: 'sorry', port: 8081, sorry: { quorum: 1 } };
    const [nat] = stacks({ stacks: { 'nat-stack': { service: { healthCheck: { type: 'tcp' } }, realServers: [web1, sorry] } } });
    expect(nat.service.realServers.map((r) => r.node.id)).toEqual(['web1']);
    expect(nat.service._entry().sorry).toMatchObject({ realServer: { server: 'nat-stack/sorry', port: 8081 }, quorum: 1, hysteresis: 0 });
    expect(() => stacks({ stacks: { 'nat-stack': { service: { healthCheck: { type: 'tcp' } }, realServers: [web1, { ...sorry, weight: 2 }] } } })).toThrow(
      'nat-stack: cluster.realServers[1].weight: a sorry server has none: keepalived adds it at weight 1',
    );
    expect(() => stacks({ stacks: { 'nat-stack': { realServers: [web1, sorry] } } })).toThrow('nat-stack/director/web: sorryServer: needs a healthCheck');
  });

  it('a real server named twice, or like the director, fails naming the construct path', () => {
    const [web1, web2] = DEFAULT_TOPOLOGIES.nat.realServers;
    expect(() => stacks({ stacks: { 'nat-stack': { realServers: [web1, { ...web2, name: 'web1' }] } } })).toThrow(
      'nat-stack/web1: id: "web1" is already taken in nat-stack (NatRealServer)',
    );
    expect(() => stacks({ stacks: { 'nat-stack': { realServers: [{ ...web1, name: 'director' }] } } })).toThrow(
      'nat-stack/director: id: "director" is already taken in nat-stack (LvsDirector)',
    );
  });

  it('rejects an unknown stack name', () => {
    expect(() => stacks({ stacks: { 'nat-stak': {} } })).toThrow(/stacks\.nat-stak: unknown stack/);
  });

  describe('main', () => {
    const run = (config: string) => {
      const out = mkdtempSync(join(tmpdir(), 'lvs-out-'));
      const res = spawnSync('node', [join(ROOT, 'bin/app.js')], {
        cwd: ROOT,
        env: { ...process.env, LVS_CDKTF_CONFIG: config, CDKTF_OUTDIR: join(out, 'cdktf.out') },
        encoding: 'utf8',
      });
      return { ...res, outdir: join(out, 'cdktf.out') };
    };

    it('bad values in the config stop synth with the construct path and field; nothing is written', () => {
      const file = write('bad.json', JSON.stringify({ stacks: { 'tun-stack': { service: { vip: '192.168.100.101; reboot' } } } }));
      const res = run(file);
      expect(res.status).toBe(1);
      expect(res.stderr).toContain('lvs-cdktf: tun-stack/director/web: vip: expected an IPv4 or IPv6 address');
      expect(existsSync(res.outdir)).toBe(false);
    });

    it('a good config synthesizes all three stacks', () => {
      const file = write('good.json', JSON.stringify({ defaults: { port: 2200 } }));
      const res = run(file);
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      for (const s of ['nat-stack', 'dr-stack', 'tun-stack']) expect(existsSync(join(res.outdir, 'stacks', s, 'cdk.tf.json'))).toBe(true);
    });

    it('run without the cdktf CLI (npm run synth), it reads the context of cdktf.json in its directory', () => {
      const dir = mkdtempSync(join(tmpdir(), 'lvs-project-'));
      writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ app: 'node bin/app.js', context: { 'lvs-cdktf:resourceKind': 'null_resource' } }));
      const { CDKTF_CONTEXT_JSON: _cli, LVS_CDKTF_CONFIG: _config, ...env } = process.env;
      const res = spawnSync('node', [join(ROOT, 'bin/app.js')], { cwd: dir, env, encoding: 'utf8' });
      expect(res.stderr).toBe('');
      const json = JSON.parse(readFileSync(join(dir, 'cdktf.out/stacks/nat-stack/cdk.tf.json'), 'utf8'));
      expect(Object.keys(json.resource)).toEqual(['null_resource']);
    });
  });
});

describe('documented example config', () => {
  it('loads and builds', () => {
    const cfg = loadConfigFile(join(ROOT, 'docs/config.example.yaml'));
    const [, dr] = stacks(cfg);
    expect(dr.director.desiredRules).toEqual([
      '-A -t 192.168.115.110:80 -s wrr -p 300',
      '-a -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 2',
      '-a -t 192.168.115.110:80 -r 192.168.115.113:80 -g -w 1',
    ]);
    expect(synthJson(dr).removed[0].from).toBe('terraform_data.web3_Host');
  });
});
