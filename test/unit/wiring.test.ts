import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { wiringFindings, type WiringConfig, type WiringOptions } from '../../src/install/wiring.js';
import type { KeyType } from '../../src/model/certificate.js';
import type { Finding } from '../../src/model/finding.js';
import { ROOT, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';

const VERSION = '9.9.9';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['shop.example.net', 'www.shop.example.net'] });
});

function script(file: string, body: string, mode = 0o755): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, mode);
  return file;
}

/** A Certbot host laid out in a temp folder, with stand-ins for every program the findings ask. */
function host() {
  const dir = tempDir();
  const certbot = join(dir, 'letsencrypt');
  writeCertbotLineage(certbot, 'shop.example.net', leaf);
  mkdirSync(join(certbot, 'renewal'), { recursive: true });
  const conf = join(certbot, 'renewal', 'shop.example.net.conf');
  writeFileSync(
    conf,
    'version = 2.11.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = /srv/shop,\nkey_type = ecdsa\n',
  );
  const prefix = join(dir, 'prefix');
  const program = script(join(prefix, 'bin', 'incap-cert'), `echo "incap-cert ${VERSION}"`);
  const dropin = join(certbot, 'renewal-hooks', 'deploy', 'incap-cert');
  mkdirSync(join(dropin, '..'), { recursive: true });
  // incap-cert's own drop-in, with the prefix written in as install does.
  const hook = readFileSync(join(ROOT, 'hooks', 'certbot-deploy.sh'), 'utf8').replace(
    "incap_cert_prefix='/usr/local'",
    `incap_cert_prefix='${prefix}'`,
  );
  writeFileSync(dropin, hook, { mode: 0o755 });
  const bin = join(dir, 'bin'); // where `systemctl` is found
  script(
    join(bin, 'systemctl'),
    'case "$1" in is-enabled) echo enabled;; is-active) echo active;; *) exit 3;; esac',
  );
  const hookPath = join(dir, 'hook-path'); // Certbot's PATH: empty unless a test puts incap-cert there
  mkdirSync(hookPath);
  const notifier = script(join(dir, 'notify'), 'cat > /dev/null');
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const systemdDir = join(dir, 'run-systemd');
  mkdirSync(systemdDir);
  const proc = join(dir, 'proc');
  mkdirSync(proc);
  const config: WiringConfig = {
    file: join(dir, 'config.json'),
    liveDir: join(certbot, 'live'),
    sites: new Map([
      ['shop.example.net', ['111']],
      ['www.shop.example.net', ['222']],
    ]),
    sources: [],
    onFailure: [notifier],
    stateDir,
  };
  const options: WiringOptions = {
    systemdDir,
    cronFile: join(dir, 'cron.d', 'incap-cert'),
    procDir: proc,
    path: bin,
    hookPath,
    version: VERSION,
    timeoutMs: 5000,
  };
  return {
    dir,
    certbot,
    conf,
    prefix,
    program,
    dropin,
    bin,
    hookPath,
    notifier,
    stateDir,
    systemdDir,
    proc,
    config,
    options,
  };
}

async function findings(world: ReturnType<typeof host>, extra: WiringOptions = {}): Promise<Finding[]> {
  return wiringFindings(world.config, { ...world.options, ...extra });
}

function only(list: readonly Finding[], kind: string): Finding[] {
  return list.filter((finding) => finding.kind === kind);
}

function one(list: readonly Finding[], kind: string): Finding {
  const found = only(list, kind);
  assert.equal(found.length, 1, `one ${kind} finding: ${JSON.stringify(list, null, 1)}`);
  return found[0] as Finding;
}

