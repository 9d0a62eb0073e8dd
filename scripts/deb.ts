// npm run deb: writes dist/incap-cert_VERSION_amd64.deb and dist/incap-cert_VERSION_arm64.deb with dpkg-deb, from
// the single executables that npm run package writes (dist/incap-cert-linux-x64 and -arm64). The hooks, units and
// config template are the installer's own (src/install: the same files, with the prefix /usr written in), so that
// `incap-cert install` and the package put the same files in place.
//
//   /usr/bin/incap-cert                                  the executable
//   /usr/share/incap-cert/hooks/                         Certbot's drop-in, the dehydrated hook, the acme.sh plugin
//   /etc/letsencrypt/renewal-hooks/deploy/incap-cert     -> /usr/share/incap-cert/hooks/certbot-deploy.sh (a link, so
//                                                        that removing the package removes the drop-in)
//   /usr/lib/systemd/system/incap-cert-sync.{service,timer}   enabled on install (deb-systemd-helper)
//   /etc/incap-cert/config.json                          the config template: a conffile, 0600 (folder 0700)
//   /var/lib/incap-cert/                                 the state folder, 0700, made by postinst (never shipped:
//                                                        dpkg would remove or complain about it on removal)
//   /usr/share/doc/incap-cert/{copyright,changelog.gz}
//   /usr/share/doc/incap-cert/README.md, docs/*.md       the documentation (gzip -9n above 4 KiB, as dh_compress)
//   /usr/share/man/man1/incap-cert.1.gz                  rendered from the command catalogue (src/cli/man.ts)
//   /usr/share/man/man5/incap-cert-config.5.gz           rendered from the config fields' texts
//   /usr/share/bash-completion/completions/incap-cert    the bash completion
//   /etc/logrotate.d/incap-cert                          rotates the template's log file: a conffile
//   /usr/share/lintian/overrides/incap-cert              each override with the reason
//
// apt remove keeps the config and the state; apt purge removes the config, and the state folder unless its queue
// still holds certificates not delivered to Imperva (postrm says so).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ASSET_NAMES, DOC_NAMES, type AssetName } from '../src/install/assets.js';
import { renderAssets } from '../src/install/install.js';
import { COMMANDS } from '../src/cli/catalogue.js';
import { completionScript } from '../src/cli/completion.js';
import { configManPage } from '../src/cli/config-page.js';
import { HOMEPAGE, manPage } from '../src/cli/man.js';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  description: string;
};
const NAME = 'incap-cert';
const MAINTAINER =
  process.env.DEB_MAINTAINER ?? 'incap-cert maintainers <incap-cert@users.noreply.github.com>';
/** Reproducible: the time of the last commit, unless the build says otherwise. */
const EPOCH = Number(
  process.env.SOURCE_DATE_EPOCH ??
    (() => {
      try {
        return execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim();
      } catch {
        return String(Math.floor(Date.now() / 1000));
      }
    })(),
);
const ARCHES = [
  { node: 'x64', debian: 'amd64' },
  { node: 'arm64', debian: 'arm64' },
] as const;

const assets = Object.fromEntries(
  ASSET_NAMES.map((name) => [name, readFileSync(join(root, name), 'utf8')]),
) as Record<AssetName, string>;
const files = renderAssets(assets, '/usr');

// --- the package's own files -------------------------------------------------------------------------------------

/** The lowest libc6 and libstdc++6 the executable needs, from the symbol versions it asks for. */
function depends(executable: string): string {
  const text = readFileSync(executable).toString('latin1');
  const highest = (pattern: RegExp) =>
    Math.max(0, ...[...text.matchAll(pattern)].map((match) => Number(match[1])));
  const glibc = highest(/GLIBC_2\.(\d+)\0/g);
  const glibcxx = highest(/GLIBCXX_3\.4\.(\d+)\0/g);
  // GLIBCXX_3.4.N first shipped with these GCC versions (libstdc++6's Debian version).
  const gcc = [
    [30, '12'],
    [29, '11'],
    [28, '10'],
    [26, '9'],
    [25, '8'],
    [23, '7'],
    [22, '6'],
    [21, '5.2'],
    [0, '4.1.1'],
  ].find(([minor]) => glibcxx >= Number(minor))![1];
  return `libc6 (>= 2.${glibc}), libgcc-s1 (>= 3.0), libstdc++6 (>= ${gcc})`;
}

