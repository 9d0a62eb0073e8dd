// npm run package [-- --arch x64|arm64]: writes dist/incap-cert-linux-ARCH, a Node single executable application —
// the node binary with dist/cli.cjs and the installer's files (hooks, units, cron line, config template)
// injected — that runs on a Certbot host with no Node.js and no node_modules, and installs itself.
// Steps as Node documents them for v20: a SEA config, --experimental-sea-config to make the blob, a copy of the
// node binary, postject to inject the blob under the fuse.
// The host's architecture uses the node binary that runs this script. Another one (arm64 on an x64 machine) uses the
// official binary of exactly this Node version, from the npm package node-linux-ARCH (npm pack: as a dependency it
// would fail npm ci on every other architecture); its blob then holds no code cache and no snapshot, which are
// specific to the V8 build and CPU that made them.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const argIndex = process.argv.indexOf('--arch');
const arch = argIndex > 0 ? process.argv[argIndex + 1] : process.arch;
if (arch !== 'x64' && arch !== 'arm64')
  throw new Error(`package.mjs: --arch must be x64 or arm64, not ${arch}`);
const native = arch === process.arch && process.platform === 'linux';
const bundle = join(root, 'dist', 'cli.cjs');
const output = join(root, 'dist', `incap-cert-linux-${arch}`);
/** What `strip` is called for each architecture (Debian's binutils and binutils-aarch64-linux-gnu). */
const STRIP = {
  x64: process.arch === 'x64' ? 'strip' : 'x86_64-linux-gnu-strip',
  arm64: process.arch === 'arm64' ? 'strip' : 'aarch64-linux-gnu-strip',
};

/** The installer's files, by their path in the repository (src/install/assets.ts reads them by the same keys). */
function assets() {
  const files = {};
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = path;
    }
  };
  walk(join(root, 'hooks'));
  files['scripts/config.example.json'] = join(root, 'scripts', 'config.example.json');
  // The documentation install puts on the host (DOC_NAMES in src/install/assets.ts).
  walk(join(root, 'docs'));
  files['README.md'] = join(root, 'README.md');
  return files;
}

/** The official node binary of this very version for `arch`, unpacked into `work`. */
function officialNode(work) {
  const spec = `node-linux-${arch}@${process.version.slice(1)}`;
  const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .at(-1);
  execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/bin/node', 'package/LICENSE']);
  // Node's own licence (and that of everything it embeds), for the Debian package's copyright file.
  copyFileSync(join(work, 'package', 'LICENSE'), join(root, 'dist', `node-LICENSE-${process.version}`));
  return join(work, 'package', 'bin', 'node');
}

if (!existsSync(bundle))
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
const work = mkdtempSync(join(tmpdir(), 'incap-cert-package-'));
// The SEA config and the blob it makes are steps on the way: they stay in the work folder.
const blob = join(work, `sea-prep-${arch}.blob`);
const config = join(work, `sea-config-${arch}.json`);
try {
  const node = native ? process.execPath : officialNode(work);
  writeFileSync(
    config,
    JSON.stringify(
      {
        main: bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: native,
        useSnapshot: false,
        assets: assets(),
      },
      null,
      2,
    ),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'ignore', cwd: root });
  const temp = `${output}.tmp`;
  copyFileSync(node, temp);
  chmodSync(temp, 0o755);
  // Node's binaries carry their symbol tables and debug info: ~14 MiB that a hook host never needs.
  const strip = spawnSync(STRIP[arch], ['--remove-section=.comment', temp], { stdio: 'ignore' });
  if (strip.status !== 0) console.log(`${STRIP[arch]} not found or failed: the executable keeps its symbols`);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  const inject = spawnSync(
    process.execPath,
    [
      postject,
      temp,
      'NODE_SEA_BLOB',
      blob,
      '--sentinel-fuse',
      'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  // postject's ELF library warns once per note section it cannot name ("Can't find string offset for section
  // name '.note.100'") — harmless, and a wall of them. Anything else, or a failure, is shown.
  const noise = /^warning: Can't find string offset for section name '\.note[.\d]*'$/;
  const said = inject.stderr.split('\n').filter((line) => line.trim() !== '' && !noise.test(line));
  if (inject.status !== 0) {
    console.error([inject.stdout, ...said].join('\n'));
    throw new Error(`postject failed (exit code ${inject.status})`);
  }
  for (const line of said) console.log(line);
  // Replace in one rename: a running copy (the SEA test, an install) keeps its file.
  renameSync(temp, output);
  const mib = statSync(output).size / 2 ** 20;
  console.log(
    `${relative(process.cwd(), output) || output}: ${mib.toFixed(1)} MiB (Node ${process.version} for linux-${arch}, with incap-cert injected)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(`${output}.tmp`, { force: true });
}
