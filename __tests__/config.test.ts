import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError, loadConfigFile } from '../stacks';

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lvs-config-')), name);
  writeFileSync(file, text);
  return file;
}

describe('config file shape', () => {
  it.each([
    ['constructor', '{"constructor": 1}', '(top level)', 'unknown key "constructor" (expected one of resourceKind, backend, defaults, stacks)'],
    ['toString', '{"stacks": {"nat-stack": {"toString": "x"}}}', 'stacks.nat-stack', 'unknown key "toString" (expected one of director, service, realServers)'],
    ['hasOwnProperty', '{"defaults": {"hasOwnProperty": 1}}', 'defaults', 'unknown key "hasOwnProperty"'],
  ])('a key named like an Object method (%s) is an unknown key', (_n, text, path, detail) => {
    const file = write('c.json', text);
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(`${file}: ${path}: ${detail}`);
  });
});