function control(arch: string, installedSize: number, executable: string): string {
  return [
    `Package: ${NAME}`,
    `Version: ${pkg.version}`,
    `Architecture: ${arch}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedSize}`,
    `Depends: ${depends(executable)}`,
    // The template's onFailure runs /usr/bin/mail: without a mail program, failure mail would silently never leave.
    'Recommends: bsd-mailx | mailutils',
    'Suggests: certbot | dehydrated',
    'Section: admin',
    'Priority: optional',
    `Homepage: ${HOMEPAGE}`,
    "Description: upload renewed Let's Encrypt certificates to Imperva",
    ' incap-cert keeps Imperva Cloud Application Security (Incapsula) serving the',
    ' certificates that Certbot, lego, acme.sh or dehydrated renew: a deploy hook',
    ' uploads each renewed certificate to the Imperva sites its map assigns, and a',
    ' daily sync (systemd timer) delivers whatever a hook could not.',
    ' .',
    ' One self-contained executable (Node.js embedded); Certbot runs it from',
    ' /etc/letsencrypt/renewal-hooks/deploy. Configure /etc/incap-cert/config.json,',
    ' then run: incap-cert check',
    '',
  ].join('\n');
}

const POSTINST = `#!/bin/sh
set -e

if [ "$1" = configure ]; then
	# The state folder holds the retry queue. Made here rather than shipped, so that dpkg never removes (or warns
	# about) one that holds queued uploads.
	if [ ! -d /var/lib/incap-cert ]; then
		mkdir -m 0700 /var/lib/incap-cert
	fi
fi

# A by-hand install (incap-cert install, scripts/install.sh) beside the package: said, and never two daily syncs.
if [ "$1" = configure ]; then
	for by_hand in /usr/local/bin/incap-cert /etc/systemd/system/incap-cert-sync.timer /etc/cron.d/incap-cert; do
		if [ -e "$by_hand" ]; then
			echo "incap-cert: $by_hand comes from an install by hand; the package's own files are under /usr; remove the other with: /usr/local/bin/incap-cert uninstall (it keeps the config and the state)" >&2
		fi
	done
fi

# The daily sync, as dh_installsystemd would enable and start it; not while a by-hand cron line runs it already.
if [ -e /etc/cron.d/incap-cert ]; then
	echo "incap-cert: /etc/cron.d/incap-cert runs the daily sync already; incap-cert-sync.timer is left disabled" >&2
elif [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
	deb-systemd-helper unmask 'incap-cert-sync.timer' >/dev/null || true
	if deb-systemd-helper --quiet was-enabled 'incap-cert-sync.timer'; then
		deb-systemd-helper enable 'incap-cert-sync.timer' >/dev/null || true
	else
		deb-systemd-helper update-state 'incap-cert-sync.timer' >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke start 'incap-cert-sync.timer' >/dev/null || true
	fi
fi

if [ "$1" = configure ] && [ -z "$2" ]; then
	echo "incap-cert: set api.id, api.key and sites in /etc/incap-cert/config.json, then run: incap-cert check"
fi
exit 0
`;

const PRERM = `#!/bin/sh
set -e

if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop 'incap-cert-sync.timer' 'incap-cert-sync.service' >/dev/null || true
fi
exit 0
`;

const POSTRM = `#!/bin/sh
set -e

if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
	deb-systemd-helper mask 'incap-cert-sync.timer' >/dev/null || true
fi

if [ "$1" = purge ]; then
	if command -v deb-systemd-helper >/dev/null 2>&1; then
		deb-systemd-helper purge 'incap-cert-sync.timer' >/dev/null || true
		deb-systemd-helper unmask 'incap-cert-sync.timer' >/dev/null || true
	fi
	# dpkg has removed the conffile; the folder goes too, with anything put beside it (a key file, say).
	rm -rf /etc/incap-cert
	rm -f /var/log/incap-cert.log
	# The state folder is kept while its queue holds certificates that never reached Imperva: deleting it would lose
	# the only record of them. Owed: a queue.json with entries, a queued entry in queue.d/, or a queue file that was
	# kept aside as corrupt. Otherwise (an empty queue, or none at all) the folder goes.
	state=/var/lib/incap-cert
	owed=
	if [ -e "$state/queue.json" ] && ! tr -d ' \\t\\r\\n' < "$state/queue.json" | grep -q '"entries":\\[\\]'; then
		owed="$state/queue.json"
	fi
	if [ -d "$state/queue.d" ] && [ -n "$(ls -A "$state/queue.d")" ]; then
		owed="$state/queue.d/"
	fi
	for aside in "$state"/queue.json.corrupt-*; do
		if [ -e "$aside" ]; then owed="$aside"; fi
	done
	if [ -n "$owed" ]; then
		echo "incap-cert: kept $state: its queue ($owed) holds certificates not yet delivered to Imperva; reinstall and run incap-cert sync, or remove the folder by hand" >&2
	else
		rm -rf "$state"
	fi
fi

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
exit 0
`;

