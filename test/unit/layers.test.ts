import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layers of src/, top to bottom: a file may import from its own layer or any layer below it, never above.
 * bin → main → the catalogue and parser (cli/) → commands/ → engine/, edge/, install/, ari/, canary/ → sources/, imperva/,
 * certificate/, state/, metrics/, notify/, config/, log/, run/, names/ → the model → util/.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['bin.ts'],
  ['main.ts'],
  ['cli/'],
  ['commands/'],
  ['engine/', 'edge/', 'install/', 'ari/', 'canary/'],
  [
    'sources/',
    'imperva/',
    'certificate/',
    'state/',
    'metrics/',
    'notify/',
    'config/',
    'log/',
    'run/',
    'names/',
  ],
  ['model/'],
  ['util/', 'version.ts', 'types/'],
];

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? files(join(dir, entry.name))
      : /\.(ts|cts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

function layerOf(file: string): number {
  const path = relative(SRC, file).split('\\').join('/');
  const index = LAYERS.findIndex((layer) =>
    layer.some((place) => (place.endsWith('/') ? path.startsWith(place) : path === place)),
  );
  if (index < 0) throw new Error(`src/${path} is in no layer: add its folder to LAYERS in this test`);
  return index;
}

/** Every relative module a file names: static imports and re-exports, type-only ones included, and import(). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g))
    found.push(match[1] as string);
  for (const match of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) found.push(match[1] as string);
  return found.map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
}

const all = files(SRC);
const edges = all.flatMap((from) => importsOf(from).map((to) => ({ from, to })));
const name = (file: string) => `src/${relative(SRC, file).split('\\').join('/')}`;

describe('layers of src/', () => {
  it('finds the imports it judges', () => {
    assert.ok(edges.length > 50, `only ${edges.length} imports found: the pattern no longer reads them`);
  });

  it('every file is in a layer', () => {
    for (const file of all) layerOf(file);
  });

  it('no import points up a layer', () => {
    const up = edges
      .filter(({ from, to }) => layerOf(to) < layerOf(from))
      .map(({ from, to }) => `${name(from)} imports ${name(to)}`);
    assert.deepEqual(up, []);
  });

  it('no command imports another command', () => {
    const across = edges
      .filter(
        ({ from, to }) => name(from).startsWith('src/commands/') && name(to).startsWith('src/commands/'),
      )
      .map(({ from, to }) => `${name(from)} imports ${name(to)}`);
    assert.deepEqual(across, []);
  });

  it('no two folders import each other', () => {
    // A folder and its subfolders count as one (cli/commands is part of the catalogue in cli/).
    const folder = (file: string) => name(file).split('/').slice(0, 2).join('/');
    const pairs = new Set(edges.map(({ from, to }) => `${folder(from)} -> ${folder(to)}`));
    const both = [...pairs].filter((pair) => {
      const [a, b] = pair.split(' -> ');
      return a !== b && pairs.has(`${b} -> ${a}`);
    });
    assert.deepEqual(both, []);
  });
});
