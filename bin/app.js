#!/usr/bin/env node
// The cdktf app command (cdktf.json "app"). Compiles main.ts and what it
// imports with esbuild (tens of milliseconds, no type check, always the
// current source) and runs it: several times faster than ts-node or tsx,
// whose start-up dominates synth. `npm run build` type-checks.
const { build } = require('esbuild');
const { readFileSync, unlinkSync } = require('fs');
const { dirname, join } = require('path');

const root = join(__dirname, '..');
// One file per process, next to node_modules so the app's imports resolve.
const outfile = join(root, 'dist', `app.${process.pid}.js`);
build({
  entryPoints: [join(root, 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  // A module reads files next to it (lib/scripts/lvs.sh); in one bundle
  // __dirname would be the bundle's, so each module gets its own.
  plugins: [
    {
      name: 'module-dirname',
      setup(build) {
        build.onLoad({ filter: /\.ts$/ }, ({ path }) => ({
          contents: readFileSync(path, 'utf8').replace(/\b__dirname\b/g, JSON.stringify(dirname(path))),
          loader: 'ts',
        }));
      },
    },
  ],
}).then(() => {
  try {
    require(outfile);
  } finally {
    unlinkSync(outfile);
  }
});