describe('wiringFindings: a host wired as install leaves it', () => {
  it('every finding passes, in the one shape', async () => {
    const world = host();
    const list = await findings(world);
    assert.deepEqual(
      list.map((finding) => [finding.kind, finding.ok]),
      [
        ['certbot', true],
        ['deploy-hook', true],
        ['renewal-conf', true],
        ['scheduler', true],
        ['on-failure', true],
        ['state-folder', true],
      ],
      JSON.stringify(list, null, 1),
    );
    for (const finding of list) {
      assert.deepEqual(Object.keys(finding), ['kind', 'subject', 'ok', 'message', 'fix']);
      assert.equal(finding.fix, null);
    }
    assert.equal(one(list, 'certbot').subject, world.certbot);
    assert.equal(
      one(list, 'deploy-hook').message,
      `${world.dropin} runs ${world.program} (incap-cert ${VERSION})`,
    );
    assert.equal(
      one(list, 'renewal-conf').message,
      'Certbot renews shop.example.net with webroot, ECDSA key',
    );
    assert.equal(
      one(list, 'scheduler').message,
      'incap-cert-sync.timer is enabled and active: systemd runs sync',
    );
  });
});

describe('wiringFindings: the deploy hook', () => {
  it("follows the drop-in: incap-cert on Certbot's PATH comes before the prefix", async () => {
    const world = host();
    script(world.program, 'echo "incap-cert 0.0.1"');
    const onPath = script(join(world.hookPath, 'incap-cert'), `echo "incap-cert ${VERSION}"`);
    const finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.ok, true);
    assert.match(finding.message, new RegExp(`runs ${onPath} `));
  });

  it('names another version, with the fix', async () => {
    const world = host();
    script(world.program, 'echo "incap-cert 0.0.1"');
    const finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.ok, false);
    assert.equal(
      finding.message,
      `${world.dropin} runs ${world.program}, whose --version is 0.0.1, not ${VERSION}`,
    );
    assert.match(finding.fix ?? '', /^incap-cert install && install -D -m 0755 /);
  });

  it('accepts only the exact line incap-cert --version prints', async () => {
    const world = host();
    for (const printed of [VERSION, `v${VERSION}`, `incap-cert  ${VERSION}`, ` incap-cert ${VERSION}`]) {
      script(world.program, `printf '%s\\n' '${printed}'`);
      const finding = one(await findings(world), 'deploy-hook');
      assert.equal(finding.ok, false, printed);
      assert.match(finding.message, /whose --version printed /, printed);
    }
  });

  it('gives the program an environment of PATH alone', async () => {
    const world = host();
    process.env.IMPERVA_API_KEY = 'must-not-leak';
    try {
      script(
        world.program,
        `test -z "$IMPERVA_API_KEY" && test "$PATH" = "${world.hookPath}" && echo "incap-cert ${VERSION}"`,
      );
      assert.equal(one(await findings(world), 'deploy-hook').ok, true);
    } finally {
      delete process.env.IMPERVA_API_KEY;
    }
  });

  it('says when the program the drop-in reaches is not there', async () => {
    const world = host();
    rmSync(world.program);
    const finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.ok, false);
    assert.equal(finding.message, `${world.dropin} runs ${world.program}, which does not exist`);
  });

  it('stops a program that does not answer in time', async () => {
    const world = host();
    // A child that holds the pipe too: the whole group goes.
    script(world.program, '/bin/sleep 30 & /bin/sleep 30');
    const started = Date.now();
    const finding = one(await findings(world, { timeoutMs: 300 }), 'deploy-hook');
    assert.ok(Date.now() - started < 5000);
    assert.equal(finding.ok, false);
    assert.match(finding.message, /whose --version did not answer within 0\.3 s$/);
  });

  it('a missing drop-in and no renew_hook: Certbot renews without uploading', async () => {
    const world = host();
    rmSync(world.dropin);
    const finding = one(await findings(world), 'deploy-hook');
    assert.deepEqual(
      [finding.ok, finding.message],
      [false, `${world.dropin} is missing: Certbot renews without uploading`],
    );
    assert.match(finding.fix ?? '', /^incap-cert install/);
  });

  it('a missing drop-in is fine where each mapped lineage names incap-cert as renew_hook', async () => {
    const world = host();
    rmSync(world.dropin);
    writeFileSync(
      world.conf,
      `[renewalparams]\nauthenticator = webroot\nrenew_hook = ${world.program} deploy\n`,
    );
    const list = await findings(world);
    assert.equal(one(list, 'deploy-hook').ok, true);
    const hook = one(list, 'renew-hook');
    assert.equal(hook.ok, true, hook.message);
    assert.equal(hook.message, `renew_hook of ${world.conf} runs ${world.program} (incap-cert ${VERSION})`);
  });

  it('the drop-in and a renew_hook at once: every renewal uploads twice', async () => {
    const world = host();
    writeFileSync(world.conf, `[renewalparams]\nauthenticator = webroot\nrenew_hook = incap-cert deploy\n`);
    const list = await findings(world);
    assert.equal(one(list, 'deploy-hook').ok, true);
    const twice = one(list, 'renew-hook');
    assert.equal(twice.ok, false);
    assert.match(twice.message, /every renewal of shop\.example\.net uploads twice$/);
    assert.equal(twice.fix, `sed -i '/^renew_hook *=/d' ${world.conf}`);
  });

  it('a drop-in Certbot skips: not executable, or writable by others', async () => {
    const world = host();
    chmodSync(world.dropin, 0o644);
    let finding = one(await findings(world), 'deploy-hook');
    assert.deepEqual(
      [finding.ok, finding.message, finding.fix],
      [false, `${world.dropin} is not executable, so Certbot skips it`, `chmod 755 ${world.dropin}`],
    );
    chmodSync(world.dropin, 0o777);
    finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.ok, false);
    assert.match(
      finding.message,
      /^Certbot runs .* as root, and .* is writable by group or others \(mode 0777\)$/,
    );
    assert.equal(finding.fix, `chmod go-w ${world.dropin}`);
  });

  it("an operator's own script: the path it names, or that it runs no incap-cert", async () => {
    const world = host();
    script(world.dropin, `# reload things\nexec ${world.program} deploy`);
    assert.equal(one(await findings(world), 'deploy-hook').ok, true);
    script(world.dropin, 'systemctl reload nginx');
    const finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.message, `${world.dropin} does not run incap-cert: no incap-cert is named in it`);
  });

  it('a compiled program as the drop-in is itself what runs', async () => {
    const world = host();
    copyFileSync('/bin/true', world.dropin);
    chmodSync(world.dropin, 0o755);
    const finding = one(await findings(world), 'deploy-hook');
    assert.equal(finding.ok, false);
    assert.match(
      finding.message,
      new RegExp(`^${world.dropin} runs ${world.dropin}, whose --version printed`),
    );
  });
});