/** Every override carries the reason it is right for this package. */
const OVERRIDES = `# /usr/bin/incap-cert is a Node.js single executable application: the official Node.js binary of one version with
# incap-cert's bundle injected. Node.js links its own zlib (and OpenSSL, libuv, ...) statically, built and
# patched by the Node.js project with each release; a Certbot host needs no Node.js and no library but libc and
# libstdc++.
${NAME}: embedded-library zlib [usr/bin/incap-cert]
# The official Node.js binaries are built by the Node.js project's release tooling, not with Debian's hardening
# flags; rebuilding Node.js is out of scope for this package.
${NAME}: hardening-no-fortify-functions [usr/bin/incap-cert]
${NAME}: hardening-no-pie [usr/bin/incap-cert]
# The misspellings are in strings of Node.js and of the bundled npm libraries, not in incap-cert's own text.
${NAME}: spelling-error-in-binary * [usr/bin/incap-cert]
# The copyright file quotes Node.js's LICENSE verbatim (policy 12.5: every licence of what the package ships). That
# file holds the Apache License 2.0 in full, and the old FSF address in the licence of a library Node.js embeds.
${NAME}: copyright-file-contains-full-apache-2-license
${NAME}: old-fsf-address-in-copyright-file
# The config holds the Imperva API key: only root may read it, or list its folder.
${NAME}: non-standard-file-perm 0600 != 0644 [etc/incap-cert/config.json]
${NAME}: non-standard-dir-perm 0700 != 0755 [etc/incap-cert/]
`;

function copyright(arch: string): string {
  const meta = JSON.parse(readFileSync(join(root, 'dist', 'cli.meta.json'), 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  const bundled = new Set<string>();
  for (const input of Object.keys(meta.inputs)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1] !== undefined) bundled.add(match[1]);
  }
  const packages = [...bundled].sort().map((name) => {
    const info = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
      license?: string;
    };
    return ` ${name} ${info.version} (${info.license ?? 'see the package'})`;
  });
  const nodeLicense = join(root, 'dist', `node-LICENSE-${process.version}`);
  const node = existsSync(nodeLicense)
    ? readFileSync(nodeLicense, 'utf8')
        .replaceAll('\r', '')
        .split('\n')
        .map((line) => (line.trim() === '' ? ' .' : ` ${line}`))
        .join('\n')
    : ` See https://github.com/nodejs/node/blob/${process.version}/LICENSE`;
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${NAME}
Upstream-Contact: ${MAINTAINER}
Source: ${HOMEPAGE}

Files: *
Copyright: ${new Date(EPOCH * 1000).getUTCFullYear()} incap-cert contributors
License: Expat

Files: usr/bin/incap-cert
Copyright: Node.js contributors and the authors of the libraries Node.js embeds;
 the authors of the npm packages listed below;
 ${new Date(EPOCH * 1000).getUTCFullYear()} incap-cert contributors
License: Expat and other
Comment: /usr/bin/incap-cert (${arch}) is the official Node.js ${process.version} binary with incap-cert's
 JavaScript bundle injected as a single executable application. The bundle holds
 these npm packages:
${packages.join('\n')}
 .
 Node.js and the libraries it embeds (V8, libuv, OpenSSL, ICU, zlib and more)
 are under the licences in Node.js's LICENSE file, which follows in full.

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.

License: other
 Node.js's LICENSE file, ${process.version}:
 .
${node}
`;
}

/** gzip -9n: no name, no time stamp (reproducible, and what lintian expects). */
function gzip(text: string): Buffer {
  const gz = gzipSync(text, { level: 9 });
  gz.writeUInt32LE(0, 4); // MTIME
  gz[9] = 3; // OS: Unix
  return gz;
}

function changelog(): Buffer {
  const date = new Date(EPOCH * 1000).toUTCString().replace('GMT', '+0000');
  const text = `${NAME} (${pkg.version}) unstable; urgency=medium

  * Release ${pkg.version}. What changed: /usr/share/doc/incap-cert/CHANGELOG.md.gz

 -- ${MAINTAINER}  ${date}
