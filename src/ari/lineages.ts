/**
 * The CA's schedule joined with what is served, per lineage: reads this host's certificates, asks the CA for each
 * one's renewal window (or takes it from the cache while the CA's Retry-After runs), and judges each lineage
 * (src/ari/window.ts). What `status`, `check` and `sync` call. See docs/operations.md ("The CA's schedule").
 */
import { basename, dirname } from 'node:path';
import type { Config } from '../config/load.js';
import type { Log } from '../log/logger.js';
import { findingLine, type Finding } from '../model/finding.js';
import { readLocal } from '../sources/local.js';
import { readRenewalConf, renewalConfPath } from '../sources/renewal-conf.js';
import { pendingGraceMs } from '../certificate/expiry.js';
import { DeliveryRecord, deliveryKey, type Delivery } from '../state/delivery.js';
import type { RunBounds } from '../state/state-file.js';
import { AriCache, type AriRecord } from './cache.js';
import { askWindow, NotAskedError, notAskedReason, refusedUrl, renewalInfoUrl } from './fetch.js';
import { certificateIdentifier } from './identifier.js';
import { judgeLineage, lifetimeWindow, type LineageState, type RenewalWindow } from './window.js';

export interface LineageSchedule {
  lineage: string;
  state: LineageState;
  window: RenewalWindow;
}

export interface ScheduleReport {
  findings: Finding[];
  lineages: LineageSchedule[];
  /** Lineages whose state changed since the last run that looked (a failure hook runs for those not ok). */
  changed: LineageSchedule[];
}

export interface ScheduleOptions {
  config: Config;
  liveDir: string;
  log: Log;
  now: () => Date;
  /**
   * Record each lineage's state as reported (the timer's run): `changed` is then against the last run that did.
   * status and check leave it, so that the timer still reports a change they saw first.
   */
  keepStates?: boolean | undefined;
  /** The run's end and stop (RunContext.endsAt, signal): the CA's answers and the cache's lock wait end by them. */
  run?: RunBounds | undefined;
}

interface Lineage {
  name: string;
  dir: string | undefined;
  pem: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  sites: { siteId: string; keyType: 'RSA' | 'ECC' }[];
}

/** Every lineage's window and findings. Never throws for the CA's sake: what cannot be asked is said in a line. */
export async function lineageSchedule(options: ScheduleOptions): Promise<ScheduleReport> {
  const { config, log, now } = options;
  const lineages = collect(options.liveDir, config);
  if (lineages.length === 0) return { findings: [], lineages: [], changed: [] };
  const cache = new AriCache(config.stateDir, log, now, options.run);
  const cached = await cache.read();
  const delivered = await new DeliveryRecord(config.stateDir, log, now).read();
  const directories = new Map<string, Promise<string | undefined>>();
  const records: AriRecord[] = [];
  const report: ScheduleReport = { findings: [], lineages: [], changed: [] };

  for (const lineage of lineages) {
    const at = now();
    let window = lifetimeWindow(lineage.notBefore, lineage.notAfter, '');
    let version: string | undefined;
    let earlier: { start: Date; end: Date } | undefined;
    const without = (why: string) => (window = lifetimeWindow(lineage.notBefore, lineage.notAfter, why));
    const conf =
      lineage.dir === undefined
        ? undefined
        : readRenewalConf(renewalConfPath(lineage.dir), dirname(dirname(lineage.dir)));
    if (conf !== undefined && 'conf' in conf) version = conf.conf.version;
    const server = conf !== undefined && 'conf' in conf ? conf.conf.server : undefined;
    if (!config.ari) without('`ari` is false in the config');
    else if (conf === undefined) without("only Certbot's renewal configuration names the CA");
    else if (!('conf' in conf)) without(conf.problem);
    else if (server === undefined) without(`${conf.conf.file} names no ACME server`);
    else if (refusedUrl(server) !== undefined) without(refusedUrl(server) as string);
    else {
      const read = await certificateIdentifier(lineage.pem);
      if ('problem' in read) without(read.problem);
      else {
        const record = await ask(
          read.id,
          lineage.name,
          server,
          cached.records.get(read.id),
          directories,
          at,
          options.run ?? {},
        );
        records.push(record);
        if (record.firstStart !== undefined && record.end !== undefined)
          earlier = { start: new Date(record.firstStart), end: new Date(record.end) };
        if (record.start !== undefined && record.end !== undefined) {
          window = {
            start: new Date(record.start),
            end: new Date(record.end),
            from: 'ari',
            explanationUrl: record.explanationUrl,
          };
        } else without(record.problem ?? 'the CA gave no window');
      }
    }
    const behind = edgeBehind(lineage, delivered, at);
    const verdict = judgeLineage({
      name: lineage.name,
      client: lineage.dir === undefined ? 'other' : 'certbot',
      certbotVersion: version,
      notBefore: lineage.notBefore,
      notAfter: lineage.notAfter,
      window,
      earlierWindow: earlier,
      behind,
      now: at,
    });
    report.findings.push(...verdict.findings);
    const schedule = { lineage: lineage.name, state: verdict.state, window };
    report.lineages.push(schedule);
    if (cached.states.get(lineage.name) !== verdict.state) report.changed.push(schedule);
  }
  await cache.change((state) => {
    for (const record of records) state.records.set(record.id, record);
    const held = new Set(records.map((record) => record.id));
    // Only the certificates the lineages hold now are worth keeping.
    for (const id of [...state.records.keys()]) if (!held.has(id)) state.records.delete(id);
    if (options.keepStates === true) {
      // A lineage no longer on this host has no state to remember.
      state.states.clear();
      for (const { lineage, state: word } of report.lineages) state.states.set(lineage, word);
    }
  });
  return report;
}

