// npm run package: writes dist/incap-cert-linux-x64, a Node single executable application — the node binary with
// dist/sea/incap-cert.cjs injected — that runs on a Certbot host with no Node.js and no node_modules.
// Steps as Node documents them for v20: a SEA config, --experimental-sea-config to make the blob, a copy of the
// node binary, postject to inject the blob under the fuse.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bundle = join(root, 'dist', 'sea', 'incap-cert.cjs');
const blob = join(root, 'dist', 'sea', 'sea-prep.blob');
const config = join(root, 'dist', 'sea', 'sea-config.json');
const output = join(root, 'dist', `incap-cert-${process.platform}-${process.arch}`);

if (!existsSync(bundle))
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
writeFileSync(
  config,
  JSON.stringify(
    { main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true },
    null,
    2,
  ),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit', cwd: root });
copyFileSync(process.execPath, output);
chmodSync(output, 0o755);
// Debian's node carries its symbol table: ~10 MiB that a hook host never needs. Strip when binutils is here.
try {
  execFileSync('strip', [output], { stdio: 'ignore' });
} catch {
  console.log('strip not found or failed: the executable keeps its symbols');
}
const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
execFileSync(
  process.execPath,
  [
    postject,
    output,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'], cwd: root },
);
const mib = statSync(output).size / 2 ** 20;
console.log(`${output}: ${mib.toFixed(1)} MiB (Node ${process.version} with incap-cert injected)`);
