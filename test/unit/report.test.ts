/** The one function that turns a report or an error into the exit code. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, CertificateError, ConfigError, StateError, UsageError } from '../../src/model/errors.js';
import { emptyReport, type Report, type SiteResult } from '../../src/model/report.js';
import { exitCodeOf } from '../../src/model/exit-code.js';

const site = (action: SiteResult['action']): SiteResult => ({
  siteId: '1',
  keyType: 'ECC',
  names: ['example.com'],
  fingerprint: 'aa',
  notAfter: '2027-01-01T00:00:00.000Z',
  action,
});
const report = (overrides: Partial<Report>): Report => ({ ...emptyReport('sync'), ...overrides });

describe('exitCodeOf', () => {
  const cases: [string, unknown, number][] = [
    ['nothing to do', emptyReport('deploy'), 0],
    ['all uploaded or current', report({ sites: [site('uploaded'), site('current'), site('planned')] }), 0],
    ['a failed site', report({ sites: [site('uploaded'), site('failed')] }), 1],
    ['unhealthy (status)', report({ unhealthy: true }), 1],
    [
      'a certificate problem beats a failed site',
      report({ sites: [site('failed')], problems: [{ message: 'x', exitCode: 3 }] }),
      3,
    ],
    ['stopped by SIGTERM', report({ sites: [site('not-reached')], interrupted: 'SIGTERM' }), 143],
    ['stopped by SIGINT', report({ interrupted: 'SIGINT' }), 130],
    ['stopped by SIGHUP', report({ interrupted: 'SIGHUP' }), 129],
    ['a usage error', new UsageError('x'), 2],
    ['a config error', new ConfigError(['a', 'b']), 2],
    ['a certificate error', new CertificateError('x'), 3],
    ['an API error', new ApiError('x', { transient: false }), 1],
    ['an untrusted state folder', new StateError('x', true), 2],
    ['an unwritable state folder', new StateError('x'), 1],
    ['a bug', new TypeError('x'), 1],
  ];
  for (const [title, outcome, code] of cases) {
    it(`${title} → ${code}`, () => assert.equal(exitCodeOf(outcome), code));
  }
});
