/**
 * The Terraform CDK an app runs on: cdktf 0.21 (archived upstream) or its
 * community successor CDK Terrain, `cdktn` 0.24, which keeps cdktf's classes,
 * logical IDs and output. Both are optional peer dependencies of the library;
 * each construct uses the copy its stack was made with, so one package serves
 * apps on either.
 *
 * Constructs from two copies of a framework do not synthesize together: the
 * app's copy runs only aspects registered with it, so host steps would be
 * written with no scripts and an empty input, and a deploy of that output
 * would succeed and configure nothing. Such a tree is refused here.
 */
import { Construct, IConstruct } from 'constructs';
import type * as Cdktf from 'cdktf';
import { fail } from './validation';

/** What the library uses of cdktf; cdktn exports the same. @internal */
export type Framework = typeof Cdktf;

/** The frameworks the library runs on, by npm package name. */
export const FRAMEWORKS = ['cdktf', 'cdktn'] as const;

interface Loaded {
  readonly name: (typeof FRAMEWORKS)[number];
  readonly module: Framework;
  readonly path: string;
}

let loaded: Loaded[] | undefined;

/** The frameworks resolvable from the library's own location, loaded once. */
function available(): Loaded[] {
  loaded ??= FRAMEWORKS.flatMap((name) => {
    let path: string;
    try {
      path = require.resolve(name);
    } catch {
      return [];
    }
    return [{ name, module: require(path) as Framework, path }];
  });
  return loaded;
}

const HOW_TO_FIX =
  'install one copy: cdktf (or cdktn) and constructs as dependencies of the app, lvs-cdktf next to them as a package ' +
  '(a registry or packed tarball, a git URL, or `npm install --install-links <dir>`; a symlinked checkout resolves its own copy), ' +
  'then check `npm ls cdktf cdktn constructs` shows one version of each and run `npm dedupe`';

/**
 * The framework of the stack that `scope` is in. Fails, naming the fix, when
 * the tree was made with copies of constructs or of the framework other than
 * the ones the library loads.
 * @internal
 */
export function frameworkOf(scope: IConstruct): Framework {
  if (!scope.node.scopes.every((c) => c instanceof Construct)) {
    fail(scope, 'scope', `made with another copy of constructs than lvs-cdktf's (${require.resolve('constructs')}); ${HOW_TO_FIX}`);
  }
  const frameworks = available();
  if (frameworks.length === 0) fail(scope, 'scope', `lvs-cdktf needs cdktf or cdktn installed next to it; ${HOW_TO_FIX}`);
  const stack = [...scope.node.scopes].reverse().find((c) => frameworks[0].module.TerraformStack.isStack(c));
  if (!stack) fail(scope, 'scope', 'must be inside a TerraformStack');
  const own = frameworks.find((f) => stack instanceof f.module.TerraformStack);
  if (!own) {
    const seen = frameworks.map((f) => `${f.name} at ${f.path}`).join(', ');
    fail(scope, 'scope', `stack ${stack.node.path} was made with a copy of cdktf/cdktn that lvs-cdktf does not share (it loads ${seen}); ${HOW_TO_FIX}`);
  }
  return own.module;
}
