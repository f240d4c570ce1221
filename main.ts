import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdktf';
import { defineStacks } from './stacks';

// cdktf's App creates output directories as stacks are added, so the stacks
// are first built in a scratch directory: bad config or props end the run
// there, naming the file or construct path and the field, and cdktf.out is
// never touched.
// skipValidation: cdktf's only check for terraform_data spawns `terraform
// version` once per resource (~70 ms each, most of synth time); Terraform
// validates the configuration itself at plan.
function build(outdir?: string): App {
  const app = new App({ outdir, skipValidation: true });
  defineStacks(app);
  return app;
}

const scratch = mkdtempSync(join(tmpdir(), 'lvs-cdktf-check-'));
try {
  build(scratch);
} catch (e) {
  const err = e as Error;
  if (err.name !== 'LvsValidationError' && err.name !== 'ConfigError') throw e;
  process.stderr.write(`lvs-cdktf: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (!process.exitCode) build().synth();