describe("wiringFindings: Certbot's renewal configuration", () => {
  it('only tls-alpn-01 cannot pass behind Imperva', async () => {
    const world = host();
    writeFileSync(world.conf, '[renewalparams]\nauthenticator = webroot\npref_challs = tls-alpn-01,\n');
    const finding = one(await findings(world), 'challenge');
    assert.equal(finding.ok, false);
    assert.match(finding.message, /allows only tls-alpn-01 \(pref_challs\)/);
    assert.equal(
      finding.fix,
      'certbot reconfigure --cert-name shop.example.net --preferred-challenges http-01',
    );
  });

  it('standalone on another port than 80 cannot pass; on 80 it can', async () => {
    const world = host();
    writeFileSync(world.conf, '[renewalparams]\nauthenticator = standalone\nhttp01_port = 8080\n');
    const finding = one(await findings(world), 'challenge');
    assert.match(finding.message, /listen on port 8080 \(http01_port\)/);
    assert.equal(finding.fix, 'certbot reconfigure --cert-name shop.example.net --http-01-port 80');
    writeFileSync(
      world.conf,
      '[renewalparams]\nauthenticator = standalone\nhttp01_port = 80\npref_challs = http-01, tls-alpn-01\n',
    );
    const list = await findings(world);
    assert.equal(only(list, 'challenge').length, 0);
    assert.equal(one(list, 'renewal-conf').ok, true);
  });

  it('a key type the sites do not hold is named, with the fix', async () => {
    const world = host();
    const held = new Map<string, readonly KeyType[]>([
      ['111', ['RSA']],
      ['222', ['RSA', 'ECC']],
    ]);
    const finding = one(await findings(world, { held }), 'key-type');
    assert.equal(finding.ok, false);
    assert.match(finding.message, /with an ECDSA key \(key_type in .*\), but site 111 holds only RSA/);
    assert.equal(finding.fix, 'certbot reconfigure --cert-name shop.example.net --key-type rsa');
    // A site holding nothing yet, or the same type, is no finding.
    const fine = await findings(world, {
      held: new Map([
        ['111', []],
        ['222', ['ECC']],
      ]),
    });
    assert.equal(only(fine, 'key-type').length, 0);
  });

  it('Certbot before 2.0 renewed RSA keys when key_type was not written', async () => {
    const world = host();
    writeFileSync(world.conf, 'version = 1.12.0\n[renewalparams]\nauthenticator = webroot\n');
    const finding = one(await findings(world, { held: new Map([['111', ['ECC']]]) }), 'key-type');
    assert.match(finding.message, /with an RSA key/);
  });

  it('a mapped lineage without its renewal configuration will expire', async () => {
    const world = host();
    rmSync(world.conf);
    const finding = one(await findings(world), 'renewal-conf');
    assert.equal(finding.ok, false);
    assert.match(finding.message, /has no .*shop\.example\.net\.conf: certbot renew skips it/);
    assert.equal(
      finding.fix,
      'certbot certonly --cert-name shop.example.net -d shop.example.net -d www.shop.example.net',
    );
  });

  it('a renewal configuration others could write is not read', async () => {
    const world = host();
    writeFileSync(world.conf, '[renewalparams]\npref_challs = tls-alpn-01,\n');
    chmodSync(world.conf, 0o666);
    const list = await findings(world);
    assert.equal(only(list, 'challenge').length, 0);
    const finding = one(list, 'renewal-conf');
    assert.match(finding.message, /is refused: .* is writable by group or others/);
    assert.equal(finding.fix, `chmod go-w ${world.conf}`);
  });

  it("without Certbot's live folder: a problem, unless another ACME client is configured", async () => {
    const world = host();
    world.config.liveDir = join(world.dir, 'nowhere', 'live');
    assert.equal(one(await findings(world), 'certbot').ok, false);
    world.config.sources = [{ client: 'lego', dir: world.dir, setting: 'sources.lego[0]' }];
    const list = await findings(world);
    assert.equal(only(list, 'certbot').length + only(list, 'deploy-hook').length, 0);
  });
});

