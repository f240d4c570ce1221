/**
 * Produces synth output to review: of this checkout, or of another commit
 * (the PR's base) checked out into a temporary directory.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * cdktf's CLI passes cdktf.json's "context" to the app through
 * CDKTF_CONTEXT_JSON; the app run directly would not see it (and with it
 * the "lvs-cdktf:config" file), so it is passed the same way here.
 */
function contextEnv(projectDir: string): string | undefined {
  const file = join(projectDir, 'cdktf.json');
  const fromFile = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).context ?? {}) : {};
  const fromEnv = process.env.CDKTF_CONTEXT_JSON ? JSON.parse(process.env.CDKTF_CONTEXT_JSON) : {};
  const merged = { ...fromFile, ...fromEnv };
  return Object.keys(merged).length ? JSON.stringify(merged) : undefined;
}

/**
 * Synthesizes the project in `projectDir` into `outDir`, as `cdktf synth`
 * would. `node bin/app.js` is the fast launcher; commits from before it
 * existed are run with tsx.
 */
export function synthesize(projectDir: string, outDir: string): void {
  const context = contextEnv(projectDir);
  const env = { ...process.env, CDKTF_OUTDIR: outDir, ...(context ? { CDKTF_CONTEXT_JSON: context } : {}) };
  if (existsSync(join(projectDir, 'bin', 'app.js'))) run(process.execPath, ['bin/app.js'], projectDir, env);
  else run('npx', ['--no-install', 'tsx', 'main.ts'], projectDir, env);
}

/**
 * Synthesizes the commit `ref` of the repository at `projectDir` into
 * `outDir`. The commit is exported with `git archive` (nothing is
 * registered in the repository, so an interrupted run leaves nothing to
 * clean there) and runs against this checkout's node_modules. A relative
 * LVS_CDKTF_CONFIG therefore names the commit's own copy of the file.
 */
export function synthesizeRef(projectDir: string, ref: string, outDir: string): void {
  const found = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: projectDir, encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${ref}: neither a synth output directory nor a git commit`);
  const commit = found.stdout.trim();
  const tree = mkdtempSync(join(tmpdir(), 'lvs-cdktf-review-ref-'));
  try {
    run('git', ['archive', '--format=tar', `--output=${join(tree, 'src.tar')}`, commit], projectDir);
    run('tar', ['-xf', 'src.tar'], tree);
    symlinkSync(join(projectDir, 'node_modules'), join(tree, 'node_modules'), 'dir');
    synthesize(tree, outDir);
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}
