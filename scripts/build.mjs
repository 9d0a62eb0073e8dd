// npm run build: bundles src/ with esbuild.
// - dist/cli.js (+ dist/chunks/): ESM for `node`, split so that a hook run with nothing to upload loads only the
//   small first chunk; the command line, winston and got load on first need.
// - dist/sea/incap-cert.cjs: one CommonJS file for the single executable (Node's SEA runs one CommonJS script).
// Type checking is `npm run typecheck` (tsc); esbuild only strips types.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  entryPoints: ['src/cli.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  define: { INCAP_CERT_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
};

rmSync('dist', { recursive: true, force: true });
await build({
  ...common,
  outdir: 'dist',
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS dependencies (winston's) call require(); give ESM one.
  banner: {
    js: "import { createRequire as __incapCertRequire } from 'node:module'; const require = __incapCertRequire(import.meta.url);",
  },
});
await build({
  ...common,
  outfile: 'dist/sea/incap-cert.cjs',
  format: 'cjs',
  // import.meta.url has no meaning in CommonJS; bundled ESM dependencies (yargs) still ask for it.
  banner: { js: "const __incapCertUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { ...common.define, 'import.meta.url': '__incapCertUrl' },
});
