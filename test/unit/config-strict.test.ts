/**
 * The config loader, strict (issue 9) and with the fields of issues 10–12: every case is one exact list of problem
 * lines, each naming the file and the field, never an internal error. Imports only what main already had
 * (loadConfig, ConfigError), so that the same file shows which cases main's loader got wrong.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type Config, type ConfigFlags } from '../../src/config/load.js';
import { ConfigError } from '../../src/model/errors.js';
import { ROOT, tempDir, writeConfig } from '../support/harness.js';

const KEY = 'secret-key-0123456789abcdef';
const BASE = { api: { id: '12345', key: KEY }, sites: { 'example.com': 1 } };
const isRoot = process.getuid?.() === 0;
const OTHER_USER = 1000;

type Env = Record<string, string>;

/** The problem lines without the `FILE: ` that each must start with; [] when the config loads. */
function problems(file: string, env: Env = {}, flags: ConfigFlags = {}): string[] {
  try {
    loadConfig({ config: file, ...flags }, env);
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    for (const issue of error.issues) assert.ok(issue.startsWith(`${file}: `), issue);
    return error.issues.map((issue) => issue.slice(file.length + 2));
  }
}

function configText(text: string, mode = 0o600): string {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

function load(config: unknown, env: Env = {}, flags: ConfigFlags = {}): Config {
  return loadConfig({ config: writeConfig(tempDir(), config), ...flags }, env);
}

describe('strict JSON in the config file', () => {
  const cases: [string, string, string[]][] = [
    [
      'a duplicate api.key (the second would win)',
      '{\n  "api": {"id": "1", "key": "first-key-123"},\n  "sites": {},\n  "api": {"key": "second-key-12"}\n}',
      ['api: appears more than once (line 4, column 3)'],
    ],
    [
      'a duplicate key inside api',
      '{"api": {"id": "1", "key": "k-1234567", "key": "k-7654321"}, "sites": {}}',
      ['api.key: appears more than once (line 1, column 41)'],
    ],
    [
      'a duplicate site name',
      '{"api": {"id": "1", "key": "k-1234567"}, "sites": {"a.example": 1, "a.example": 2}}',
      ['sites["a.example"]: appears more than once (line 1, column 68)'],
    ],
    [
      '__proto__ at the top',
      '{"__proto__": {"onFailure": ["/bin/sh"]}, "api": {"id": "1", "key": "k-1234567"}, "sites": {}}',
      ['__proto__: this name is not allowed as a key (line 1, column 2)'],
    ],
    [
      'constructor in sites',
      '{"api": {"id": "1", "key": "k-1234567"}, "sites": {"constructor": 1}}',
      ['sites.constructor: this name is not allowed as a key (line 1, column 52)'],
    ],
    [
      'hasOwnProperty in api',
      '{"api": {"id": "1", "key": "k-1234567", "hasOwnProperty": 1}, "sites": {}}',
      ['api.hasOwnProperty: this name is not allowed as a key (line 1, column 41)'],
    ],
    [
      'toString in sources',
      '{"api": {"id": "1", "key": "k-1234567"}, "sites": {}, "sources": {"toString": []}}',
      ['sources.toString: this name is not allowed as a key (line 1, column 67)'],
    ],
  ];
  for (const [title, text, expected] of cases) {
    it(`${title}: one line naming the field`, () => assert.deepEqual(problems(configText(text)), expected));
  }

  it('an unquoted API key: where, and no part of the key', () => {
    const secret = 'Zq7Xk93Wv0Lp2Nf8Rt5Y';
    const file = configText(`{\n  "api": {"id": "1", "key": ${secret}},\n  "sites": {}\n}`);
    const lines = problems(file);
    assert.deepEqual(lines, [
      'not valid JSON: unexpected character where a value belongs (a string needs double quotes) at line 2, column 29',
    ]);
    for (let start = 0; start + 4 <= secret.length; start += 1) {
      assert.ok(!lines[0]!.includes(secret.slice(start, start + 4)), lines[0]);
    }
  });
});

describe('names in sites must be DNS host names', () => {
  for (const name of [
    'example.com\\evil',
    'a\\b.example',
    'a?b.example',
    'example.com?x',
    'a#b.example',
    'example.com#',
    'a b.example',
    ' example.com',
    'example.com ',
    'a\tb.example',
    'a\nb.example',
    'a\u0000b.example',
    'a_b.example',
    'a!b.example',
    'a$b.example',
    'a%41.example',
    'a..b.example',
    '-a.example',
    'a-.example',
    'example.com/path',
    'example.com:443',
    'user@example.com',
    '*.*.example.com',
    'a*.example.com',
    '*example.com',
    'xn--zz.example',
    'a＼b.example',
    `${'a'.repeat(64)}.example`,
    '.',
  ]) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      const lines = problems(writeConfig(tempDir(), { ...BASE, sites: { [name]: 1 } }));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^sites\[".*"\]: not a domain name/);
      assert.doesNotMatch(lines[0]!, /[\n\t\0]/);
    });
  }

  it('keeps IDNs (as punycode), wildcards, case and a trailing dot working', () => {
    const config = load({
      ...BASE,
      sites: {
        'bücher.example': 1,
        '*.münchen.example': 2,
        'ＥＸＡＭＰＬＥ.com': 3,
        'WWW.Example.org.': '4',
      },
    });
    assert.deepEqual(
      [...config.sites],
      [
        ['xn--bcher-kva.example', ['1']],
        ['*.xn--mnchen-3ya.example', ['2']],
        ['example.com', ['3']],
        ['www.example.org', ['4']],
      ],
    );
  });
});

