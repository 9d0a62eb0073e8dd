import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acmeShRoute,
  certbotRoute,
  dehydratedRoute,
  legoRoute,
  parseAcmeShConf,
} from '../../src/canary/route.js';
import { parseRenewalConf } from '../../src/sources/renewal-conf.js';

function conf(params: string, extra = ''): ReturnType<typeof parseRenewalConf> {
  return parseRenewalConf(
    `version = 5.1.0\n[renewalparams]\n${params}\n${extra}`,
    'renewal/a.example.com.conf',
  );
}

describe('certbotRoute', () => {
  it('puts the token under the webroot_map entry of the name, else the last web root', () => {
    const c = conf(
      'authenticator = webroot\nwebroot_path = /var/www/a, /var/www/b,',
      '[[webroot_map]]\na.example.com = /var/www/a\n',
    );
    assert.deepEqual(certbotRoute(c, 'A.example.com'), {
      kind: 'webroot',
      folder: '/var/www/a/.well-known/acme-challenge',
      root: '/var/www/a',
    });
    assert.equal((certbotRoute(c, 'c.example.com') as { root: string }).root, '/var/www/b');
  });
  it('judges every other way of renewing', () => {
    const cases: [string, string][] = [
      ['authenticator = dns-cloudflare', 'not-needed'],
      ['authenticator = manual\npref_challs = dns-01,', 'not-needed'],
      ['authenticator = standalone\npref_challs = tls-alpn-01,', 'cannot-pass'],
      ['authenticator = standalone\nhttp01_port = 8080', 'cannot-pass'],
      ['authenticator = standalone', 'unchecked'],
      ['authenticator = nginx', 'unchecked'],
      ['authenticator = manual', 'unchecked'],
      ['authenticator = webroot', 'unchecked'],
    ];
    for (const [params, kind] of cases)
      assert.equal(certbotRoute(conf(params), 'a.example.com').kind, kind, params);
  });
});

describe('acmeShRoute', () => {
  const text = [
    "Le_Domain='a.example.com'",
    "Le_Alt='b.example.com,c.example.com'",
    "Le_Webroot='/var/www/a,/var/www/b'",
    "Le_HTTPPort='18080'",
    'Le_Evil=$(touch /x)',
  ].join('\n');
  it('gives name i entry i, and names past the end the last entry', () => {
    const values = parseAcmeShConf(text);
    assert.equal(values.has('Le_Evil'), false);
    assert.equal((acmeShRoute(values, 'a.example.com') as { root: string }).root, '/var/www/a');
    assert.equal((acmeShRoute(values, 'c.example.com') as { root: string }).root, '/var/www/b');
  });
  it('judges DNS, alpn and standalone entries', () => {
    const judge = (webroot: string) =>
      acmeShRoute(
        parseAcmeShConf(`Le_Domain='a.example.com'\nLe_Webroot='${webroot}'\nLe_HTTPPort='18080'`),
        'a.example.com',
      ).kind;
    assert.equal(judge('dns_cf'), 'not-needed');
    assert.equal(judge('alpn'), 'cannot-pass');
    assert.equal(judge('no'), 'cannot-pass');
    assert.equal(judge('nginx:'), 'unchecked');
  });
});

describe('dehydratedRoute', () => {
  it('reads literal WELLKNOWN and CHALLENGETYPE lines, later ones winning', () => {
    const route = dehydratedRoute([
      { file: '/etc/dehydrated/config', text: 'WELLKNOWN="/var/lib/dehydrated/acme-challenges"\n' },
      { file: '/etc/dehydrated/conf.d/a.sh', text: "WELLKNOWN='/srv/wk' # ours\n" },
    ]);
    assert.deepEqual(route, { kind: 'webroot', folder: '/srv/wk', root: '/srv/wk' });
    assert.equal(dehydratedRoute([]).kind, 'webroot');
    assert.equal(dehydratedRoute([{ file: 'c', text: 'CHALLENGETYPE="dns-01"' }]).kind, 'not-needed');
    assert.equal(dehydratedRoute([{ file: 'c', text: 'CHALLENGETYPE=tls-alpn-01' }]).kind, 'cannot-pass');
  });
  it('does not guess a value built by the shell', () => {
    const route = dehydratedRoute([{ file: 'c', text: 'WELLKNOWN="${BASEDIR}/wk"' }]);
    assert.equal(route.kind, 'unchecked');
    assert.match((route as { reason: string }).reason, /c sets WELLKNOWN=/);
  });
});

describe('legoRoute', () => {
  it('uses canaryWebroots, else unchecked naming the setting', () => {
    assert.equal(legoRoute({ 'a.example.com': '/var/www/a' }, 'a.example.com').kind, 'webroot');
    assert.match((legoRoute(undefined, 'a.example.com') as { reason: string }).reason, /canaryWebroots/);
  });
});

describe('dehydratedRoute: variables it knows', () => {
  const debian = [{ file: '/etc/dehydrated/config', text: 'WELLKNOWN="${BASEDIR}/acme-challenges"\n' }];
  it('puts in BASEDIR, as Debian writes it, in both spellings', () => {
    assert.deepEqual(dehydratedRoute(debian, { BASEDIR: '/var/lib/dehydrated' }), {
      kind: 'webroot',
      folder: '/var/lib/dehydrated/acme-challenges',
      root: '/var/lib/dehydrated/acme-challenges',
    });
    const bare = [{ file: 'config', text: 'WELLKNOWN=$BASEDIR/wk\n' }];
    assert.equal((dehydratedRoute(bare, { BASEDIR: '/srv/d' }) as { folder: string }).folder, '/srv/d/wk');
  });
  it('guesses no other variable, nothing in single quotes, and no value that is not a plain path', () => {
    assert.equal(dehydratedRoute(debian).kind, 'unchecked');
    const other = [{ file: 'config', text: 'WELLKNOWN="${HOME}/wk"\n' }];
    assert.equal(dehydratedRoute(other, { BASEDIR: '/srv/d' }).kind, 'unchecked');
    const quoted = [{ file: 'config', text: "WELLKNOWN='${BASEDIR}/wk'\n" }];
    assert.equal(
      (dehydratedRoute(quoted, { BASEDIR: '/srv/d' }) as { folder: string }).folder,
      '${BASEDIR}/wk',
    );
    assert.equal(dehydratedRoute(debian, { BASEDIR: '/srv/$(id)' }).kind, 'unchecked');
  });
});
