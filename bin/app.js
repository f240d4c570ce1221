#!/usr/bin/env node
// The cdktf app command (cdktf.json "app"). Compiles main.ts and what it
// imports with esbuild (tens of milliseconds, no type check, always the
// current source) and runs it: several times faster than ts-node or tsx,
// whose start-up dominates synth. `npm run build` type-checks.
const { buildSync } = require('esbuild');
const { unlinkSync } = require('fs');
const { join } = require('path');

const root = join(__dirname, '..');
// One file per process, next to node_modules so the app's imports resolve.
const outfile = join(root, 'dist', `app.${process.pid}.js`);
buildSync({
  entryPoints: [join(root, 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
try {
  require(outfile);
} finally {
  unlinkSync(outfile);
}
