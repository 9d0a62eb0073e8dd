// npm run build: bundles src/ with esbuild into CommonJS (Node loads it ~3 ms faster than ESM, a tenth of the
// budget of a hook run with nothing to upload).
// - dist/cli.cjs: the entry. Holds only what that run needs (config, certificate, map), so it loads one small file.
// - dist/app.cjs: the full command line, winston and got, loaded by the entry on first need.
// - dist/sea/incap-cert.cjs: both in one file, for the single executable (Node's SEA runs one CommonJS script).
// Type checking is `npm run typecheck` (tsc); esbuild only strips types.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  // import() of a CommonJS file goes through the ESM loader, which scans all 1 MB of it for exports: require it.
  supported: { 'dynamic-import': false },
  // import.meta.url has no meaning in CommonJS; bundled ESM dependencies (yargs) still ask for it.
  banner: { js: "const __incapCertUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { INCAP_CERT_VERSION: JSON.stringify(version), 'import.meta.url': '__incapCertUrl' },
};

/** The entry loads the full command line from its own file, next to it. */
const appBeside = {
  name: 'app-beside',
  setup(plugin) {
    plugin.onResolve({ filter: /^\.\/cli\/main\.js$/ }, () => ({ path: './app.cjs', external: true }));
  },
};

// Only what this script writes: the executables and packages of npm run package and npm run deb stay.
for (const old of ['dist/cli.cjs', 'dist/app.cjs', 'dist/sea']) rmSync(old, { recursive: true, force: true });
const [, , sea] = await Promise.all([
  build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.cjs', plugins: [appBeside] }),
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/app.cjs' }),
  build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/sea/incap-cert.cjs', metafile: true }),
]);
// What the single executable bundles, for the Debian package's copyright file (scripts/deb.ts).
writeFileSync('dist/sea/meta.json', JSON.stringify(sea.metafile));
