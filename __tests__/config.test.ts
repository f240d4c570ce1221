import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError, loadConfigFile } from '../stacks';

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
    ['{"stacks": {"tun-stack": {"service": {"persistence": {"timeout": null}}}}}', 'stacks.tun-stack.service.persistence.timeout: expected a number, got null'],
    [
      '{"stacks": {"tun-stack": {"service": {"fwmark": 1}}}}',
      'stacks.tun-stack.service: unknown key "fwmark" (expected one of vip, port, protocol, scheduler, persistence)',
    ],
    ['{"backend": {"type": "s3", "bucket": "b", "assumeRole": {"tags": {"team": 1}}}}', 'backend.assumeRole.tags.team: expected a string, got 1'],
  ])('%s is refused as file: path: detail', (text, message) => {
    expectRefused(write('c.json', text), message);
  });
});
