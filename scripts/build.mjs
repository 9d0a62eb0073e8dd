// npm run build: bundles src/ with esbuild into one CommonJS file, dist/cli.cjs: npm's bin, and the script of the
// single executable (Node's SEA runs one CommonJS script; scripts/package.mjs). Type checking is `npm run typecheck`
// (tsc); esbuild only strips types.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// Only what this script writes: the executables and packages of npm run package and npm run deb stay.
for (const old of ['dist/cli.cjs', 'dist/cli.meta.json']) rmSync(old, { force: true });
const { metafile } = await build({
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // Node's single executable runs the script without an ESM loader (no dynamic import callback): import() of the
  // builtins a dependency loads on demand (node:http, node:https) becomes require().
  supported: { 'dynamic-import': false },
  // import.meta.url has no meaning in CommonJS; bundled ESM dependencies (yargs) still ask for it.
  banner: { js: "const __incapCertUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { INCAP_CERT_VERSION: JSON.stringify(version), 'import.meta.url': '__incapCertUrl' },
});
// What the bundle holds, for the Debian package's copyright file (scripts/deb.ts).
writeFileSync('dist/cli.meta.json', JSON.stringify(metafile));