describe('wiringFindings: what runs sync', () => {
  it('a disabled timer where systemd runs: nothing runs sync', async () => {
    const world = host();
    script(
      join(world.bin, 'systemctl'),
      'case "$1" in is-enabled) echo disabled; exit 1;; *) echo inactive; exit 3;; esac',
    );
    const finding = one(await findings(world), 'scheduler');
    assert.deepEqual(
      [finding.ok, finding.message, finding.fix],
      [
        false,
        'incap-cert-sync.timer is disabled and inactive: nothing runs sync on this machine',
        'systemctl enable --now incap-cert-sync.timer',
      ],
    );
  });

  it('no systemctl where systemd runs: the timer is not installed', async () => {
    const world = host();
    const finding = one(await findings(world, { path: join(world.dir, 'empty') }), 'scheduler');
    assert.equal(
      finding.message,
      'incap-cert-sync.timer is not installed (no systemctl on PATH): nothing runs sync on this machine',
    );
    assert.equal(finding.fix, 'incap-cert install --systemd');
  });

  it('neither systemd nor a cron file: nothing runs sync', async () => {
    const world = host();
    rmSync(world.systemdDir, { recursive: true });
    const finding = one(await findings(world, { path: join(world.dir, 'empty') }), 'scheduler');
    assert.equal(finding.ok, false);
    assert.match(
      finding.message,
      /^nothing runs sync on this machine: systemd is not running it, and there is no /,
    );
    assert.equal(finding.fix, 'incap-cert install --cron');
  });

  it('a cron file needs a running cron daemon, and cron reads only a file root alone can write', async () => {
    const world = host();
    rmSync(world.systemdDir, { recursive: true });
    const cronFile = world.options.cronFile as string;
    mkdirSync(join(cronFile, '..'));
    writeFileSync(cronFile, '# daily\n17 4 * * * root /usr/local/bin/incap-cert sync > /dev/null\n', {
      mode: 0o644,
    });
    const none = { path: join(world.dir, 'empty') };
    let finding = one(await findings(world, none), 'scheduler');
    assert.deepEqual(
      [finding.ok, finding.message, finding.fix],
      [
        false,
        `${cronFile} is there but no cron daemon runs: nothing runs sync on this machine`,
        'apt-get install cron && service cron start',
      ],
    );
    mkdirSync(join(world.proc, '4242'));
    writeFileSync(join(world.proc, '4242', 'comm'), 'cron\n');
    finding = one(await findings(world, none), 'scheduler');
    assert.deepEqual(
      [finding.ok, finding.message],
      [true, `${cronFile} runs sync, and a cron daemon (cron, pid 4242) is running`],
    );
    chmodSync(cronFile, 0o666);
    finding = one(await findings(world, none), 'scheduler');
    assert.equal(finding.ok, false);
    assert.match(finding.message, /^cron ignores .* is writable by group or others/);
    writeFileSync(cronFile, '# 17 4 * * * root /usr/local/bin/incap-cert sync\n', { mode: 0o644 });
    chmodSync(cronFile, 0o644);
    finding = one(await findings(world, none), 'scheduler');
    assert.match(finding.message, /has no line that runs incap-cert sync/);
  });
});

