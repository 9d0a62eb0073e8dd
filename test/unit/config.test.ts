import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatPath, isLoopback, loadConfig } from '../../src/config/load.js';
import { checkConfigFile } from '../../src/config/schema.js';
import { normalizeName } from '../../src/names/normalize.js';
import { ConfigError } from '../../src/model/errors.js';
import { tempDir, writeConfig } from '../support/harness.js';

const KEY = 'secret-key-0123456789abcdef';

function load(config: unknown, env: Record<string, string> = {}, mode = 0o600) {
  const file = writeConfig(tempDir(), config, mode);
  return { file, result: () => loadConfig({ config: file }, env) };
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return [...error.issues];
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads a valid config, normalizing names and site ids', () => {
    const { file, result } = load({
      api: { id: 12345, key: KEY, baseUrl: 'https://my.imperva.com/' },
      sites: {
        'Example.COM': 1234567,
        'www.example.com': [1234567, '7654321'],
        '*.example.org': '2345678',
        'bücher.de.': 5,
      },
      stateDir: '/tmp/state',
    });
    const config = result();
    assert.equal(config.file, file);
    assert.deepEqual(config.api, {
      id: '12345',
      key: KEY,
      baseUrl: 'https://my.imperva.com',
      v3BaseUrl: 'https://api.imperva.com',
      keySource: `${file} (api.key)`,
    });
    assert.deepEqual(
      [...config.sites],
      [
        ['example.com', ['1234567']],
        ['www.example.com', ['1234567', '7654321']],
        ['*.example.org', ['2345678']],
        ['xn--bcher-kva.de', ['5']],
      ],
    );
    assert.equal(config.stateDir, '/tmp/state');
    assert.equal(config.liveDir, '/etc/letsencrypt/live');
    assert.equal(config.logFile, undefined);
  });

  it('lets the environment override the file, and flags override both', () => {
    const { result } = load(
      { api: { id: '1', key: KEY, baseUrl: 'https://a.example' }, sites: {}, logFile: '/tmp/a.log' },
      { IMPERVA_API_ID: '99', IMPERVA_API_KEY: 'env-key-000', IMPERVA_API_URL: 'http://127.0.0.1:8080' },
    );
    const config = result();
    assert.deepEqual(config.api, {
      id: '99',
      key: 'env-key-000',
      baseUrl: 'http://127.0.0.1:8080',
      // A loopback v1 API is the fake one, which serves v3 too: the default follows it, never Imperva's real host.
      v3BaseUrl: 'http://127.0.0.1:8080',
      keySource: 'IMPERVA_API_KEY',
    });
    const file = writeConfig(tempDir(), { sites: {}, logFile: '/tmp/a.log' });
    const flagged = loadConfig(
      { config: file, logFile: '/tmp/b.log' },
      { IMPERVA_API_ID: '1', IMPERVA_API_KEY: KEY },
    );
    assert.equal(flagged.logFile, '/tmp/b.log');
  });

  it('takes the config path from INCAP_CERT_CONFIG when there is no --config', () => {
    const file = writeConfig(tempDir(), { api: { id: '1', key: KEY }, sites: {} });
    assert.equal(loadConfig({}, { INCAP_CERT_CONFIG: file }).file, file);
  });

  it('reports every problem at once, each naming the file and the field', () => {
    const { file, result } = load({
      api: { id: 'abc', baseUrl: 'http://my.imperva.com' },
      sites: { 'example.com': 'twelve', 'www.example.com': [], 'bad name.com': 1 },
      colour: 'blue',
    });
    const issues = issuesOf(result);
    for (const issue of issues) assert.ok(issue.startsWith(`${file}: `), issue);
    const fields = issues.map((issue) => issue.slice(file.length + 2).split(': ')[0]);
    assert.deepEqual(
      new Set(fields),
      new Set([
        'api.id',
        'sites["example.com"]',
        'sites["www.example.com"]',
        'colour',
        'api.baseUrl',
        'api.key',
        'sites["bad name.com"]',
      ]),
    );
    assert.match(issues.join('\n'), /colour/);
    assert.match(issues.join('\n'), /site id must be a positive whole number/);
    assert.match(issues.join('\n'), /https:\/\/ \(plain http:\/\/ is allowed only to loopback/);
  });

  it('names a bad domain key', () => {
    const { result } = load({ api: { id: '1', key: KEY }, sites: { 'bad name.com': 1 } });
    assert.match(issuesOf(result).join(), /sites\["bad name\.com"\]: not a domain name/);
  });

  it('refuses a config that holds api.key and is readable by others', () => {
    const { file, result } = load({ api: { id: '1', key: KEY }, sites: {} }, {}, 0o644);
    const issues = issuesOf(result);
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /api\.key: .*readable by group or others \(mode 0644\); run: chmod 600 /);
    assert.ok(issues[0]?.endsWith(file));
    assert.ok(!issues.join().includes(KEY));
  });

  it('accepts a world-readable config without a key when the key comes from the environment', () => {
    const { result } = load({ api: { id: '1' }, sites: {} }, { IMPERVA_API_KEY: KEY }, 0o644);
    assert.equal(result().api.key, KEY);
  });

  it('requires credentials', () => {
    const { result } = load({ sites: {} });
    const issues = issuesOf(result);
    assert.equal(issues.length, 2);
    assert.match(issues[0] ?? '', /api\.id: no API id: set api\.id in the file or IMPERVA_API_ID/);
    assert.match(issues[1] ?? '', /api\.key: no API key: .*IMPERVA_API_KEY/);
  });

  it('says a missing config file is missing, naming it', () => {
    const file = join(tempDir(), 'nope.json');
    assert.deepEqual(
      issuesOf(() => loadConfig({ config: file }, {})),
      [`${file}: config file not found (create it, or name another with --config or INCAP_CERT_CONFIG)`],
    );
  });

  it('says where broken JSON is broken without quoting the file (it may hold the key)', () => {
    const file = join(tempDir(), 'config.json');
    writeFileSync(file, `{\n  "api": {"id": "1", "key": "${KEY}",}\n}`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const issues = issuesOf(() => loadConfig({ config: file }, {}));
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', new RegExp(`^${file}: not valid JSON: .* at line 2, column \\d+$`));
    assert.ok(!issues[0]?.includes(KEY));
  });
});

