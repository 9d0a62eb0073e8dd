import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readWindow, refusedUrl, retryAfterMs } from '../../src/ari/fetch.js';
import { certbotFollowsAri, judgeLineage, lifetimeWindow, type LineageInput } from '../../src/ari/window.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = new Date('2026-06-01T00:00:00Z');

function input(over: Partial<LineageInput> = {}): LineageInput {
  const notBefore = new Date(NOW.getTime() - 10 * DAY);
  const notAfter = new Date(notBefore.getTime() + 90 * DAY);
  return {
    name: 'shop',
    client: 'certbot',
    certbotVersion: '2.11.0',
    notBefore,
    notAfter,
    window: {
      start: new Date(NOW.getTime() + 50 * DAY),
      end: new Date(NOW.getTime() + 52 * DAY),
      from: 'ari',
    },
    behind: [],
    now: NOW,
    ...over,
  };
}

const problems = (over: Partial<LineageInput>) =>
  judgeLineage(input(over))
    .findings.filter((f) => !f.ok)
    .map((f) => f.kind);

describe('the lineage against its window', () => {
  it('takes 2/3 to 3/4 of the lifetime when the CA gives none', () => {
    const window = lifetimeWindow(new Date(0), new Date(90 * DAY), 'no renewalInfo');
    assert.equal(window.start.getTime(), 60 * DAY);
    assert.equal(window.end.getTime(), 67.5 * DAY);
    assert.equal(window.from, 'lifetime');
  });

  it('is late only 12 h after the window ended', () => {
    const ended = (ago: number) => ({
      window: {
        start: new Date(NOW.getTime() - 2 * DAY),
        end: new Date(NOW.getTime() - ago),
        from: 'ari' as const,
      },
      notBefore: new Date(NOW.getTime() - 70 * DAY),
      notAfter: new Date(NOW.getTime() + 20 * DAY),
    });
    assert.deepEqual(problems(ended(12 * HOUR - 1000)), []);
    assert.deepEqual(problems(ended(12 * HOUR)), ['acme-client-late']);
    assert.equal(judgeLineage(input(ended(13 * HOUR))).state, 'acme-client-late');
  });

  it('an early renewal: a window that ends before 2/3 of the lifetime, or starts earlier than first said', () => {
    const past = {
      start: new Date(NOW.getTime() - 2 * HOUR),
      end: new Date(NOW.getTime() - HOUR),
      from: 'ari' as const,
    };
    assert.deepEqual(problems({ window: past }), ['early-renewal-requested']);
    const moved = {
      start: new Date(NOW.getTime() - HOUR),
      end: new Date(NOW.getTime() + 70 * DAY),
      from: 'ari' as const,
    };
    assert.deepEqual(problems({ window: moved }), []);
    assert.deepEqual(
      problems({
        window: moved,
        earlierWindow: { start: new Date(NOW.getTime() + 50 * DAY), end: moved.end },
      }),
      ['early-renewal-requested'],
    );
    // The lifetime window never asks for an early renewal.
    assert.deepEqual(problems({ window: { ...past, from: 'lifetime' } }), []);
  });

  it('forces the renewal only for a Certbot older than 4.1', () => {
    const past = {
      start: new Date(NOW.getTime() - 2 * HOUR),
      end: new Date(NOW.getTime() - HOUR),
      from: 'ari' as const,
    };
    const fix = (certbotVersion: string | undefined) =>
      judgeLineage(input({ window: past, certbotVersion })).findings.find((f) => !f.ok)?.fix;
    assert.equal(fix('4.0.0'), 'certbot renew --cert-name shop --force-renewal');
    assert.equal(fix(undefined), 'certbot renew --cert-name shop --force-renewal');
    assert.equal(fix('4.1.0'), 'certbot renew --cert-name shop');
    assert.equal(fix('5.0.1'), 'certbot renew --cert-name shop');
    assert.equal(certbotFollowsAri('10.0.0'), true);
    assert.equal(certbotFollowsAri('3.9'), false);
  });

  it('edge-behind names each site', () => {
    const verdict = judgeLineage(input({ behind: ['site 1 (ECC) was last sent the older certificate'] }));
    assert.equal(verdict.state, 'edge-behind');
    assert.equal(verdict.findings.find((f) => !f.ok)?.fix, 'incap-cert sync');
  });
});

describe('asking the CA', () => {
  it('uses https, and plain http only on loopback', () => {
    assert.equal(refusedUrl('https://acme-v02.api.letsencrypt.org/directory'), undefined);
    assert.equal(refusedUrl('http://127.0.0.1:14000/dir'), undefined);
    assert.equal(refusedUrl('http://[::1]:14000/dir'), undefined);
    assert.match(refusedUrl('http://ca.example/dir') ?? '', /only https/);
    assert.match(refusedUrl('http://127.0.0.1.evil.example/dir') ?? '', /only https/);
    assert.match(refusedUrl('file:///etc/passwd') ?? '', /only https/);
    assert.match(refusedUrl('https://user:pw@ca.example/dir') ?? '', /credentials/);
  });

  it('keeps Retry-After between a minute and a day', () => {
    assert.equal(retryAfterMs('3600', NOW), HOUR);
    assert.equal(retryAfterMs('1', NOW), 60_000);
    assert.equal(retryAfterMs('999999', NOW), DAY);
    assert.equal(retryAfterMs(new Date(NOW.getTime() + 2 * HOUR).toUTCString(), NOW), 2 * HOUR);
    assert.equal(retryAfterMs(undefined, NOW), 6 * HOUR);
    assert.equal(retryAfterMs('soon', NOW, 5), 5);
  });

  it('reads a suggestedWindow, refusing what is not one', () => {
    const good =
      '{"suggestedWindow":{"start":"2026-06-01T00:00:00Z","end":"2026-06-02T00:00:00Z"},"explanationURL":"https://ca.example/why"}';
    assert.deepEqual(readWindow(good), {
      start: new Date('2026-06-01T00:00:00Z'),
      end: new Date('2026-06-02T00:00:00Z'),
      explanationUrl: 'https://ca.example/why',
    });
    assert.equal(
      readWindow('{"suggestedWindow":{"start":"2026-06-02T00:00:00Z","end":"2026-06-01T00:00:00Z"}}'),
      undefined,
    );
    assert.equal(readWindow('{"suggestedWindow":{"start":"x","end":"y"}}'), undefined);
    assert.equal(readWindow('{"__proto__":{}, "suggestedWindow":{}}'), undefined);
    assert.equal(readWindow('[]'), undefined);
    const noUrl = readWindow(good.replace('https://ca.example/why', 'javascript:alert(1)'));
    assert.equal(noUrl?.explanationUrl, undefined);
    const escape = readWindow(good.replace('https://ca.example/why', 'https://ca.example/\\u001b[2Jwhy'));
    assert.equal(escape?.explanationUrl, undefined, 'a terminal escape in the URL is not printed');
  });
});
