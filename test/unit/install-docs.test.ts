/** The documents install and the Debian package put on the host are every one the repository has. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DOC_NAMES } from '../../src/install/assets.js';
import { renderLogrotate, withoutOnFailure } from '../../src/install/install.js';
import { ROOT } from '../support/harness.js';

describe('the documents on the host', () => {
  it('DOC_NAMES (src/install/assets.ts) lists README.md and every file in docs/', () => {
    const there = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].sort();
    assert.deepEqual([...DOC_NAMES].sort(), there, 'add the new file to DOC_NAMES in src/install/assets.ts');
  });
});

describe('the rendered logrotate file and config template', () => {
  const logrotate = readFileSync(join(ROOT, 'hooks/logrotate/incap-cert'), 'utf8');
  const template = readFileSync(join(ROOT, 'scripts/config.example.json'), 'utf8');

  it('names the config’s log file, quoted; the template’s path when it cannot', () => {
    assert.equal(renderLogrotate(logrotate, undefined), logrotate);
    assert.equal(renderLogrotate(logrotate, '/var/log/incap-cert.log'), logrotate);
    assert.match(renderLogrotate(logrotate, '/srv/a b/../x.log'), /^"\/srv\/x\.log" \{$/m);
    for (const odd of ['relative.log', '/var/log/"x".log', '/var/log/a\\b.log', '/var/log/a\nb.log'])
      assert.equal(renderLogrotate(logrotate, odd), logrotate, JSON.stringify(odd));
  });

  it('the template without onFailure is the same JSON less that field', () => {
    const without = JSON.parse(withoutOnFailure(template)) as Record<string, unknown>;
    const whole = JSON.parse(template) as Record<string, unknown>;
    delete whole.onFailure;
    assert.deepEqual(without, whole);
  });
});
