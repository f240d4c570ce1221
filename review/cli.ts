/**
 * Plan review: writes one Markdown report per stack for a pull request.
 *
 *   npx tsx review/cli.ts [--out DIR] [--against DIR|GITREF] [--synth-dir DIR] [stack...]
 *
 * --synth-dir  review this synth output instead of synthesizing the checkout
 * --against    compare with another synth output directory, or a git ref
 *              (synthesized from that commit)
 * --out        where the reports go (default cdktf.out/review)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, resolve } from 'path';
import { buildReport } from './report';
import { StackSynth, readSynthDir } from '../synth/read';
import { synthesize, synthesizeRef } from './synthesize';

interface Options {
  out: string;
  against?: string;
  synthDir?: string;
  stacks: string[];
}

const USAGE = 'usage: tsx review/cli.ts [--out DIR] [--against DIR|GITREF] [--synth-dir DIR] [stack...]';

function parseArgs(argv: string[]): Options {
  const opts: Options = { out: join('cdktf.out', 'review'), stacks: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--out') opts.out = value();
    else if (arg === '--against') opts.against = value();
    else if (arg === '--synth-dir') opts.synthDir = value();
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else opts.stacks.push(arg);
  }
  return opts;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const projectDir = dirname(__dirname);
  const scratch = mkdtempSync(join(tmpdir(), 'lvs-cdktf-review-'));
  try {
    const afterDir = opts.synthDir ?? join(scratch, 'after');
    if (!opts.synthDir) synthesize(projectDir, afterDir);
    const after = readSynthDir(afterDir);
    let before: StackSynth[] | undefined;
    if (opts.against) {
      const isDir = existsSync(opts.against) && statSync(opts.against).isDirectory();
      const beforeDir = isDir ? opts.against : join(scratch, 'before');
      if (!isDir) synthesizeRef(projectDir, opts.against, beforeDir);
      before = readSynthDir(beforeDir);
    }
    const unknown = opts.stacks.filter((s) => !after.some((a) => a.name === s));
    if (unknown.length) throw new Error(`no such stack: ${unknown.join(', ')} (have ${after.map((a) => a.name).join(', ')})`);
    mkdirSync(opts.out, { recursive: true });
    for (const stack of after.filter((a) => !opts.stacks.length || opts.stacks.includes(a.name))) {
      const compare = opts.against ? { label: opts.against, before: before?.find((b) => b.name === stack.name) } : undefined;
      const file = resolve(opts.out, `${stack.name}.md`);
      writeFileSync(file, buildReport(stack, compare));
      process.stdout.write(`${file}\n`);
    }
    for (const gone of before?.filter((b) => !after.some((a) => a.name === b.name)) ?? []) {
      process.stderr.write(`lvs-cdktf review: stack ${gone.name} is no longer defined; its resources stay in its Terraform state\n`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`lvs-cdktf review: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
