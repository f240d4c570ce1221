/**
 * The README's library examples work as written: each TypeScript block of
 * "Library usage" type-checks (strict) and synthesizes, with the package's
 * imports pointed at this checkout.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '..');

function libraryExamples(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library usage'), readme.indexOf('\n### Resource kind'));
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** The example with `lvs-cdktf` and the framework imported from this checkout. */
function localized(source: string): string {
  return source
    .replace(/from 'lvs-cdktf'/g, `from ${JSON.stringify(join(ROOT, 'lib'))}`)
    .replace(/from '(cdktf|constructs)'/g, (_m, name) => `from ${JSON.stringify(join(ROOT, 'node_modules', name))}`);
}

const examples = libraryExamples();

it('the library section has its examples', () => {
  expect(examples.length).toBeGreaterThanOrEqual(2);
});

describe.each(examples.map((source, i) => [i + 1, source] as const))('README library example %i', (_n, source) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-readme-'));
  const file = join(dir, 'main.ts');
  writeFileSync(file, localized(source));

  it('type-checks', () => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--target', 'ES2020', '--module', 'commonjs', '--esModuleInterop', '--skipLibCheck', '--types', 'node', file], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
  }, 60_000);

  it('synthesizes every host step with its scripts', () => {
    const out = join(dir, 'cdktf.out');
    execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [file], { cwd: dir, env: { ...process.env, CDKTF_OUTDIR: out }, encoding: 'utf8', stdio: 'pipe' });
    const stacks = readdirSync(join(out, 'stacks'));
    expect(stacks.length).toBeGreaterThan(0);
    for (const stack of stacks) {
      const file = join(out, 'stacks', stack, 'cdk.tf.json');
      expect(existsSync(file)).toBe(true);
      const steps = Object.values<any>(JSON.parse(readFileSync(file, 'utf8')).resource.terraform_data).filter((r) => r.provisioner);
      expect(steps.length).toBeGreaterThanOrEqual(3);
      for (const step of steps) expect(step.input.destroy_script).toMatch(/^#!\/bin\/sh\nset -eu\n/);
    }
  }, 60_000);
});
