/**
 * The library as a package: what the tarball holds, what the package root
 * exports, and a refusal to synthesize a tree made with another copy of the
 * framework than the library's.
 */
import { execFileSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import * as api from '../lib';

const ROOT = resolve(__dirname, '..');

describe('the npm package', () => {
  it('holds the compiled library, its declarations and shell library, README, licence and package.json, nothing else', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: ROOT, encoding: 'utf8' }));
    const files: string[] = pack.files.map((f: { path: string }) => f.path).sort();
    const other = files.filter((f) => !/^dist\/lib\/.+\.(js|d\.ts)$/.test(f) && !['LICENSE', 'README.md', 'package.json', 'dist/lib/scripts/lvs.sh'].includes(f));
    expect(other).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/lib/index.js', 'dist/lib/index.d.ts']));
    // Every module of lib/ is compiled into it (the scripts the constructs render among them).
    expect(files).toContain('dist/lib/scripts/bundle.js');
    // The scripts read the shell library next to them at synth.
    expect(files).toContain('dist/lib/scripts/lvs.sh');
  }, 120_000);

  it('declarations a consumer type-checks with skipLibCheck off name no type the build strips (@internal)', () => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--skipLibCheck', 'false', '--types', 'node', join(ROOT, 'dist/lib/index.d.ts')], { cwd: ROOT, encoding: 'utf8' });
  }, 120_000);

  it('declares the framework and constructs as peers and has no runtime dependency of its own', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@cdktf/provider-null', 'cdktf', 'cdktn', 'constructs']);
    expect(pkg.peerDependenciesMeta).toEqual({ cdktf: { optional: true }, cdktn: { optional: true }, '@cdktf/provider-null': { optional: true } });
    expect(pkg.scripts.prepare).toBeDefined();
  });

  it('exports the hand-picked API and none of the plumbing', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'ConfiguredHost',
        'DrRealServer',
        'FRAMEWORKS',
        'HEALTH_CHECK_TYPES',
        'LvsDirector',
        'LvsDirectorPair',
        'LvsValidationError',
        'NatRealServer',
        'PROTOCOLS',
        'RESOURCE_KIND_CONTEXT',
        'RealServer',
        'ResourceKind',
        'RetiredRealServer',
        'SCHEDULERS',
        'TunRealServer',
        'VirtualService',
      ].sort(),
    );
  });
});

describe('two copies of the framework', () => {
  let dir: string;
  beforeAll(() => {
    // A second copy of cdktf beside the library's, sharing its constructs (what a symlinked checkout or an undeduped tree gives).
    dir = mkdtempSync(join(tmpdir(), 'lvs-two-copies-'));
    mkdirSync(join(dir, 'node_modules'));
    cpSync(join(ROOT, 'node_modules/cdktf'), join(dir, 'node_modules/cdktf'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules/constructs'), join(dir, 'node_modules/constructs'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a stack made with another copy of cdktf is refused at construction, naming the fix', () => {
    const other = require(join(dir, 'node_modules/cdktf'));
    expect(other.TerraformStack).not.toBe(require('cdktf').TerraformStack);
    const stack = new other.TerraformStack(new other.App({ outdir: join(dir, 'out') }), 'edge');
    expect(
      () =>
        new api.LvsDirector(stack, 'lb1', {
          connection: { host: '10.0.0.10' },
          interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
        }),
    ).toThrow(/^edge\/lb1: scope: stack edge was made with a copy of cdktf\/cdktn that lvs-cdktf does not share \(it loads cdktf at .*\); install one copy: .*npm dedupe/);
  });

  it('a scope from another copy of constructs is refused the same way', () => {
    const constructsCopy = join(dir, 'constructs-copy');
    cpSync(join(ROOT, 'node_modules/constructs'), constructsCopy, { recursive: true });
    const { Construct: OtherConstruct } = require(constructsCopy);
    const root = new OtherConstruct(undefined, '');
    expect(() => new api.DrRealServer(root, 'web1', { connection: { host: '10.0.0.12' }, dataInterface: { name: 'ens33', address: '192.168.115.112/24' } })).toThrow(
      /^web1: scope: made with another copy of constructs than lvs-cdktf's .*npm dedupe/,
    );
  });
});