describe('API id and key: only what an HTTP header can carry', () => {
  const fileCases: [string, unknown, unknown, string][] = [
    [
      'an id with a control character',
      '12\u00013',
      KEY,
      'api.id: the API id must be a number or a string of digits',
    ],
    [
      'an id with non-ASCII digits',
      '１２３',
      KEY,
      'api.id: the API id must be a number or a string of digits',
    ],
    ['an id with a space', '12 3', KEY, 'api.id: the API id must be a number or a string of digits'],
    [
      'a key with a control character',
      '12345',
      'abc\u0001def-123',
      'api.key: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    [
      'a key with a newline',
      '12345',
      'abc-def-123\n',
      'api.key: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    [
      'a non-ASCII key',
      '12345',
      'clé-0123456789',
      'api.key: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    [
      'a key with a space',
      '12345',
      'abc 0123456789',
      'api.key: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    ['a key that is a number', '12345', 123456, 'api.key: the API key must be a string'],
  ];
  for (const [title, id, key, expected] of fileCases) {
    it(`${title} in the file: one line, no part of the key`, () => {
      const lines = problems(writeConfig(tempDir(), { api: { id, key }, sites: {} }));
      assert.deepEqual(lines, [expected]);
      if (typeof key === 'string') assert.ok(!lines.join().includes(key.slice(0, 6)));
    });
  }

  const envCases: [string, Env, string][] = [
    [
      'IMPERVA_API_KEY with a control character',
      { IMPERVA_API_KEY: 'env\u0001key-0123' },
      'IMPERVA_API_KEY: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    [
      'a non-ASCII IMPERVA_API_KEY',
      { IMPERVA_API_KEY: 'envkéy-0123' },
      'IMPERVA_API_KEY: the API key must hold only printable ASCII characters (no spaces, control or non-ASCII characters)',
    ],
    [
      'IMPERVA_API_ID with a letter',
      { IMPERVA_API_ID: '12a', IMPERVA_API_KEY: KEY },
      'IMPERVA_API_ID: the API id must be a number or a string of digits',
    ],
    [
      'IMPERVA_API_ID with a control character',
      { IMPERVA_API_ID: '12\u0007', IMPERVA_API_KEY: KEY },
      'IMPERVA_API_ID: the API id must be a number or a string of digits',
    ],
  ];
  for (const [title, env, expected] of envCases) {
    it(`${title}: one line naming the variable, no part of the key`, () => {
      const lines = problems(writeConfig(tempDir(), { api: { id: '1' }, sites: {} }), env);
      assert.deepEqual(lines, [expected]);
      assert.ok(!lines.join().includes('key-0123'));
    });
  }
});

describe(
  'trust: a config that someone other than root could have written is refused',
  { skip: !isRoot && 'needs root (chown)' },
  () => {
    /** A folder holding a valid config, both arranged by `arrange`; returns the config's path. */
    function arranged(arrange: (dir: string, file: string) => void, withKey = true): string {
      const dir = join(tempDir(), 'etc');
      mkdirSync(dir, { mode: 0o700 });
      const file = writeConfig(dir, withKey ? BASE : { api: { id: '1' }, sites: {} });
      arrange(dir, file);
      return file;
    }
    const env = { IMPERVA_API_KEY: KEY };
    const cases: [string, (dir: string, file: string) => void, (dir: string, file: string) => string][] = [
      [
        'a group-writable file',
        (_dir, file) => chmodSync(file, 0o620),
        (_dir, file) =>
          `not trusted: ${file} is writable by group or others (mode 0620); run: chmod go-w ${file}`,
      ],
      [
        'a file others can write',
        (_dir, file) => chmodSync(file, 0o602),
        (_dir, file) =>
          `not trusted: ${file} is writable by group or others (mode 0602); run: chmod go-w ${file}`,
      ],
      [
        'a file owned by another user',
        (_dir, file) => chownSync(file, OTHER_USER, OTHER_USER),
        (_dir, file) => `not trusted: ${file} is owned by user ${OTHER_USER}, not by root`,
      ],
      [
        'a folder others can write',
        (dir) => chmodSync(dir, 0o777),
        (dir) => `not trusted: ${dir} is writable by group or others (mode 0777); run: chmod go-w ${dir}`,
      ],
      [
        'a group-writable folder',
        (dir) => chmodSync(dir, 0o770),
        (dir) => `not trusted: ${dir} is writable by group or others (mode 0770); run: chmod go-w ${dir}`,
      ],
      [
        'a folder owned by another user',
        (dir) => chownSync(dir, OTHER_USER, OTHER_USER),
        (dir) => `not trusted: ${dir} is owned by user ${OTHER_USER}, not by root`,
      ],
      [
        'a sticky folder owned by another user',
        (dir) => {
          chownSync(dir, OTHER_USER, OTHER_USER);
          chmodSync(dir, 0o1777);
        },
        (dir) => `not trusted: ${dir} is owned by user ${OTHER_USER}, not by root`,
      ],
    ];
    for (const [title, arrange, expected] of cases) {
      for (const withKey of [true, false]) {
        it(`${title} (${withKey ? 'holding' : 'without'} the key): one line, exit 2`, () => {
          let dir = '';
          const file = arranged((d, f) => {
            dir = d;
            arrange(d, f);
          }, withKey);
          assert.deepEqual(problems(file, withKey ? {} : env), [expected(dir, file)]);
        });
      }
    }

    it('a symbolic link in a folder others can write, to a good file', () => {
      const good = arranged(() => {});
      const open = join(tempDir(), 'open');
      mkdirSync(open, { mode: 0o777 });
      chmodSync(open, 0o777);
      const link = join(open, 'config.json');
      symlinkSync(good, link);
      assert.deepEqual(problems(link), [
        `not trusted: ${open} is writable by group or others (mode 0777); run: chmod go-w ${open}`,
      ]);
    });

    it('a sticky folder owned by root (like /tmp) is fine, and so is a file others may only read', () => {
      const file = arranged((dir, f) => {
        chmodSync(dir, 0o1777);
        chmodSync(f, 0o644);
      }, false);
      assert.deepEqual(problems(file, env), []);
    });

    it('keeps the rule for the key: readable by others while holding api.key → chmod 600', () => {
      const file = arranged((_dir, f) => chmodSync(f, 0o640));
      assert.deepEqual(problems(file), [
        `api.key: the file holds the API key but is readable by group or others (mode 0640); run: chmod 600 ${file}`,
      ]);
    });
  },
);

describe('only a regular file of sensible size is read', () => {
  it('a FIFO is refused at once (no hang)', () => {
    const file = join(tempDir(), 'config.json');
    execFileSync('mkfifo', ['-m', '600', file]);
    assert.deepEqual(problems(file), ['not a regular file']);
  });
  it('a file over 1 MiB is refused', () => {
    const file = configText(
      `{"sites": {}, "api": {"id": "1", "key": "k-1234567"}}${' '.repeat(1024 * 1024)}`,
    );
    assert.deepEqual(problems(file), ['larger than 1024 KiB; not a config file']);
  });
  it('a folder is named as one', () => {
    const dir = tempDir();
    assert.deepEqual(problems(dir), ['is a folder, not a config file']);
  });
});

describe('the fields issues 9–12 add', () => {
  it('have these defaults', () => {
    const config = load(BASE);
    assert.equal(config.retry.deadlineMs, 300_000);
    assert.equal(config.retry.hookDeadlineMs, 100_000);
    assert.equal(config.api.v3BaseUrl, 'https://api.imperva.com');
    assert.equal(config.edgeAddress, undefined);
    assert.equal(config.warnDays, undefined);
    assert.equal(config.metricsFile, undefined);
    assert.equal(config.pruneOtherKeyType, false);
    assert.equal(config.ratePerMinute, undefined);
    assert.deepEqual(config.sources, []);
    assert.deepEqual(config.placeholders, []);
  });

  it('read their values from the file', () => {
    const config = load({
      ...BASE,
      api: { ...BASE.api, v3BaseUrl: 'https://v3.example.net/' },
      hookDeadlineSeconds: 50,
      deadlineSeconds: 600,
      edgeAddress: 'Edge.Example.NET:8443',
      warnDays: 2.5,
      metricsFile: '/var/lib/node_exporter/incap-cert.prom',
      pruneOtherKeyType: true,
      ratePerMinute: 90,
      sources: {
        dehydrated: ['/etc/dehydrated/certs'],
        lego: ['/root/.lego/certificates', '/srv/lego/certificates/', '/root/.lego/certificates/'],
        'acme.sh': ['/root/.acme.sh', 'acme'],
      },
    });
    assert.equal(config.retry.hookDeadlineMs, 50_000);
    assert.equal(config.retry.deadlineMs, 600_000);
    assert.equal(config.api.v3BaseUrl, 'https://v3.example.net');
    assert.deepEqual(config.edgeAddress, { host: 'edge.example.net', port: 8443 });
    assert.equal(config.warnDays, 2.5);
    assert.equal(config.metricsFile, '/var/lib/node_exporter/incap-cert.prom');
    assert.equal(config.pruneOtherKeyType, true);
    assert.equal(config.ratePerMinute, 90);
    assert.deepEqual(config.sources, [
      { client: 'dehydrated', dir: '/etc/dehydrated/certs', setting: 'sources.dehydrated[0]' },
      { client: 'lego', dir: '/root/.lego/certificates', setting: 'sources.lego[0]' },
      { client: 'lego', dir: '/srv/lego/certificates', setting: 'sources.lego[1]' },
      { client: 'acme.sh', dir: '/root/.acme.sh', setting: 'sources["acme.sh"][0]' },
      { client: 'acme.sh', dir: join(process.cwd(), 'acme'), setting: 'sources["acme.sh"][1]' },
    ]);
  });

  it('take the environment and flags over the file', () => {
    const config = load(
      {
        ...BASE,
        api: { ...BASE.api, v3BaseUrl: 'https://v3.example.net' },
        edgeAddress: '192.0.2.1:443',
        metricsFile: '/a.prom',
      },
      { IMPERVA_V3_URL: 'http://127.0.0.1:8081/', INCAP_CERT_EDGE: '[::1]:8443' },
      { metricsFile: 'relative.prom' },
    );
    assert.equal(config.api.v3BaseUrl, 'http://127.0.0.1:8081');
    assert.deepEqual(config.edgeAddress, { host: '::1', port: 8443 });
    assert.equal(config.metricsFile, join(process.cwd(), 'relative.prom'));
  });

  it('edgeAddress takes IPv4, IPv6 in brackets and names', () => {
    for (const [text, expected] of [
      ['192.0.2.10:443', { host: '192.0.2.10', port: 443 }],
      ['[2001:DB8::1]:443', { host: '2001:db8::1', port: 443 }],
      ['localhost:1', { host: 'localhost', port: 1 }],
      ['bücher.example:65535', { host: 'xn--bcher-kva.example', port: 65535 }],
    ] as const) {
      assert.deepEqual(load({ ...BASE, edgeAddress: text }).edgeAddress, expected, text);
    }
  });

  it('say where the key came from', () => {
    const file = writeConfig(tempDir(), BASE);
    assert.equal(loadConfig({ config: file }, {}).api.keySource, `${file} (api.key)`);
    assert.equal(
      loadConfig({ config: file }, { IMPERVA_API_KEY: 'other-key-123' }).api.keySource,
      'IMPERVA_API_KEY',
    );
  });

  const EDGE = 'must be HOST:PORT, e.g. 192.0.2.10:443, edge.example.net:443 or [2001:db8::1]:443';
  const bad: [string, Record<string, unknown>, Env, string[]][] = [
    [
      'hookDeadlineSeconds of 0',
      { hookDeadlineSeconds: 0 },
      {},
      ['hookDeadlineSeconds: must be a number of seconds from 1 to 86400'],
    ],
    [
      'hookDeadlineSeconds as a string',
      { hookDeadlineSeconds: '100' },
      {},
      ['hookDeadlineSeconds: must be a number of seconds from 1 to 86400'],
    ],
    [
      'a v3 URL in plain http to another host',
      { api: { ...BASE.api, v3BaseUrl: 'http://api.imperva.com' } },
      {},
      ['api.v3BaseUrl: must use https:// (plain http:// is allowed only to loopback addresses, for tests)'],
    ],
    [
      'a v3 URL that is not one',
      { api: { ...BASE.api, v3BaseUrl: 'api.imperva.com' } },
      {},
      ['api.v3BaseUrl: not a URL'],
    ],
    [
      'an empty v3 URL',
      { api: { ...BASE.api, v3BaseUrl: '' } },
      {},
      ['api.v3BaseUrl: the v3 base URL must not be empty'],
    ],
    [
      'IMPERVA_V3_URL with ftp',
      {},
      { IMPERVA_V3_URL: 'ftp://x.example' },
      ['IMPERVA_V3_URL: must be an https:// URL'],
    ],
    [
      'IMPERVA_V3_URL with credentials',
      {},
      { IMPERVA_V3_URL: 'https://u:p@x.example' },
      ['IMPERVA_V3_URL: must not carry credentials, a query or a fragment'],
    ],
    ['edgeAddress without a port', { edgeAddress: 'edge.example.net' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress port 0', { edgeAddress: 'edge.example.net:0' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress port 65536', { edgeAddress: 'edge.example.net:65536' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress IPv6 without brackets', { edgeAddress: '::1:443' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress IPv6 without a port', { edgeAddress: '[::1]' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress not IPv6 in brackets', { edgeAddress: '[zz]:443' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress with a space', { edgeAddress: 'a b:443' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress with a wildcard', { edgeAddress: '*.example.net:443' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress with a path', { edgeAddress: 'edge.example.net:443/x' }, {}, [`edgeAddress: ${EDGE}`]],
    ['edgeAddress as a number', { edgeAddress: 443 }, {}, [`edgeAddress: ${EDGE}`]],
    [
      'edgeAddress with a newline',
      { edgeAddress: 'a:1\n' },
      {},
      ['edgeAddress: must not hold control characters'],
    ],
    ['INCAP_CERT_EDGE without a port', {}, { INCAP_CERT_EDGE: '192.0.2.1' }, [`INCAP_CERT_EDGE: ${EDGE}`]],
    ['warnDays below 0', { warnDays: -1 }, {}, ['warnDays: must be a number of days from 0 to 3650']],
    ['warnDays as a string', { warnDays: '7' }, {}, ['warnDays: must be a number of days from 0 to 3650']],
    ['metricsFile empty', { metricsFile: '' }, {}, ['metricsFile: must be a file path']],
    [
      'metricsFile with a newline',
      { metricsFile: '/a\n.prom' },
      {},
      ['metricsFile: must not hold control characters'],
    ],
    [
      'pruneOtherKeyType as a string',
      { pruneOtherKeyType: 'yes' },
      {},
      ['pruneOtherKeyType: must be true or false'],
    ],
    [
      'ratePerMinute of 0',
      { ratePerMinute: 0 },
      {},
      ['ratePerMinute: must be a number of requests per minute above 0, at most 100000'],
    ],
    [
      'ratePerMinute below 0',
      { ratePerMinute: -5 },
      {},
      ['ratePerMinute: must be a number of requests per minute above 0, at most 100000'],
    ],
    [
      'sources as a list',
      { sources: ['/root/.acme.sh'] },
      {},
      [
        'sources: must be an object naming folders by client, e.g. {"lego": ["/root/.lego/certificates"], "acme.sh": ["/root/.acme.sh"], "dehydrated": ["/etc/dehydrated/certs"]}',
      ],
    ],
    [
      "an unknown client, a folder that is one string, an empty folder: each, in the file's order",
      { sources: { certbot: ['/etc/letsencrypt/live'], 'acme.sh': '/root/.acme.sh', lego: [''] } },
      {},
      [
        "sources.certbot: unknown ACME client; one of lego, acme.sh, dehydrated (Certbot's folder is liveDir)",
        'sources["acme.sh"]: must be a list of folder paths',
        'sources.lego[0]: must be a folder path, or {"path": FOLDER, "owner": USER, "names": [NAME, ...]} for a folder another user writes',
      ],
    ],
    [
      'a source folder with a control character',
      { sources: { dehydrated: ['/etc/dehydrated/certs\n'] } },
      {},
      ['sources.dehydrated[0]: must not hold control characters'],
    ],
    [
      'stateDir with a control character',
      { stateDir: '/var/lib/x\u001b[2J' },
      {},
      ['stateDir: must not hold control characters'],
    ],
    [
      'onFailure with a NUL',
      { onFailure: ['/bin/echo', 'a\u0000b'] },
      {},
      ['onFailure: must not hold NUL characters'],
    ],
    ...(['./notify.sh', 'bin/notify', '../notify'] as const).map(
      (program): [string, Record<string, unknown>, Env, string[]] => [
        `onFailure with the relative program path ${program} (it ran only from the folder check ran in)`,
        { onFailure: [program, '--urgent'] },
        {},
        [
          'onFailure: the program must be an absolute path (or a bare name looked up on PATH), not a relative one',
        ],
      ],
    ),
    [
      'two unknown fields, both named',
      { colour: 1, shape: 2 },
      {},
      ['colour: unknown field', 'shape: unknown field'],
    ],
  ];
  for (const [title, fields, env, expected] of bad) {
    it(`refuses ${title}`, () =>
      assert.deepEqual(problems(writeConfig(tempDir(), { ...BASE, ...fields }), env), expected));
  }
});

describe('the config template', () => {
  const template = join(ROOT, 'scripts', 'config.example.json');
  const installed = () => {
    const file = join(tempDir(), 'config.json');
    copyFileSync(template, file);
    chmodSync(file, 0o600);
    return file;
  };

  it('loads, and says which fields still hold its placeholders', () => {
    const config = loadConfig({ config: installed() }, {});
    assert.deepEqual(config.placeholders, ['api.id', 'api.key', 'sites']);
  });

  it('a template with nothing filled in stays quiet, whatever of its example map is left', () => {
    const file = installed();
    const text = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...text, sites: { 'your-domain.example': 1234567 } }));
    assert.deepEqual(loadConfig({ config: file }, {}).placeholders, ['api.id', 'api.key', 'sites']);
    writeFileSync(file, JSON.stringify({ ...text, sites: {} }));
    assert.deepEqual(loadConfig({ config: file }, {}).placeholders, ['api.id', 'api.key']);
  });

  // Filled in only in part, it was quiet on every run for ever: now refused, naming every field left.
  const templateConfig = (): Record<string, unknown> =>
    JSON.parse(readFileSync(installed(), 'utf8')) as never;
  const partly: [string, (config: Record<string, unknown>) => Record<string, unknown>, Env, string[]][] = [
    [
      'real credentials from the environment beside the example map',
      (config) => config,
      { IMPERVA_API_ID: '777', IMPERVA_API_KEY: KEY },
      [
        `sites["your-domain.example"]: site id 1234567 is still the template's example; replace it with your names and their Imperva site ids`,
        `sites["www.your-domain.example"]: site id 1234567, 7654321 is still the template's example; replace it with your names and their Imperva site ids`,
        `sites["*.your-other-domain.example"]: site id 2345678 is still the template's example; replace it with your names and their Imperva site ids`,
      ],
    ],
    [
      'a real map beside YOUR_API_ID and YOUR_API_KEY',
      (config) => ({ ...config, sites: { 'shop.test': 42 } }),
      {},
      [
        "api.id: still the template's placeholder beside values filled in; fill in your Imperva API id (or IMPERVA_API_ID)",
        `api.key: still the template's placeholder beside values filled in; fill in your API key with the "Manage SSL Certificates" permission (or IMPERVA_API_KEY)`,
      ],
    ],
    [
      'a real id and map beside YOUR_API_KEY',
      (config) => ({ ...config, api: { id: '777', key: 'YOUR_API_KEY' }, sites: { 'shop.test': 42 } }),
      {},
      [
        `api.key: still the template's placeholder beside values filled in; fill in your API key with the "Manage SSL Certificates" permission (or IMPERVA_API_KEY)`,
      ],
    ],
    [
      'one example entry left among real ones (its id beside a real one)',
      (config) => ({
        ...config,
        api: { id: '777', key: KEY },
        sites: { 'shop.test': 42, 'www.your-domain.example': [7654321, 99] },
      }),
      {},
      [
        `sites["www.your-domain.example"]: site id 7654321 is still the template's example; replace it with your names and their Imperva site ids`,
      ],
    ],
  ];
  for (const [title, change, env, expected] of partly) {
    it(`refuses ${title}`, () =>
      assert.deepEqual(problems(writeConfig(tempDir(), change(templateConfig())), env), expected));
  }

  it('a real map that reuses an example id under a name of its own is no placeholder', () => {
    const file = writeConfig(tempDir(), {
      ...templateConfig(),
      api: { id: '777', key: KEY },
      sites: { 'shop.test': 1234567 },
    });
    assert.deepEqual(loadConfig({ config: file }, {}).placeholders, []);
  });

  it('pins no deadline: hook runs get 100 s, push and sync 300 s', () => {
    assert.ok(!('deadlineSeconds' in (JSON.parse(readFileSync(template, 'utf8')) as object)));
    const config = loadConfig({ config: installed() }, {});
    assert.deepEqual([config.retry.hookDeadlineMs, config.retry.deadlineMs], [100_000, 300_000]);
  });
});
