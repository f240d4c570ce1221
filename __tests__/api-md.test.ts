import { readFileSync } from 'fs';
import { join } from 'path';
import { findUndocumented, renderApiMarkdown } from '../bin/api-md';

const root = join(__dirname, '..');
const fixture = join(__dirname, 'fixtures', 'api-md');

/** The first line where two texts differ, to point at what changed. */
function firstDifference(committed: string, rendered: string): string {
  const a = committed.split('\n');
  const b = rendered.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `first difference at line ${at + 1}:\n  committed: ${JSON.stringify(a[at])}\n  generated: ${JSON.stringify(b[at])}`;
}

describe('API.md', () => {
  it('is up to date with the TSDoc of what lib/index.ts exports', () => {
    const started = Date.now();
    const rendered = renderApiMarkdown(root);
    const elapsed = Date.now() - started;
    let committed = '';
    try {
      committed = readFileSync(join(root, 'API.md'), 'utf8');
    } catch {
      // Missing: reported below like a stale file.
    }
    if (committed !== rendered) {
      throw new Error(`API.md is stale: run \`npm run docs:api\` and commit API.md (${firstDifference(committed, rendered)})`);
    }
    expect(elapsed).toBeLessThan(5000);
  });

  it('has a doc comment for every export, every member of exported classes and enums, and every Props/Options property', () => {
    // Each entry is `Symbol` or `Declaring.member`, with where to write the missing TSDoc.
    expect(findUndocumented(root)).toEqual([]);
  });
});

describe('renderApiMarkdown', () => {
  const md = renderApiMarkdown(fixture);
  const toc = md.slice(md.indexOf('## Table of contents'), md.indexOf('## Constructs'));

  it('documents what the index exports, in its order and under its names, and nothing else', () => {
    const names = [...toc.matchAll(/^ {2}- \[`([^`]+)`\]/gm)].map((m) => m[1]);
    // Grouped by kind; within a group, the index's order (named, type-only, `export *`, local).
    expect(names).toEqual([
      'Widget',
      'WidgetProps',
      'BaseWidgetProps',
      'Colour',
      'Size',
      'size',
      'fromStar',
      'UNDOCUMENTED',
      'TWICE',
      'ALSO_TWICE',
      'LOCAL',
    ]);
    expect(md).not.toMatch(/^### (HIDDEN|internalOne|WidgetBase)$/m);
    expect(md).not.toMatch(/HIDDEN|internalOne/);
  });

  it('leaves out private, protected, @internal and _-prefixed members', () => {
    expect(md).toContain('| `size` |  | <code>number</code> | Size now. |');
    expect(md).not.toMatch(/_secret|`state`|`hidden`|shrink|`secret`/);
  });

  it('lists inherited properties of interfaces with where they come from', () => {
    expect(md).toContain(
      '| `label` | <code>string</code> | optional | the construct id | Display name. *Inherited from [`BaseWidgetProps`](#basewidgetprops).* |'
    );
    expect(md).toContain('| `size` | <code>number</code> | optional | `10` | Size in pixels. |');
  });

  it('renders links, @see, @param and @returns', () => {
    expect(md).toContain('Props of [`Widget`](#widget).');
    expect(md).toContain('Colour; see [`Colour`](#colour) and [resizing](#widgetresize).');
    expect(md).toContain('*See:* [`WidgetProps`](#widgetprops)\n');
    expect(md).toContain('*See:* [the catalogue](https://example.com/widgets)');
    expect(md).toContain('| `to` | <code>number</code> | new size in pixels |');
    expect(md).toContain('Returns: <code>number</code> the previous size');
    // An export under another name is linked and shown by that name.
    expect(md).toContain('made by [`size`](#size-1).');
  });

  it('marks type-only exports', () => {
    const colour = md.slice(md.indexOf('### Colour'), md.indexOf('## Types'));
    expect(colour).toContain('Exported as a type only');
  });

  it('reports undocumented exports with where they are declared', () => {
    expect(findUndocumented(fixture)).toEqual([expect.stringMatching(/^UNDOCUMENTED \(lib\/widget\.ts:\d+\)$/)]);
  });
});