`;
  return gzip(text);
}

// --- staging and building ----------------------------------------------------------------------------------------

function put(stage: string, path: string, content: string | Buffer, mode: number): void {
  const file = join(stage, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

function build(node: string, arch: string): string {
  const executable = join(root, 'dist', `incap-cert-linux-${node}`);
  if (!existsSync(executable)) {
    throw new Error(
      `${executable} is missing: run npm run package${node === process.arch ? '' : ` -- --arch ${node}`}`,
    );
  }
  const stage = mkdtempSync(join(tmpdir(), `incap-cert-deb-${arch}-`));
  try {
    mkdirSync(join(stage, 'usr', 'bin'), { recursive: true });
    copyFileSync(executable, join(stage, 'usr', 'bin', NAME));
    chmodSync(join(stage, 'usr', 'bin', NAME), 0o755);
    put(stage, 'usr/share/incap-cert/hooks/certbot-deploy.sh', files['hooks/certbot-deploy.sh'], 0o755);
    put(stage, 'usr/share/incap-cert/hooks/dehydrated-hook.sh', files['hooks/dehydrated-hook.sh'], 0o755);
    put(
      stage,
      'usr/share/incap-cert/hooks/acme.sh/incap_cert.sh',
      files['hooks/acme.sh/incap_cert.sh'],
      0o755,
    );
    mkdirSync(join(stage, 'etc/letsencrypt/renewal-hooks/deploy'), { recursive: true });
    symlinkSync(
      '/usr/share/incap-cert/hooks/certbot-deploy.sh',
      join(stage, 'etc/letsencrypt/renewal-hooks/deploy', NAME),
    );
    put(
      stage,
      'usr/lib/systemd/system/incap-cert-sync.service',
      files['hooks/systemd/incap-cert-sync.service'],
      0o644,
    );
    put(
      stage,
      'usr/lib/systemd/system/incap-cert-sync.timer',
      files['hooks/systemd/incap-cert-sync.timer'],
      0o644,
    );
    put(stage, 'etc/incap-cert/config.json', files['scripts/config.example.json'], 0o600);
    put(stage, `usr/share/doc/${NAME}/copyright`, copyright(arch), 0o644);
    put(stage, `usr/share/doc/${NAME}/changelog.gz`, changelog(), 0o644);
    put(
      stage,
      `usr/share/doc/${NAME}/CHANGELOG.md.gz`,
      gzip(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')),
      0o644,
    );
    const date = new Date(EPOCH * 1000).toISOString().slice(0, 10);
    put(stage, `usr/share/man/man1/${NAME}.1.gz`, gzip(manPage(COMMANDS, { date, prefix: '/usr' })), 0o644);
    put(stage, `usr/share/man/man5/${NAME}-config.5.gz`, gzip(configManPage({ date })), 0o644);
    for (const name of DOC_NAMES) {
      const text = readFileSync(join(root, name), 'utf8');
      // Policy 12.3: documentation above 4 KiB is compressed, as dh_compress does.
      if (Buffer.byteLength(text) > 4096) put(stage, `usr/share/doc/${NAME}/${name}.gz`, gzip(text), 0o644);
      else put(stage, `usr/share/doc/${NAME}/${name}`, text, 0o644);
    }
    put(stage, `usr/share/bash-completion/completions/${NAME}`, completionScript(COMMANDS), 0o644);
    put(stage, `etc/logrotate.d/${NAME}`, files['hooks/logrotate/incap-cert'], 0o644);
    put(stage, `usr/share/lintian/overrides/${NAME}`, OVERRIDES, 0o644);

    // Folders 0755 whatever the umask, but the config's; sizes and checksums of what ships.
    let kib = 0;
    const sums: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const rel = relative(stage, path);
        if (entry.isDirectory()) {
          chmodSync(path, rel === 'etc/incap-cert' ? 0o700 : 0o755);
          kib += 1;
          walk(path);
        } else if (entry.isFile()) {
          kib += Math.ceil(statSync(path).size / 1024);
          if (!rel.startsWith('etc/')) {
            sums.push(`${createHash('md5').update(readFileSync(path)).digest('hex')}  ${rel}`);
          }
        } else if (lstatSync(path).isSymbolicLink()) kib += 1;
      }
    };
    chmodSync(stage, 0o755);
    walk(stage);

    const debian = join(stage, 'DEBIAN');
    put(stage, 'DEBIAN/control', control(arch, kib, executable), 0o644);
    put(stage, 'DEBIAN/conffiles', `/etc/incap-cert/config.json\n/etc/logrotate.d/${NAME}\n`, 0o644);
    put(stage, 'DEBIAN/md5sums', `${sums.sort().join('\n')}\n`, 0o644);
    put(stage, 'DEBIAN/postinst', POSTINST, 0o755);
    put(stage, 'DEBIAN/prerm', PRERM, 0o755);
    put(stage, 'DEBIAN/postrm', POSTRM, 0o755);
    chmodSync(debian, 0o755);

    const output = join(root, 'dist', `${NAME}_${pkg.version}_${arch}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', stage, `${output}.tmp`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
    });
    execFileSync('mv', ['-f', `${output}.tmp`, output]);
    return output;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const only = process.argv.slice(2);
for (const { node, debian } of ARCHES) {
  if (only.length > 0 && !only.includes(debian)) continue;
  const output = build(node, debian);
  console.log(`${relative(process.cwd(), output)}: ${(statSync(output).size / 2 ** 20).toFixed(1)} MiB`);
}
