/**
 * A config that is not strictly what it should be (issue 9), through the built CLI: exit 2, one line on stderr naming
 * the file and the field, no stack trace, no secret, and nothing sent to the API — never an internal error or a retry.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import {
  API_ID,
  assertNoSecrets,
  assertOneLineError,
  createWorld,
  secretsOf,
  type World,
} from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isRoot = process.getuid?.() === 0;

interface Case {
  title: string;
  /** Breaks the world's config; returns extra environment. */
  arrange: (w: World) => Record<string, string> | void;
  /** The stderr line after `error: FILE: `. */
  line: (w: World) => RegExp;
  root?: boolean;
}

const apiOf = (w: World) => ({ id: API_ID, key: w.apiKey, baseUrl: w.fake.url });

const cases: Case[] = [
  {
    title: 'a duplicate api.key',
    arrange: (w) =>
      writeFileSync(
        w.configFile,
        `{"api": {"id": "${API_ID}", "key": "${w.apiKey}", "baseUrl": "${w.fake.url}", "key": "x-${w.apiKey}"},\n` +
          ` "sites": {"example.com": 1234567}}`,
      ),
    line: () => /^api\.key: appears more than once \(line 1, column \d+\)$/,
  },
  {
    title: 'a __proto__ key',
    arrange: (w) =>
      writeFileSync(
        w.configFile,
        JSON.stringify({ api: apiOf(w), sites: { 'example.com': 1234567 } }).replace(
          /^\{/,
          '{"__proto__": {"onFailure": ["/bin/sh", "-c", "id"]}, ',
        ),
      ),
    line: () => /^__proto__: this name is not allowed as a key \(line 1, column 2\)$/,
  },
  {
    title: 'a hasOwnProperty key in sites',
    arrange: (w) =>
      writeFileSync(
        w.configFile,
        JSON.stringify({ api: apiOf(w), sites: { 'example.com': 1234567 } }).replace(
          '"sites":{',
          '"sites":{"hasOwnProperty":1,',
        ),
      ),
    line: () => /^sites\.hasOwnProperty: this name is not allowed as a key \(line 1, column \d+\)$/,
  },
  {
    title: 'a site name that the URL host parser would cut down to a mapped one',
    arrange: (w) => {
      writeConfig(w.dir, { api: apiOf(w), sites: { 'example.com\\evil': 1234567 } });
    },
    line: () => /^sites\["example\.com\\\\evil"\]: not a domain name/,
  },
  {
    title: 'a site name with a query',
    arrange: (w) => {
      writeConfig(w.dir, { api: apiOf(w), sites: { 'www.example.com?': 7654321 } });
    },
    line: () => /^sites\["www\.example\.com\?"\]: not a domain name/,
  },
  {
    title: 'an API key with a control character in the file',
    arrange: (w) => {
      writeConfig(w.dir, {
        api: { ...apiOf(w), key: `${w.apiKey}\u0001` },
        sites: { 'example.com': 1234567 },
      });
    },
    line: () => /^api\.key: the API key must hold only printable ASCII characters/,
  },
  {
    title: 'a non-ASCII API key in the file',
    arrange: (w) => {
      writeConfig(w.dir, { api: { ...apiOf(w), key: `${w.apiKey}é` }, sites: { 'example.com': 1234567 } });
    },
    line: () => /^api\.key: the API key must hold only printable ASCII characters/,
  },
  {
    title: 'an API key with a control character in IMPERVA_API_KEY',
    arrange: (w) => ({ IMPERVA_API_KEY: `${w.apiKey}\u0007` }),
    line: () => /^IMPERVA_API_KEY: the API key must hold only printable ASCII characters/,
  },
  {
    title: 'an API id with a control character',
    arrange: (w) => {
      writeConfig(w.dir, { api: { ...apiOf(w), id: `${API_ID}\u0001` }, sites: { 'example.com': 1234567 } });
    },
    line: () => /^api\.id: the API id must be a number or a string of digits$/,
  },
  {
    title: 'an unquoted API key',
    arrange: (w) =>
      writeFileSync(
        w.configFile,
        `{"api": {"id": "${API_ID}", "key": ${w.apiKey}, "baseUrl": "${w.fake.url}"}, "sites": {}}`,
      ),
    line: () =>
      /^not valid JSON: unexpected character where a value belongs \(a string needs double quotes\) at line 1, column \d+$/,
  },
  {
    title: 'a group-writable config without the key',
    arrange: (w) => {
      writeConfig(
        w.dir,
        { api: { id: API_ID, baseUrl: w.fake.url }, sites: { 'example.com': 1234567 } },
        0o660,
      );
      return { IMPERVA_API_KEY: w.apiKey };
    },
    line: (w) =>
      new RegExp(`^not trusted: ${escape(w.configFile)} is writable by group or others \\(mode 0660\\)`),
  },
  {
    title: 'a config owned by another user',
    root: true,
    arrange: (w) => chownSync(w.configFile, 1000, 1000),
    line: (w) => new RegExp(`^not trusted: ${escape(w.configFile)} is owned by user 1000, not by root$`),
  },
  {
    title: 'a config in a folder others can write',
    arrange: (w) => chmodSync(w.dir, 0o777),
    line: (w) => new RegExp(`^not trusted: ${escape(w.dir)} is writable by group or others \\(mode 0777\\)`),
  },
];

describe('a config that is not strictly right', () => {
  for (const c of cases) {
    for (const command of [['check'], ['deploy'], ['push', '--dry-run', '--lineage', 'LINEAGE']]) {
      it(
        `${c.title}: ${command[0]} exits 2 with one line, sends nothing`,
        { skip: c.root && !isRoot && 'needs root' },
        async () => {
          world = await createWorld();
          const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
          const env = c.arrange(world) ?? {};
          const args = command.map((arg) => (arg === 'LINEAGE' ? lineage : arg));
          const result = await runCli(args, { ...world.env, RENEWED_LINEAGE: lineage, ...env });
          assert.equal(result.code, 2, result.stderr);
          const line = c.line(world);
          assertOneLineError(
            result.stderr,
            new RegExp(`^error: ${escape(world.configFile)}: ${line.source.replace(/^\^/, '')}`),
          );
          assert.equal(result.stdout, '');
          assert.equal(world.fake.requests.length, 0);
          assertNoSecrets({ stderr: result.stderr }, secretsOf(world.apiKey, leaf));
          // No part of the key either (the random part after `key-`, in any 6 characters).
          for (let start = 4; start + 6 <= world.apiKey.length; start += 1) {
            assert.ok(
              !result.stderr.includes(world.apiKey.slice(start, start + 6)),
              'a part of the API key appears',
            );
          }
        },
      );
    }
  }
});
