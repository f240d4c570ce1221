import { App } from 'cdktf';
import { defineStacks } from './stacks';

// Errors in the config or in construct props end synth here, before anything
// is written to cdktf.out, with the file or construct path and the field.
try {
  const app = new App();
  defineStacks(app);
  app.synth();
} catch (e) {
  const err = e as Error;
  if (err.name === 'LvsValidationError' || err.name === 'ConfigError') {
    process.stderr.write(`lvs-cdktf: ${err.message}\n`);
    process.exit(1);
  }
  throw e;
}