describe('names, paths and hosts', () => {
  const names: [string, string | undefined][] = [
    ['Example.COM', 'example.com'],
    ['www.example.com.', 'www.example.com'],
    ['*.Example.org', '*.example.org'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['a b.com', undefined],
    ['*.*.example.com', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of names) {
    it(`normalizeName(${JSON.stringify(input)}) = ${String(expected)}`, () =>
      assert.equal(normalizeName(input), expected));
  }
  it('formats field paths', () => {
    assert.equal(formatPath(['api', 'key']), 'api.key');
    assert.equal(formatPath(['sites', 'www.example.com', 1]), 'sites["www.example.com"][1]');
  });
  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) assert.ok(isLoopback(host), host);
    for (const host of ['10.0.0.1', 'my.imperva.com', '128.0.0.1']) assert.ok(!isLoopback(host), host);
  });
});

describe('checkConfigFile', () => {
  const cases: [string, unknown, string[]][] = [
    ['a config that is not an object', [1, 2], [': the config must be a JSON object']],
    ['attempts out of range', { sites: {}, attempts: 0 }, ['attempts: must be a whole number from 1 to 10']],
    ['attempts not whole', { sites: {}, attempts: 2.5 }, ['attempts: must be a whole number from 1 to 10']],
    [
      'a timeout of 0',
      { sites: {}, timeoutSeconds: 0 },
      ['timeoutSeconds: must be a number of seconds from 0.1 to 600'],
    ],
    [
      'a deadline as a string',
      { sites: {}, deadlineSeconds: '300' },
      ['deadlineSeconds: must be a number of seconds from 1 to 86400'],
    ],
    [
      'a concurrency of 100',
      { sites: {}, concurrency: 100 },
      ['concurrency: must be a whole number from 1 to 64'],
    ],
    [
      'onFailure as a shell string',
      { sites: {}, onFailure: 'mail ops' },
      [
        'onFailure: must be a command as a list of strings, e.g. ["/usr/bin/mail", "-s", "incap-cert failed", "ops@example.com"]',
      ],
    ],
    [
      'onFailure with an empty word',
      { sites: {}, onFailure: ['/bin/true', ''] },
      ['onFailure: must hold only non-empty strings'],
    ],
    ['an unknown api field', { sites: {}, api: { secret: 'x' } }, ['api,secret: unknown field']],
    ['api as a string', { sites: {}, api: 'x' }, ['api: must be an object with id, key and baseUrl']],
    ['no sites', {}, ['sites: sites must be an object mapping domain names to site ids']],
    [
      'a site id of zero and a float',
      { sites: { 'a.example': [0, 1.5, 7] } },
      [
        'sites,a.example,0: a site id must be a positive whole number or a string of digits',
        'sites,a.example,1: a site id must be a positive whole number or a string of digits',
      ],
    ],
  ];
  for (const [title, raw, expected] of cases) {
    it(title, () => {
      const { issues } = checkConfigFile(raw);
      assert.deepEqual(
        issues.map((issue) => `${issue.path.join(',')}: ${issue.message}`),
        expected,
      );
    });
  }

  it('keeps what is well-formed next to what is not', () => {
    const { value } = checkConfigFile({
      sites: { 'a.example': [0, 7], 'b.example': 'x', 'c.example': '8' },
      attempts: 3,
      liveDir: '',
    });
    assert.deepEqual(value, { sites: { 'a.example': [7], 'c.example': '8' }, attempts: 3 });
  });
});
