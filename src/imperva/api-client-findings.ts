/**
 * The API key watched like a certificate (docs/operations.md, "The API key"): the timer's run, `status` and `check`
 * prove it with one `account/verify`, and, where the key may read its own record, judge its expiry against the next
 * renewal this host is due. A disabled or expired key is then found between renewals, not by the next one.
 */
import { lifetimeMs, DAY_MS } from '../certificate/expiry.js';
import { ApiError } from '../model/errors.js';
import { failed, findingLine, passed, type Finding } from '../model/finding.js';
import type { Config } from '../config/load.js';
import type { Log } from '../log/logger.js';
import type { ImpervaClient } from './client.js';
import { readLocal } from '../sources/local.js';
import { isCredentialsError } from './errors.js';

/** A key that expires within this long is a problem whatever the renewals. */
const SOON_MS = 7 * DAY_MS;

/** What the watch needs of the run (src/run/context.ts RunContext). */
export interface WatchContext {
  config: Config;
  log: Log;
  now: () => Date;
  client: () => Promise<ImpervaClient>;
}

export interface KeyWatch {
  findings: Finding[];
  /**
   * When the key expires, where its record says it (for the metrics file); null when its record was not read or
   * says no date; undefined when the key was not proven.
   */
  expiresAt: Date | null | undefined;
  /** Imperva refused the key: nothing else of the run can reach it (the caller stops). */
  refused: boolean;
}

/**
 * Proves the key (unless `verified`: check already did), reads its record (unless `record` is false: the timer's
 * run reads it after its uploads, which an unanswered read must not delay), and says each problem on stderr with
 * its fix; the verdicts go in the command's findings. A record the key may not read is said once, with -v.
 */
export async function watchApiKey(
  ctx: WatchContext,
  liveDir: string,
  options: { verified?: boolean; record?: boolean } = {},
): Promise<KeyWatch> {
  const { config, log } = ctx;
  const { id, keySource } = config.api;
  const subject = `api key ${id}`;
  const client = await ctx.client();
  const watch: KeyWatch = { findings: [], expiresAt: undefined, refused: false };
  const add = (finding: Finding) => {
    watch.findings.push(finding);
    if (finding.ok) log.debug(`api key: ${findingLine(finding)}`);
    else log.error(`api key: ${findingLine(finding)}`);
  };
  if (options.verified !== true) {
    try {
      await client.verifyAccount();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (isCredentialsError(error)) {
        watch.refused = true;
        // One line, the same words every command uses for refused credentials, with the fix.
        const finding = failed(
          'api-key',
          subject,
          `Imperva refused the API credentials: ${error.message}; the key comes from ${keySource}`,
          error.res === 9418 ? enableFix(keySource) : replaceFix(keySource),
        );
        watch.findings.push(finding);
        log.error(`${finding.message}; fix: ${finding.fix ?? ''}`);
        return watch;
      }
      add(
        failed(
          'api-key',
          subject,
          `cannot prove the API key: ${error.message}`,
          'incap-cert check (it names what is wrong)',
        ),
      );
      return watch;
    }
  }
  if (options.record === false) return watch;
  let record;
  try {
    record = await client.keyRecord();
    watch.expiresAt = record.tracked ? (record.expiresAt ?? null) : null;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // Not read this time (a timeout, the deadline): what the last run exported stays (expiresAt undefined).
    record = { tracked: false as const, why: error.message };
  }
  if (!record.tracked) {
    log.debug(`api key: its expiry is not tracked: ${record.why} (the key may not read its own record)`);
    return watch;
  }
  if (record.enabled === false) {
    add(failed('api-key', subject, `the API key ${id} is disabled at Imperva`, enableFix(keySource)));
    return watch;
  }
  const expires = record.expiresAt;
  if (expires === undefined) {
    add(passed('api-key', subject, `the API key ${id} has no expiry date`));
    return watch;
  }
  const now = ctx.now();
  const when = expires.toISOString();
  if (expires.getTime() <= now.getTime()) {
    add(failed('api-key', subject, `the API key ${id} expired on ${when}`, replaceFix(keySource)));
    return watch;
  }
  const due = nextRenewal(liveDir, ctx, now);
  if (due !== undefined && expires.getTime() < due.at.getTime()) {
    add(
      failed(
        'api-key',
        subject,
        `the API key ${id} expires on ${when}, before the next renewal is due (${due.lineage}, about ${due.at.toISOString()})`,
        extendFix(keySource, when),
      ),
    );
  } else if (expires.getTime() - now.getTime() <= SOON_MS) {
    add(
      failed(
        'api-key',
        subject,
        `the API key ${id} expires on ${when}, within 7 days`,
        extendFix(keySource, when),
      ),
    );
  } else add(passed('api-key', subject, `the API key ${id} expires on ${when}`));
  return watch;
}

/**
 * The metrics file's sample of the key's expiry (src/metrics/textfile.ts): `expiresAt` from the run, null when the
 * run found none (the earlier sample goes), undefined when the run did not look (the earlier one stays).
 */
export function apiKeySamples(
  expiresAt: Date | null | undefined,
): { name: 'incap_cert_api_key_expiry_timestamp_seconds'; labels: Record<string, string>; value: number }[] {
  if (expiresAt === undefined || expiresAt === null) return [];
  return [
    {
      name: 'incap_cert_api_key_expiry_timestamp_seconds',
      labels: {},
      value: Math.floor(expiresAt.getTime() / 1000),
    },
  ];
}

/**
 * When the soonest renewal of this host's certificates is due: two thirds into each certificate's lifetime (where
 * an ACME client following the CA's schedule renews; src/ari/window.ts takes the same share without the CA's
 * window), the soonest still ahead. undefined when none is.
 */
function nextRenewal(
  liveDir: string,
  ctx: { config: Config },
  now: Date,
): { lineage: string; at: Date } | undefined {
  let soonest: { lineage: string; at: Date } | undefined;
  for (const want of readLocal(liveDir, ctx.config).all) {
    const notBefore = new Date(want.chain.leaf.validFrom);
    const at = new Date(notBefore.getTime() + (lifetimeMs(notBefore, want.chain.notAfter) * 2) / 3);
    if (at.getTime() <= now.getTime()) continue;
    if (soonest === undefined || at.getTime() < soonest.at.getTime())
      soonest = { lineage: want.files.lineage ?? want.chain.certFile, at };
  }
  return soonest;
}

function enableFix(keySource: string): string {
  return `enable the key again in Imperva's console (Account > API Keys), or create a new one and put it in ${keySource}`;
}

function replaceFix(keySource: string): string {
  return `create a new API key in Imperva's console (Account > API Keys) and put it in ${keySource} (check api.id too)`;
}

function extendFix(keySource: string, when: string): string {
  return `extend the key's expiry in Imperva's console (Account > API Keys), or put a new key in ${keySource}, before ${when}`;
}
