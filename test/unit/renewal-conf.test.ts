import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseRenewalConf,
  readRenewalConf,
  renewalConfPath,
  webrootFor,
  type RenewalConf,
} from '../../src/sources/renewal-conf.js';
import { tempDir } from '../support/harness.js';

/** A webroot lineage as Certbot 2.x writes it, in our own words (names and paths made up). */
const WEBROOT = `# renew_before_expiry = 30 days
version = 2.11.0
archive_dir = /etc/letsencrypt/archive/shop.example.net
cert = /etc/letsencrypt/live/shop.example.net/cert.pem
privkey = /etc/letsencrypt/live/shop.example.net/privkey.pem
chain = /etc/letsencrypt/live/shop.example.net/chain.pem
fullchain = /etc/letsencrypt/live/shop.example.net/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = 0123456789abcdef0123456789abcdef
server = https://acme-v02.api.letsencrypt.org/directory
authenticator = webroot
webroot_path = /srv/shop, /srv/blog,
key_type = ecdsa
renew_hook = /usr/local/bin/incap-cert deploy
[[webroot_map]]
blog.example.net = /srv/blog
shop.example.net = /srv/shop
WWW.Shop.example.net = /srv/shop
`;

function parse(text: string): RenewalConf {
  return parseRenewalConf(text, 'renewal/x.conf');
}

