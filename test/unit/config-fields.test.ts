/**
 * The config file's documentation is tied to its schema: one text per field (src/config/field-texts.ts), and the
 * pages rendered from them (help config, incap-cert-config(5), docs/config.md) carry every field.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configHelp, configManPage, configMarkdown } from '../../src/cli/config-page.js';
import { FIELD_TEXTS } from '../../src/config/field-texts.js';
import { CONFIG_FIELDS, ConfigFileSchema, validate } from '../../src/config/schema.js';
import { ROOT } from '../support/harness.js';

/** A value of no field's type: every field the schema knows rejects it with its own message. */
const WRONG = Symbol('wrong');

function issuesFor(field: string): string[] {
  const [outer, inner] = field.split('.') as [string, string | undefined];
  const config: Record<string, unknown> = { sites: { 'example.com': 1 } };
  config[outer] = inner === undefined ? WRONG : { [inner]: WRONG };
  const { issues } = validate(ConfigFileSchema, config);
  return (issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('config field texts', () => {
  it('one text per schema field, in the schema’s order, and no text without a field', () => {
    assert.deepEqual(Object.keys(FIELD_TEXTS), [...CONFIG_FIELDS]);
  });

  it('every listed field is one the schema accepts, and a made-up one is refused', () => {
    for (const field of CONFIG_FIELDS) {
      const issues = issuesFor(field);
      assert.equal(issues.length, 1, `${field}: ${issues.join('; ')}`);
      assert.ok(issues[0]?.startsWith(`${field}: `), issues[0]);
      assert.doesNotMatch(issues[0] ?? '', /unknown field/, field);
    }
    assert.deepEqual(issuesFor('notAField'), ['notAField: unknown field']);
    assert.deepEqual(issuesFor('api.notAField'), ['api.notAField: unknown field']);
  });

  it('each text has what the pages print', () => {
    for (const [name, field] of Object.entries(FIELD_TEXTS)) {
      assert.ok(field.value.length > 0 && field.default.length > 0, name);
      assert.match(field.text, /\.$/, `${name}: a sentence ends the text`);
      assert.equal(field.text.split('`').length % 2, 1, `${name}: backticks in pairs`);
    }
  });

  it('help config, the man page and docs/config.md name every field', () => {
    const help = configHelp();
    const man = configManPage({ date: '2026-01-01' });
    const markdown = configMarkdown();
    for (const field of CONFIG_FIELDS) {
      assert.match(help, new RegExp(`^ {2}${field}: `, 'm'), field);
      assert.ok(man.includes(`\n.B ${field}\n`), field);
      assert.ok(markdown.includes(`\n### \`${field}\`\n`), field);
    }
  });

  it('docs/config.md is what npm run docs:config writes', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8');
    assert.equal(committed, configMarkdown(), 'docs/config.md is stale: run npm run docs:config');
  });

  it('incap-cert-config(5) renders without a warning', (t) => {
    if (spawnSync('groff', ['--version']).error !== undefined) return t.skip('no groff here');
    const page = configManPage({ date: '2026-01-01' });
    const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '');
  });
});
