import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newToken, placeToken, removeToken, unsafeReason } from '../../src/canary/token.js';

function webroot(): string {
  const root = join(mkdtempSync(join(tmpdir(), 'canary-')), 'www');
  mkdirSync(root, { mode: 0o755 });
  return root;
}

describe('canary token', () => {
  it('is 43 base64url characters', () => {
    assert.match(newToken(), /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newToken(), newToken());
  });
  it('is placed with its folders and taken away with them', () => {
    const root = webroot();
    const folder = join(root, '.well-known', 'acme-challenge');
    assert.equal(unsafeReason(root, folder, [], 'canaryOwners'), undefined);
    const placed = placeToken(root, folder);
    assert.equal(readFileSync(placed.file, 'utf8'), placed.token);
    assert.equal(statSync(placed.file).mode & 0o777, 0o644);
    assert.equal(placed.created.length, 2);
    removeToken(placed);
    assert.equal(existsSync(join(root, '.well-known')), false);
    assert.equal(existsSync(root), true);
  });
  it('keeps folders it did not create, and never replaces an existing file', () => {
    const root = webroot();
    const folder = join(root, '.well-known', 'acme-challenge');
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    writeFileSync(join(folder, 'x'), 'theirs');
    assert.throws(() => placeToken(root, folder, 'x'), { code: 'EEXIST' });
    assert.equal(readFileSync(join(folder, 'x'), 'utf8'), 'theirs');
    const placed = placeToken(root, folder);
    removeToken(placed);
    assert.equal(existsSync(folder), true);
    assert.equal(existsSync(placed.file), false);
  });
  it('refuses a link inside the web root and a folder others may write', () => {
    const root = webroot();
    const elsewhere = webroot();
    symlinkSync(elsewhere, join(root, '.well-known'));
    const folder = join(root, '.well-known', 'acme-challenge');
    assert.match(unsafeReason(root, folder, [], 'canaryOwners') ?? '', /is a symbolic link/);
    const open = webroot();
    chmodSync(open, 0o777);
    assert.match(
      unsafeReason(open, join(open, '.well-known', 'acme-challenge'), [], 'canaryOwners') ?? '',
      /writable by group or others/,
    );
  });
});