describe('parseRenewalConf', () => {
  it('reads a webroot lineage: top keys, [renewalparams] and its [[webroot_map]]', () => {
    const conf = parse(WEBROOT);
    assert.equal(conf.version, '2.11.0');
    assert.equal(conf.authenticator, 'webroot');
    assert.equal(conf.installer, undefined);
    assert.equal(conf.server, 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(conf.keyType, 'ecdsa');
    assert.deepEqual(conf.webrootPath, ['/srv/shop', '/srv/blog']);
    assert.deepEqual(
      [...conf.webrootMap],
      [
        ['blog.example.net', '/srv/blog'],
        ['shop.example.net', '/srv/shop'],
        ['www.shop.example.net', '/srv/shop'],
      ],
    );
    assert.equal(conf.renewHook, '/usr/local/bin/incap-cert deploy');
    assert.deepEqual(conf.prefChalls, []);
    assert.equal(conf.http01Port, undefined);
  });

  it('a list of one item keeps its trailing comma; a path with a space stays whole', () => {
    const conf = parse('[renewalparams]\nwebroot_path = /srv/my site,\npref_challs = http-01,\n');
    assert.deepEqual(conf.webrootPath, ['/srv/my site']);
    assert.deepEqual(conf.prefChalls, ['http-01']);
  });

  it('a value without a comma is one item where a list is read; a lone comma is an empty list', () => {
    assert.deepEqual(parse('[renewalparams]\nwebroot_path = /srv/one\n').webrootPath, ['/srv/one']);
    assert.deepEqual(parse('[renewalparams]\nwebroot_path = ,\n').webrootPath, []);
    assert.deepEqual(parse('[renewalparams]\nwebroot_path =\n').webrootPath, []);
  });

  it('several challenges, lowercased, in order', () => {
    assert.deepEqual(parse('[renewalparams]\npref_challs = TLS-ALPN-01, dns-01\n').prefChalls, [
      'tls-alpn-01',
      'dns-01',
    ]);
  });

  it('quoted values keep commas and # inside; a comment after a value is dropped', () => {
    const conf = parse(
      `[renewalparams]\nrenew_hook = '/bin/notify "a, b" # not a comment'  # a comment\n` +
        `server = "https://ca.example/dir" # ours\nauthenticator = standalone # the default port\n`,
    );
    assert.equal(conf.renewHook, '/bin/notify "a, b" # not a comment');
    assert.equal(conf.server, 'https://ca.example/dir');
    assert.equal(conf.authenticator, 'standalone');
  });

  it('quoted list items, and triple-quoted values on one line or several', () => {
    const conf = parse(
      `[renewalparams]\nwebroot_path = "/srv/a,b", '/srv/c'\nrenew_hook = '''say "it's done"'''\n` +
        `installer = """first\nsecond"""  # two lines\n`,
    );
    assert.deepEqual(conf.webrootPath, ['/srv/a,b', '/srv/c']);
    assert.equal(conf.renewHook, `say "it's done"`);
    assert.equal(conf.installer, 'first\nsecond');
  });

  it('standalone on another port, and the key type in capitals', () => {
    const conf = parse('[renewalparams]\nauthenticator = standalone\nhttp01_port = 8080\nkey_type = RSA\n');
    assert.equal(conf.http01Port, 8080);
    assert.equal(conf.keyType, 'rsa');
  });

  it('skips unknown sections, a webroot_map outside [renewalparams], and indented lines read as any', () => {
    const conf = parse(
      `version = 5.1.0\n[renewalparams]\n  authenticator = webroot\n  webroot_path = /srv/a,\n` +
        `  [[webroot_map]]\n  a.example = /srv/a\n[acme_renewal_info]\nari_retry_after = 2031-01-02T03:04:05\n` +
        `authenticator = ignored\n[[webroot_map]]\na.example = /elsewhere\n`,
    );
    assert.equal(conf.authenticator, 'webroot');
    assert.deepEqual([...conf.webrootMap], [['a.example', '/srv/a']]);
  });

  it('keys of the top are not those of [renewalparams]', () => {
    const conf = parse('authenticator = top\n[renewalparams]\nserver = https://ca.example/dir\n');
    assert.equal(conf.authenticator, undefined);
  });

  it('CRLF line ends and whole-line comments', () => {
    const conf = parse('# made by hand\r\n[renewalparams]\r\n# note\r\nauthenticator = webroot\r\n');
    assert.equal(conf.authenticator, 'webroot');
  });

  for (const [name, text, pattern] of [
    ['a line without =', '[renewalparams]\nauthenticator webroot\n', /line 2: expected "key = value"/],
    [
      'a duplicate key',
      '[renewalparams]\nkey_type = rsa\nkey_type = ecdsa\n',
      /line 3: key_type is set twice/,
    ],
    [
      'a duplicate section',
      '[renewalparams]\n[other]\n[renewalparams]\n',
      /line 3: section \[renewalparams\] appears twice/,
    ],
    ['an unbalanced header', '[renewalparams]]\n', /line 1: the section header/],
    [
      'a section nested too deep',
      '[[webroot_map]]\n',
      /line 1: section \[\[webroot_map\]\] is nested too deep/,
    ],
    [
      'an unclosed quote',
      "[renewalparams]\nrenew_hook = 'open\n",
      /line 2 \(renew_hook\): the ' quote is never closed/,
    ],
    ['text after a quoted value', "[renewalparams]\nserver = 'a' b\n", /line 2 \(server\): unexpected text/],
    [
      'an unclosed triple quote',
      "[renewalparams]\nrenew_hook = '''open\nmore\n",
      /line 2: the ''' value of renew_hook is never closed/,
    ],
    [
      'a port that is no port',
      '[renewalparams]\nhttp01_port = 99999\n',
      /http01_port = 99999 is not a port number/,
    ],
    [
      'a list where one value is written',
      '[renewalparams]\nauthenticator = webroot, standalone\n',
      /authenticator is a list/,
    ],
    ['a NUL byte', '[renewalparams]\nserver = a\0b\n', /NUL byte/],
  ] as const) {
    it(`refuses ${name}, naming where`, () => {
      assert.throws(() => parse(text), pattern);
    });
  }
});

describe('webrootFor', () => {
  it('takes the map entry, else the last web root, as Certbot does', () => {
    const conf = parse(WEBROOT);
    assert.equal(webrootFor(conf, 'Blog.Example.net'), '/srv/blog');
    assert.equal(webrootFor(conf, 'other.example.net'), '/srv/blog');
    assert.equal(webrootFor(parse('[renewalparams]\nauthenticator = webroot\n'), 'a.example'), undefined);
  });
});

describe('readRenewalConf', () => {
  function certbotDir(): string {
    const dir = join(tempDir(), 'letsencrypt');
    mkdirSync(join(dir, 'renewal'), { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'renewal'), 0o755);
    return dir;
  }

  it('finds renewal/NAME.conf beside the live folder', () => {
    assert.equal(
      renewalConfPath('/etc/letsencrypt/live/a.example-0001/'),
      '/etc/letsencrypt/renewal/a.example-0001.conf',
    );
  });

  it('reads a file that only root or the running user could write', () => {
    const dir = certbotDir();
    const file = join(dir, 'renewal', 'shop.example.net.conf');
    writeFileSync(file, WEBROOT, { mode: 0o644 });
    const read = readRenewalConf(file, dir);
    assert.ok('conf' in read, JSON.stringify(read));
    assert.equal(read.conf.authenticator, 'webroot');
  });

  it('says a missing file is missing', () => {
    const dir = certbotDir();
    const read = readRenewalConf(join(dir, 'renewal', 'none.conf'), dir);
    assert.deepEqual(read, {
      problem: `renewal configuration ${join(dir, 'renewal', 'none.conf')} does not exist`,
      missing: true,
    });
  });

  it('refuses a file others could have written, and does not parse it', () => {
    const dir = certbotDir();
    const file = join(dir, 'renewal', 'a.conf');
    writeFileSync(file, 'not a config at all\n');
    chmodSync(file, 0o666);
    const read = readRenewalConf(file, dir);
    assert.ok('problem' in read);
    assert.match(read.problem, /a\.conf is refused: .*a\.conf is writable by group or others/);
    assert.equal(read.missing, false);
  });

  it("refuses a writable folder on the way up to Certbot's folder", () => {
    const dir = certbotDir();
    const file = join(dir, 'renewal', 'a.conf');
    writeFileSync(file, WEBROOT, { mode: 0o644 });
    chmodSync(join(dir, 'renewal'), 0o777);
    const read = readRenewalConf(file, dir);
    assert.ok('problem' in read);
    assert.match(read.problem, /renewal is writable by group or others/);
  });

  it('follows no link, reads no FIFO and no oversized file', () => {
    const dir = certbotDir();
    const real = join(dir, 'real.conf');
    writeFileSync(real, WEBROOT, { mode: 0o644 });
    symlinkSync(real, join(dir, 'renewal', 'link.conf'));
    const link = readRenewalConf(join(dir, 'renewal', 'link.conf'), dir);
    assert.ok('problem' in link);
    assert.match(link.problem, /link\.conf is a symbolic link/);

    const fifo = join(dir, 'renewal', 'fifo.conf');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    const fromFifo = readRenewalConf(fifo, dir);
    assert.ok('problem' in fromFifo);
    assert.match(fromFifo.problem, /fifo\.conf is not a regular file/);

    const big = join(dir, 'renewal', 'big.conf');
    writeFileSync(big, `# ${'x'.repeat(70 * 1024)}\n`, { mode: 0o644 });
    const fromBig = readRenewalConf(big, dir);
    assert.ok('problem' in fromBig);
    assert.match(fromBig.problem, /big\.conf is larger than 64 KiB/);
  });

  it('names the file and the line of a parse error', () => {
    const dir = certbotDir();
    const file = join(dir, 'renewal', 'bad.conf');
    writeFileSync(file, '[renewalparams]\nkey_type\n', { mode: 0o644 });
    const read = readRenewalConf(file, dir);
    assert.deepEqual(read, {
      problem: `renewal configuration ${file}: line 2: expected "key = value"`,
      missing: false,
    });
  });
});
