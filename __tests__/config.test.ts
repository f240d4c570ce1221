import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ClusterConfig, ClusterStack, ConfigError, DEFAULT_TOPOLOGIES, LvsConfig, loadConfigFile, mergeCluster } from '../stacks';
import { resourcesOf, stacks } from './helpers';

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lvs-config-')), name);
  writeFileSync(file, text);
  return file;
}

/** Expects the file to be refused with exactly `file: <message>`, one line. */
function expectRefused(file: string, message: string): void {
  expect(() => loadConfigFile(file)).toThrow(ConfigError);
  expect(() => loadConfigFile(file)).toThrow(new Error(`${file}: ${message}`));
}

describe('config file shape', () => {
  it.each([
    ['constructor', '{"constructor": 1}', '(top level): unknown key "constructor" (expected one of resourceKind, backend, defaults, stacks)'],
    ['toString', '{"stacks": {"nat-stack": {"toString": "x"}}}', 'stacks.nat-stack: unknown key "toString" (expected one of director, service, realServers)'],
    [
      'hasOwnProperty',
      '{"defaults": {"hasOwnProperty": 1}}',
      'defaults: unknown key "hasOwnProperty" (expected one of host, port, user, privateKeyPath, hostKey, timeout, bastion)',
    ],
  ])('a key named like an Object method (%s) is an unknown key', (_n, text, message) => {
    expectRefused(write('c.json', text), message);
  });

  // Each form of message, at each kind of place: lib's props, the file's own fields, lists, backend options.
  it.each([
    ['[]', '(top level): expected a mapping'],
    ['{"defaults": {"bastion": {"port": "22"}}}', 'defaults.bastion.port: expected a number, got "22"'],
    ['{"stacks": {"nat-stack": {"director": {"connection": {"bastion": "jump"}}}}}', 'stacks.nat-stack.director.connection.bastion: expected a mapping'],
    [
      '{"stacks": {"dr-stack": {"realServers": [{"name": "web1", "interface": {"nmae": "ens33"}}]}}}',
      'stacks.dr-stack.realServers[0].interface: unknown key "nmae" (expected one of name, address)',
    ],
    ['{"stacks": {"dr-stack": {"realServers": [{"retired": "yes"}]}}}', 'stacks.dr-stack.realServers[0].retired: expected a boolean, got "yes"'],
    ['{"stacks": {"dr-stack": {"realServers": [{"sorry": true}]}}}', 'stacks.dr-stack.realServers[0].sorry: expected a mapping'],
    ['{"stacks": {"dr-stack": {"realServers": [{"sorry": {"port": 80}}]}}}', 'stacks.dr-stack.realServers[0].sorry: unknown key "port" (expected one of quorum, hysteresis)'],
    ['{"stacks": {"tun-stack": {"service": {"persistence": {"timeout": null}}}}}', 'stacks.tun-stack.service.persistence.timeout: expected a number, got null'],
    [
      '{"stacks": {"tun-stack": {"service": {"fwmark": 1}}}}',
      'stacks.tun-stack.service: unknown key "fwmark" (expected one of vip, port, protocol, scheduler, persistence, onePacket, healthCheck)',
    ],
    ['{"backend": {"type": "s3", "bucket": "b", "assumeRole": {"tags": {"team": 1}}}}', 'backend.assumeRole.tags.team: expected a string, got 1'],
  ])('%s is refused as file: path: detail', (text, message) => {
    expectRefused(write('c.json', text), message);
  });
});

describe('connection defaults', () => {
  const bastionOf = (stack: ClusterStack, name: string) => {
    const { bastion_host, bastion_port, bastion_user, bastion_private_key_path } = resourcesOf(stack).find((r) => r.name === `${name}_Host`)!.attributes as Record<string, unknown>;
    return { bastion_host, bastion_port, bastion_user, bastion_private_key_path };
  };

  it("a host's bastion merges field by field over the defaults' bastion", () => {
    const file = write(
      'c.yaml',
      [
        'defaults: { bastion: { host: jump.example.net, user: ops, privateKeyPath: keys/jump } }',
        'stacks:',
        '  dr-stack:',
        '    director: { connection: { bastion: { port: 2222 } } }',
        '    realServers:',
        '      - { name: web1, connection: { host: 10.0.0.12 }, interface: { name: ens33, address: 192.168.115.112/24 } }',
        '      - { name: web2, connection: { host: 10.0.0.13, bastion: { host: jump2.example.net } }, interface: { name: ens33, address: 192.168.115.113/24 } }',
      ].join('\n'),
    );
    const [, dr] = stacks(loadConfigFile(file));
    const key = join(file, '..', 'keys/jump');
    expect(bastionOf(dr, 'director')).toEqual({ bastion_host: 'jump.example.net', bastion_port: 2222, bastion_user: 'ops', bastion_private_key_path: key });
    expect(bastionOf(dr, 'web1')).toEqual({ bastion_host: 'jump.example.net', bastion_port: 22, bastion_user: 'ops', bastion_private_key_path: key });
    expect(bastionOf(dr, 'web2')).toEqual({ bastion_host: 'jump2.example.net', bastion_port: 22, bastion_user: 'ops', bastion_private_key_path: key });
  });

  it('layers in order: the defaults, the default topology, the stack; each bastion field from the last that sets it', () => {
    const JUMP_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExampleE';
    const topology: ClusterConfig = {
      ...DEFAULT_TOPOLOGIES.nat,
      director: { ...DEFAULT_TOPOLOGIES.nat.director, connection: { host: '10.0.0.10', bastion: { host: 'topology-jump', user: 'topology', hostKey: JUMP_KEY } } },
    };
    const config: LvsConfig = {
      defaults: { user: 'admin', bastion: { host: 'default-jump', port: 2200, user: 'default', privateKeyPath: '/keys/jump' } },
      stacks: { 'nat-stack': { director: { connection: { host: '10.0.0.11', bastion: { host: 'stack-jump', user: 'ops' } } } } },
    };
    expect(mergeCluster(topology, config, 'nat-stack').director.connection).toStrictEqual({
      host: '10.0.0.11',
      user: 'admin',
      bastion: { host: 'stack-jump', port: 2200, user: 'ops', privateKeyPath: '/keys/jump', hostKey: JUMP_KEY },
    });
  });

  it("adds none of lib's defaults (port 22, user root): lib applies them to what is unset", () => {
    const merged = mergeCluster(DEFAULT_TOPOLOGIES.dr, { defaults: { bastion: { host: 'jump' } } }, 'dr-stack');
    expect(merged.director.connection).toStrictEqual({ host: '192.168.115.111', bastion: { host: 'jump' } });
    expect(merged.realServers.map((r) => r.connection)).toStrictEqual([
      { host: '192.168.115.112', bastion: { host: 'jump' } },
      { host: '192.168.115.113', bastion: { host: 'jump' } },
    ]);
  });

  it('a bastion that is not a mapping, in a config given in code, reaches the construct as it is', () => {
    const config: LvsConfig = {
      defaults: { bastion: { host: 'jump' } },
      stacks: { 'nat-stack': { director: { connection: { host: '10.0.0.10', bastion: 'jump' as never } } } },
    };
    expect(() => stacks(config)).toThrow('nat-stack/director: connection.bastion: expected an object with a host, got "jump"');
  });
});
