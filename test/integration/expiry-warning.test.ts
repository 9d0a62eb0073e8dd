/**
 * The warning a deploy prints for a certificate inside its warning window says the time left and the window as
 * people say them: hours under 2 days ("in 20 hours", "(24 hours)" for a 6-day certificate), days otherwise, never
 * "1 days". The certificates are issued relative to the clock, so the run sees them as the test set them; the
 * warning never stops the upload. Through the built CLI against the fake API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let pki: Pki;
const worlds: World[] = [];
before(async () => {
  pki = await createPki();
});
after(() => Promise.all(worlds.map((world) => world.close())));

/**
 * A deploy of a `lifetime` certificate with `left` to run (half a minute more, so that the seconds the run takes to
 * start do not round it down); its stderr, after the upload was accepted.
 */
async function deployWarning(lifetime: number, left: number): Promise<string> {
  // Whole seconds, as X.509 keeps them: the lifetime is exactly what the test says.
  const notAfter = new Date(Math.floor((Date.now() + left + 30_000) / 1000) * 1000);
  const leaf = await issueLeaf(pki, {
    names: ['example.com'],
    notBefore: new Date(notAfter.getTime() - lifetime),
    notAfter,
  });
  const world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
  worlds.push(world);
  const lineage = writeCertbotLineage(`${world.dir}/le`, 'example.com', leaf);
  const run = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(world.fake.acceptedUploads().length, 1, 'the warning does not stop the upload');
  return run.stderr;
}

const warning = (left: string, window: string) =>
  new RegExp(
    `^warning: certificate \\S+ expires \\S+, in ${left}: within the warning window \\(${window}\\); is renewal working\\?$`,
    'm',
  );

describe('the expiry warning of a deploy', () => {
  it('a 6-day certificate with 20 hours left: in 20 hours, within the window (24 hours)', async () => {
    assert.match(await deployWarning(6 * DAY, 20 * HOUR), warning('20 hours', '24 hours'));
  });

  it('a 6-day certificate with 1 hour left: in 1 hour, singular', async () => {
    assert.match(await deployWarning(6 * DAY, HOUR), warning('1 hour', '24 hours'));
  });

  it('a 12-day certificate with 25 hours left: hours left, a 2-day window in days', async () => {
    assert.match(await deployWarning(12 * DAY, 25 * HOUR), warning('25 hours', '2 days'));
  });

  it('a 90-day certificate with 10 days left: days, as before', async () => {
    assert.match(await deployWarning(90 * DAY, 10 * DAY), warning('10 days', '15 days'));
  });

  it('a 6-day certificate with 36 hours left is outside its window: no warning', async () => {
    assert.doesNotMatch(await deployWarning(6 * DAY, 36 * HOUR), /warning window/);
  });
});
