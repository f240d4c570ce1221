/** docs/claims.md names, for each capability, the lab test that proves it: each named test must exist. */
import { readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..');
const rows = readFileSync(join(ROOT, 'docs/claims.md'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| Capability'))
  .map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '')));

describe('docs/claims.md', () => {
  it('lists capabilities, most of them proven on the lab', () => {
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter(([, proof]) => proof.includes(' › ')).length).toBeGreaterThan(20);
  });

  it.each(rows.filter(([, proof]) => !proof.startsWith('*')).map(([capability, proof]) => [capability, proof]))('%s: %s exists', (_capability, proof) => {
    for (const ref of proof.split('<br>')) {
      const m = /^`([a-z0-9-]+)` › (.+)$/.exec(ref);
      expect(m).not.toBeNull();
      const suite = readFileSync(join(ROOT, '__tests__/e2e', `${m![1]}.e2e.test.ts`), 'utf8');
      // A suite may be a shared one run with this suite's cluster (pair-suite.ts): its tests are in the module it imports.
      const shared = [...suite.matchAll(/from '\.\/([a-z0-9-]+)'/g)].map((i) => readFileSync(join(ROOT, '__tests__/e2e', `${i[1]}.ts`), 'utf8'));
      const source = [suite, ...shared].join('\n');
      expect(source).toContain(`'${m![2]}'`.replace(/^'(.*\$\{.*)'$/, '`$1`'));
    }
  });
});
