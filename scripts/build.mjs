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
  // got's HTTP/2 support, which we never use, builds a TLS socket as it loads: a few MiB of every API run.
  alias: { 'http2-wrapper': './src/vendor/no-http2.cjs' },
};

/**
 * Source patches of bundled dependencies, each an exact text that must be found (an update that changes it fails
 * the build here rather than silently dropping the patch):
 * - @sindresorhus/is (got's argument checks) makes two Intl.ListFormat objects as it loads, for error messages got
 *   never shows us; making one loads ICU's list-format data, ~5 MiB of resident memory in every run that calls the
 *   API. They are made on first use instead.
 * - string-width (yargs' help layout; three copies) makes an Intl.Segmenter as it loads, which loads ICU's
 *   segmentation data; only help output measures strings, and our help does not come from yargs. Made on first use.
 */
const PATCHES = [
  {
    file: /[\\/]@sindresorhus[\\/]is[\\/]distribution[\\/]index\.js$/,
    replace: [
      [
        "const andFormatter = new Intl.ListFormat('en', { style: 'long', type: 'conjunction' });",
        "const andFormatter = lazyListFormat('conjunction');",
      ],
      [
        "const orFormatter = new Intl.ListFormat('en', { style: 'long', type: 'disjunction' });",
        "const orFormatter = lazyListFormat('disjunction');\n" +
          'function lazyListFormat(type) {\n' +
          '  let made;\n' +
          "  return { format: (list) => (made ??= new Intl.ListFormat('en', { style: 'long', type })).format(list) };\n" +
          '}',
      ],
    ],
  },
];
PATCHES.push({
  file: /[\\/]string-width[\\/]index\.js$/,
  replace: [
    [
      'const segmenter = new Intl.Segmenter();',
      'const segmenter = { segment: (text) => (segmenter.made ??= new Intl.Segmenter()).segment(text) };',
    ],
  ],
});
/** How many files each patch was applied to, over all bundles: one that matched no file fails the build below. */
const applied = new Map(PATCHES.map((patch) => [patch, 0]));
const patched = {
  name: 'patched',
  setup(plugin) {
    for (const patch of PATCHES) {
      const { file, replace } = patch;
      plugin.onLoad({ filter: file }, ({ path }) => {
        applied.set(patch, (applied.get(patch) ?? 0) + 1);
        let text = readFileSync(path, 'utf8');
        for (const [from, to] of replace) {
          if (!text.includes(from)) throw new Error(`build patch: ${path} no longer holds: ${from}`);
          text = text.replace(from, to);
        }
        return { contents: text, loader: 'js' };
      });
    }
  },
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
  build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.cjs', plugins: [appBeside, patched] }),
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/app.cjs', plugins: [patched] }),
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/sea/incap-cert.cjs',
    metafile: true,
    plugins: [patched],
  }),
]);
// A dependency that moved the patched code elsewhere (or was dropped) leaves a patch that matched nothing.
for (const [patch, count] of applied) {
  if (count === 0)
    throw new Error(
      `build patch: no bundled file matches ${patch.file}; update PATCHES in scripts/build.mjs`,
    );
}
// What the single executable bundles, for the Debian package's copyright file (scripts/deb.ts).
writeFileSync('dist/sea/meta.json', JSON.stringify(sea.metafile));