/**
 * The sites of `lineage` that still hold an older certificate of ours past the verify grace, one clause each —
 * judged from the delivery record alone: what this host last sent each site, and when. The grace (pendingGraceMs,
 * as `verify`'s pending) runs from the first time this host sent the lineage's current certificate anywhere (the
 * run that delivers it may still be on its way to the other sites); when it was sent nowhere yet, from the
 * certificate's own issue date, which is when the ACME client's hook should have sent it.
 */
function edgeBehind(lineage: Lineage, delivered: ReadonlyMap<string, Delivery>, at: Date): string[] {
  const sentAt = [...delivered.values()]
    .filter((delivery) => delivery.fingerprint === lineage.fingerprint)
    .map((delivery) => Date.parse(delivery.at));
  const since = sentAt.length === 0 ? lineage.notBefore.getTime() : Math.min(...sentAt);
  if (at.getTime() - since < pendingGraceMs(lineage.notBefore, lineage.notAfter)) return [];
  return lineage.sites.flatMap(({ siteId, keyType }) => {
    const last = delivered.get(deliveryKey(siteId, keyType));
    // A site this host never sent anything to, or sent this certificate: nothing here says it is behind.
    if (last === undefined || last.fingerprint === lineage.fingerprint) return [];
    if (Date.parse(last.notAfter) >= lineage.notAfter.getTime()) return [];
    return [`site ${siteId} (${keyType}) was last sent the older certificate expiring ${last.notAfter}`];
  });
}

/** The record for `id`: the cached one while its Retry-After runs, else the CA's answer now. */
async function ask(
  id: string,
  lineage: string,
  server: string,
  cached: AriRecord | undefined,
  directories: Map<string, Promise<string | undefined>>,
  at: Date,
  bounds: RunBounds,
): Promise<AriRecord> {
  if (cached !== undefined && Date.parse(cached.nextAt) > at.getTime()) return cached;
  // Past the run's deadline or after its stop nothing is asked: the next run asks at once (no pause recorded).
  const notAsked = notAskedReason(bounds);
  if (notAsked !== undefined) return keep(cached, id, lineage, notAsked, at, 0);
  let directory = directories.get(server);
  if (directory === undefined) {
    directory = renewalInfoUrl(server, bounds);
    directories.set(server, directory);
  }
  let renewalInfo: string | undefined;
  try {
    renewalInfo = await directory;
  } catch (error) {
    const retryMs = error instanceof NotAskedError ? 0 : 3_600_000;
    return keep(cached, id, lineage, (error as Error).message, at, retryMs);
  }
  if (renewalInfo === undefined)
    return keep(
      cached,
      id,
      lineage,
      `the ACME directory ${server} offers no renewalInfo`,
      at,
      24 * 3_600_000,
    );
  const answer = await askWindow(renewalInfo, id, at, bounds);
  if ('problem' in answer) {
    // A CA that does not answer at all is not asked again in this run: each question would wait its whole timeout.
    if (answer.unreachable === true) {
      const gone = Promise.reject(new Error(answer.problem));
      // Awaited by the next lineage of this CA, if any: not an unhandled rejection when there is none.
      gone.catch(() => undefined);
      directories.set(server, gone);
    }
    return keep(cached, id, lineage, answer.problem, at, answer.retryMs);
  }
  const start = answer.window.start.toISOString();
  const firstStart = cached?.firstStart ?? cached?.start ?? start;
  return {
    id,
    lineage,
    start,
    end: answer.window.end.toISOString(),
    firstStart,
    ...(answer.window.explanationUrl === undefined ? {} : { explanationUrl: answer.window.explanationUrl }),
    nextAt: new Date(at.getTime() + answer.retryMs).toISOString(),
  };
}

/** A question that got no window: the CA's last window stands when there is one; the problem is said otherwise. */
function keep(
  cached: AriRecord | undefined,
  id: string,
  lineage: string,
  problem: string,
  at: Date,
  retryMs: number,
): AriRecord {
  const nextAt = new Date(at.getTime() + retryMs).toISOString();
  if (cached?.start !== undefined) return { ...cached, nextAt };
  return { id, lineage, nextAt, problem };
}

/** This host's lineages: Certbot's live folders by name, other clients' certificates by file. */
function collect(liveDir: string, config: Config): Lineage[] {
  const byKey = new Map<string, Lineage>();
  for (const want of readLocal(liveDir, config).all) {
    const key = want.files.lineage ?? want.chain.certFile;
    let lineage = byKey.get(key);
    if (lineage === undefined) {
      const leaf = want.chain.leaf;
      lineage = {
        name: want.files.lineage === undefined ? want.chain.certFile : basename(want.files.lineage),
        dir: want.files.lineage,
        pem: leaf.toString(),
        fingerprint: want.chain.fingerprint,
        notBefore: new Date(leaf.validFrom),
        notAfter: want.chain.notAfter,
        sites: [],
      };
      byKey.set(key, lineage);
    }
    lineage.sites.push({ siteId: want.siteId, keyType: want.chain.keyType });
  }
  return [...byKey.values()];
}

/**
 * For `status` and `check`: every lineage's schedule, one line each (a problem as a warning, with its fix), and the
 * findings for their --json documents. status keeps its standard output for its table: its ok lines are `debug`.
 */
export async function scheduleFindings(
  options: ScheduleOptions,
  okLines: 'info' | 'debug' = 'info',
): Promise<Finding[]> {
  const { findings } = await lineageSchedule(options);
  for (const finding of findings) {
    if (finding.ok) options.log[okLines](`schedule: ${findingLine(finding)}`);
    else options.log.warn(`schedule: ${findingLine(finding)}`);
  }
  return findings;
}