describe('wiringFindings: the notifier and the state folder', () => {
  it('a notifier that is not there is named, with the package for mail', async () => {
    const world = host();
    world.config.onFailure = [join(world.dir, 'usr', 'bin', 'mail'), '-s', 'incap-cert', 'root'];
    const finding = one(await findings(world), 'on-failure');
    assert.equal(finding.ok, false);
    assert.match(
      finding.message,
      /the onFailure program .*\/mail does not exist: no one is told when a push fails/,
    );
    assert.match(finding.fix ?? '', /^apt-get install bsd-mailx, or change onFailure in /);
  });

  it('a bare name is looked up on the hook PATH; a file that cannot run is named', async () => {
    const world = host();
    world.config.onFailure = ['notify'];
    assert.equal(one(await findings(world), 'on-failure').ok, false);
    script(join(world.hookPath, 'notify'), 'true');
    assert.equal(one(await findings(world), 'on-failure').ok, true);
    world.config.onFailure = [world.notifier];
    chmodSync(world.notifier, 0o644);
    const finding = one(await findings(world), 'on-failure');
    assert.deepEqual([finding.ok, finding.fix], [false, `chmod 755 ${world.notifier}`]);
  });

  it('no onFailure is said, and is no problem', async () => {
    const world = host();
    world.config.onFailure = undefined;
    const finding = one(await findings(world), 'on-failure');
    assert.equal(finding.ok, true);
    assert.match(finding.message, /^no onFailure in /);
  });

  it('a state folder others can write is named', async () => {
    const world = host();
    chmodSync(world.stateDir, 0o777);
    const finding = one(await findings(world), 'state-folder');
    assert.equal(finding.ok, false);
    assert.equal(finding.fix, `chmod go-w ${world.stateDir}`);
  });
});
