import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdktf';
import { defineStacks } from './stacks';

// The stacks are built and synthesized in a scratch directory and copied to
// the output directory only when that succeeded, because cdktf's App creates
// output directories as stacks are added: bad config or props end the run
// naming the file or construct path and the field, and cdktf.out is never
// touched. skipValidation: cdktf's only check for terraform_data spawns
// `terraform version` once per resource; Terraform validates at plan.
// stackTraces: a trace per construct costs more than the rest of synth.
// Run without the cdktf CLI (npm run synth), the app reads cdktf.json's
// context itself; the CLI's (CDKTF_CONTEXT_JSON) takes precedence in App.
const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
const context = existsSync('cdktf.json') ? JSON.parse(readFileSync('cdktf.json', 'utf8')).context : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'lvs-cdktf-synth-'));
try {
  const app = new App({ outdir: scratch, skipValidation: true, stackTraces: false, context });
  defineStacks(app);
  app.synth();
  cpSync(scratch, outdir, { recursive: true });
} catch (e) {
  const err = e as Error;
  if (err.name !== 'LvsValidationError' && err.name !== 'ConfigError') throw e;
  process.stderr.write(`lvs-cdktf: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
