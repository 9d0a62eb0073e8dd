import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { quickDeploy } from '../../src/quick.js';
import { tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';

describe('quickDeploy (a hook run with nothing to upload, without the full command line)', () => {
  let env: Record<string, string>;
  let mapped: Record<string, string>;
  let dir: string;
  before(async () => {
    dir = tempDir();
    const leaf = await issueLeaf(await createPki(), { names: ['unmapped.example', 'www.unmapped.example'] });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'unmapped.example', leaf);
    const config = writeConfig(dir, {
      api: { id: '1', key: 'quick-key-0123456789' },
      sites: { 'other.example': 1 },
    });
    env = { RENEWED_LINEAGE: lineage, INCAP_CERT_CONFIG: config };
    const mappedConfig = writeConfig(tempDir(), {
      api: { id: '1', key: 'quick-key-0123456789' },
      sites: { 'www.unmapped.example': 1 },
    });
    mapped = { ...env, INCAP_CERT_CONFIG: mappedConfig };
  });

  const run = (argv: string[], environment: Record<string, string>) => {
    const lines: string[] = [];
    return { code: quickDeploy(argv, environment, (line) => lines.push(line)), lines };
  };

  it('answers an unmapped lineage with the same line as the full run, exit 0', () => {
    for (const argv of [
      [],
      ['deploy'],
      ['deploy', '--config', env.INCAP_CERT_CONFIG ?? ''],
      [`--config=${env.INCAP_CERT_CONFIG}`],
    ]) {
      assert.deepEqual(
        run(argv, env),
        {
          code: 0,
          lines: ['no Imperva site is mapped to unmapped.example, www.unmapped.example; nothing to upload\n'],
        },
        argv.join(' '),
      );
    }
  });

  const handsOver: [string, string[], () => Record<string, string>][] = [
    ['a mapped lineage', ['deploy'], () => mapped],
    ['another command', ['push', '--lineage', '/x'], () => env],
    ['another flag', ['deploy', '--verbose'], () => env],
    ['no hook environment', ['deploy'], () => ({ INCAP_CERT_CONFIG: env.INCAP_CERT_CONFIG ?? '' })],
    ['a broken config', ['deploy'], () => ({ ...env, INCAP_CERT_CONFIG: join(dir, 'missing.json') })],
    ['a missing lineage', ['deploy'], () => ({ ...env, RENEWED_LINEAGE: join(dir, 'nope') })],
  ];
  for (const [title, argv, environment] of handsOver) {
    it(`hands ${title} to the full command line, saying nothing`, () => {
      assert.deepEqual(run(argv, environment()), { code: undefined, lines: [] });
    });
  }
});
