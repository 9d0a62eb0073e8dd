import { keyTypeText } from '../model/certificate.js';
import { readChain } from '../certificate/chain.js';
import { warnDaysFindings } from '../certificate/expiry.js';
import { lineageFiles } from '../certificate/lineage.js';
import { ImpervaView, type Held } from '../engine/held.js';
import { heldRows, row, type SiteStatusRow } from '../engine/site-state.js';
import { wiringFindings } from '../install/wiring.js';
import { anyFailed, failed, findingLine, passed, type Finding } from '../model/finding.js';
import type { KeyType, CertificateChain } from '../model/certificate.js';
import { describeNames, mappedSites, planTargets, type SiteMap } from '../model/want.js';
import { ApiError, CertificateError, StateError } from '../model/errors.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { clientErrorCode, credentialsMessage, isCredentialsError, isUnknownSite } from '../imperva/errors.js';
import { REFUSAL_FIXES } from '../imperva/envelope.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { listLineages } from '../sources/live.js';
import { clientWants } from '../sources/clients.js';
import { readLocal } from '../sources/local.js';
import { coverageGaps, covers, gapLine, ownNameOf, withPeers } from '../engine/coverage.js';
import { lockProblem, runLocks } from '../state/lock.js';
import { DeliveryRecord, deliveryKey } from '../state/delivery.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { groupByKey } from '../util/by-key.js';
import { mapPool } from '../util/pool.js';
import { scheduleFindings } from '../ari/lineages.js';
import { watchApiKey } from '../imperva/api-client-findings.js';

export interface CheckOptions {
  liveDir: string | undefined;
}

/** What asking Imperva about one mapped site gave. */
interface Asked {
  siteId: string;
  names: string[];
  held?: Held;
  /** Imperva does not know the site id (or the key has no access to it). */
  unknown?: boolean;
  /** The run's deadline (or a stop signal) came before the site was asked. */
  unasked?: boolean;
  problem?: string;
  /** The site's own name at Imperva, where an answer says it: a certificate must cover it too. */
  ownName?: string | undefined;
}

/** A lineage of the live folder, read. */
interface Lineage {
  dir: string;
  name: string;
  chain: CertificateChain;
}

/**
 * Answers "am I done?": the config, the credentials, every mapped site per key type (in status's words), the
 * lineages and what they cover, the locks, the CA's schedule and the host's wiring, one finding a line. Uploads
 * nothing. Any finding that is not ok makes the run unhealthy (exit 1).
 */
export async function check(options: CheckOptions, ctx: RunContext): Promise<Report> {
  const { config, log } = ctx;
  refusePlaceholders(config);
  const findings: Finding[] = [];
  /** Records a finding and prints it as one line: its own, or the line other commands print for the same cause. */
  const say = (finding: Finding, line = findingLine(finding), level: 'warn' | 'error' = 'warn'): void => {
    findings.push(finding);
    if (finding.ok) log.info(line);
    else log[level](line);
  };
  const done = (): Report => ({
    ...emptyReport(ctx.command),
    unhealthy: anyFailed(findings),
    data: { findings },
  });
  say(
    passed(
      'config',
      config.file,
      `config ${config.file} is valid: ${config.sites.size} names, API ${config.api.baseUrl}`,
    ),
  );

  const client = await ctx.client();
  try {
    const account = await client.verifyAccount();
    say(
      passed(
        'credentials',
        account.accountName,
        `credentials: account ${account.accountName} (${account.accountId}), plan ${account.planName}; key from ${config.api.keySource}`,
      ),
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // One line, the error alone: nothing else can be asked without credentials.
    const refused = isCredentialsError(error);
    const refusal = failed(
      'credentials',
      config.api.keySource,
      refused
        ? credentialsMessage(error, config.api.keySource)
        : `cannot prove the credentials: ${error.message}`,
      refused
        ? `set api.id and api.key in ${config.file} (or IMPERVA_API_ID and IMPERVA_API_KEY) to an API key of the account`
        : `make ${config.api.baseUrl} reachable from this host (or set HTTPS_PROXY), then run incap-cert check again`,
    );
    say(refusal, refusal.message, 'error');
    return done();
  }

  const asked = await askSites(ctx);
  const liveDir = options.liveDir ?? config.liveDir;
  const lineages = readLineages(liveDir, ctx, say);
  const read = readLocal(liveDir, config);
  const wants = withPeers(read.wants, read.all, config.sites);
  const { refused } = clientWants(config.sources ?? [], config.sites);
  for (const line of refused)
    say(failed('sources', config.file, `sources: ${line}`, `sudoedit ${config.file}`));
  const entries = await queueEntries(ctx, say);
  const delivered = await new DeliveryRecord(config.stateDir, log, ctx.now).read();
  const wantsOf = groupByKey(wants, (want) => want.siteId);
  const entriesOf = groupByKey(entries, (entry) => entry.siteId);
  // With no lineage at all, one line says so instead of one per site (one cause, one line).
  const noLineages = (config.sources ?? []).length === 0 && lineages.length === 0 && asked.length > 0;
  if (noLineages) {
    // The words sync and status use for it.
    const empty = failed(
      'live-folder',
      liveDir,
      `no certificate lineages in ${liveDir}, but ${count(asked.length, 'site')} ${asked.length === 1 ? 'is' : 'are'} mapped: is liveDir right (or are sources missing from the config)?`,
      `certbot certonly --cert-name NAME -d NAME, or set liveDir in ${config.file}`,
    );
    say(empty, empty.message);
  }
  const unasked = asked.filter((site) => site.unasked === true);
  for (const site of asked) {
    if (site.unasked === true) continue;
    const label = `site ${site.siteId} (${site.names.join(', ')})`;
    if (site.unknown === true) {
      say(
        failed(
          'unknown-site',
          site.siteId,
          `${label}: unknown site id: Imperva does not know it, or the API key has no access to it (res 9413)`,
          `correct the site id of ${site.names.map((name) => JSON.stringify(name)).join(', ')} in the sites map of ${config.file}`,
        ),
      );
      continue;
    }
    const local = wantsOf.get(site.siteId) ?? [];
    const queued = entriesOf.get(site.siteId) ?? [];
    const rows =
      local.length === 0
        ? heldRows(site.siteId, site.names, site.held, site.problem, queued, ctx)
        : local.map((want) =>
            row(
              site.siteId,
              site.names,
              want,
              site.held,
              site.problem,
              queued,
              delivered.get(deliveryKey(site.siteId, want.chain.keyType)),
              ctx,
            ),
          );
    if (local.length === 0) {
      const finding = uncoveredFinding(site, rows, lineages, config.sites, config.file);
      if (noLineages) log.debug(finding.message);
      else say(finding);
      continue;
    }
    for (const one of rows) say(rowFinding(one, label));
  }
  if (unasked.length > 0) {
    say(
      failed(
        'unasked',
        `${unasked.length} sites`,
        `${count(unasked.length, 'mapped site')} not asked before the run's deadline (${unasked
          .slice(0, 3)
          .map((site) => site.siteId)
          .join(', ')}${unasked.length > 3 ? ', …' : ''})`,
        `run incap-cert check again later, or raise deadlineSeconds in ${config.file}`,
      ),
    );
  }
  // One site, one certificate per key type, covering every name: one finding per site and key type where none does.
  const ownNames = new Map(asked.map((site) => [site.siteId, site.ownName]));
  for (const gap of coverageGaps(read.all, config.sites, ownNames)) {
    // The line deploy, sync and status print for it: the fix is in it already.
    const line = gapLine(gap);
    const [message, fix] = line.split('; fix: ');
    say(failed('coverage', gap.siteId, message ?? line, fix ?? ''), line, 'error');
  }
  // A lock no run releases diverts every change to queue.d: one finding each, with the command that clears it.
  for (const file of runLocks(config.stateDir, ctx.metricsFile)) {
    const problem = await lockProblem(file);
    // The line status prints for it, which ends with the command that clears it.
    if (problem !== undefined)
      say(
        failed('lock', file, problem, /clear it with: (.+)$/.exec(problem)?.[1] ?? `rm -- ${file}`),
        problem,
      );
  }
  for (const finding of warnDaysFindings(
    config.warnDays,
    lineages.map((one) => ({
      notBefore: new Date(one.chain.leaf.validFrom),
      notAfter: one.chain.notAfter,
      lineage: one.name,
    })),
  ))
    say(finding);
  // The CA's schedule prints its own lines (src/ari/lineages.ts).
  findings.push(...(await scheduleFindings({ config, liveDir, log, now: ctx.now, run: ctx })));
  // The key's own expiry (account/verify proved it above); it prints its own lines (src/imperva/api-client-findings.ts).
  findings.push(...(await watchApiKey(ctx, liveDir, { verified: true })).findings);
  // Whether this host is wired up: Certbot's hook, the timer, the notifier, Certbot's renewal configurations.
  const heldTypes = new Map<string, KeyType[]>();
  for (const site of asked)
    if (site.held?.source === 'v3')
      heldTypes.set(
        site.siteId,
        site.held.certificates.map((entry) => entry.keyType),
      );
  for (const finding of await wiringFindings(
    { ...config, liveDir },
    { held: heldTypes, signal: ctx.signal },
  )) {
    // A live folder that is not there is said once, above.
    if (noLineages && finding.kind === 'certbot' && !finding.ok) continue;
    say(finding);
  }
  return done();
}

/**
 * Every mapped site, asked of Imperva at the client's pace: one v3 listing for the account, and v1 for a site it
 * lists nothing for (v3 is silent about a site the account does not have; v1 answers 9413). A site the run's
 * deadline leaves unasked is marked so, not failed one by one.
 */
async function askSites(ctx: RunContext): Promise<Asked[]> {
  const client = await ctx.client();
  const view = new ImpervaView(client, ctx.log);
  return mapPool([...mappedSites(ctx.config.sites)], ctx.config.concurrency, async ([siteId, names]) => {
    const site: Asked = { siteId, names };
    try {
      site.held = await view.held(siteId);
      site.ownName = ownNameOf(site.held);
      if (site.held.source === 'v3' && site.held.certificates.length === 0)
        site.ownName = (await client.status(siteId)).domain;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const code = clientErrorCode(error);
      if (isUnknownSite(error)) site.unknown = true;
      else if (code === 'DEADLINE' || code === 'INTERRUPTED') site.unasked = true;
      else site.problem = error.message;
    }
    return site;
  });
}

/** The live folder's lineages, each said as a plan finding: the sites it goes to, or that it is expired. */
function readLineages(liveDir: string, ctx: RunContext, say: (finding: Finding) => void): Lineage[] {
  const { config } = ctx;
  const found: Lineage[] = [];
  const { lineages, note } = listLineages(liveDir);
  if (note !== undefined) ctx.log.info(note);
  for (const dir of lineages) {
    const name = dir.split('/').pop() ?? dir;
    try {
      const chain = readChain(lineageFiles(dir));
      found.push({ dir, name, chain });
      const targets = planTargets(chain.names, config.sites);
      if (chain.notAfter.getTime() <= ctx.now().getTime()) {
        say(
          failed(
            'lineage',
            dir,
            `${dir} (${describeNames(chain.names)}) expired ${chain.notAfter.toISOString()}`,
            `certbot renew --cert-name ${name}`,
          ),
        );
      }
      say(
        passed(
          'plan',
          dir,
          targets.length === 0
            ? `plan: ${dir} (${describeNames(chain.names)}) → no site`
            : `plan: ${dir} (${describeNames(chain.names)}, expires ${chain.notAfter.toISOString()}) → ` +
                targets.map((target) => `site ${target.siteId}`).join(', '),
        ),
      );
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      say(failed('lineage', dir, `plan: ${dir}: ${error.message}`, `certbot renew --cert-name ${name}`));
    }
  }
  return found;
}

/**
 * The queue's entries. A state folder that cannot be trusted is the wiring's `state-folder` finding, with its fix;
 * a queue that cannot be read is a finding here.
 */
async function queueEntries(ctx: RunContext, say: (finding: Finding) => void): Promise<QueueEntry[]> {
  try {
    return await new Queue(ctx.config.stateDir, ctx.log, ctx.now).entries();
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    if (!error.untrusted) say(failed('queue', ctx.config.stateDir, error.message, 'incap-cert queue list'));
    return [];
  }
}

/** One row of status's judgement as a finding, in status's words. */
function rowFinding(one: SiteStatusRow, label: string): Finding {
  const subject = one.siteId;
  const type = one.keyType === null ? '' : ` ${keyTypeText(one.keyType)}`;
  const where = `${label}${type}`;
  const until =
    one.imperva.expirationDate === null ? '' : ` until ${one.imperva.expirationDate} (${one.daysLeft} days)`;
  const lineage = one.local?.lineage;
  const push = lineage === undefined ? 'incap-cert sync' : `incap-cert push --lineage ${lineage}`;
  if (one.queued !== null) {
    return failed(
      'queued',
      subject,
      `${where}: queued: ${one.queued.lastError === '' ? `pending (${one.queued.state})` : one.queued.lastError}`,
      'incap-cert sync',
    );
  }
  switch (one.state) {
    case 'current':
      return passed('site', subject, `${where}: current, Imperva holds this host's certificate${until}`);
    case 'outdated':
      return failed(
        'outdated',
        subject,
        `${where}: outdated: Imperva holds another certificate${until}; sync would upload ${lineage ?? "this host's"}`,
        push,
      );
    case 'missing':
      return failed(
        'missing',
        subject,
        `${where}: missing: Imperva holds no${type} certificate for it`,
        push,
      );
    case 'expiring':
      return failed(
        'expiring',
        subject,
        `${where}: expiring: what Imperva holds expires${until}`,
        lineage === undefined
          ? 'renew the certificate'
          : `certbot renew --cert-name ${lineage.split('/').pop() ?? lineage}`,
      );
    case 'flagged':
      return failed(
        'flagged',
        subject,
        `${where}: flagged: ${one.imperva.flagged ?? 'Imperva flags what it holds'}`,
        push,
      );
    case 'error':
      return failed(
        'site',
        subject,
        `${where}: ${one.imperva.error ?? 'Imperva could not be asked'}`,
        readFix(one.imperva.error),
      );
    case 'no-local-certificate':
      return passed('site', subject, `${where}: no-local-certificate`);
  }
}

/**
 * The fix for a site Imperva would not answer for: a refusal the operator must mend names its own (4205: turn on
 * SSL for the site…); anything else passes with time (Imperva busy or down), so the fix is to ask again later.
 */
function readFix(error: string | null): string {
  const res = /\bres (\d+)\b/.exec(error ?? '')?.[1];
  const fix = res === undefined ? undefined : REFUSAL_FIXES[Number(res)];
  if (fix !== undefined) return fix.slice(fix.indexOf(': ') + 2);
  return 'run incap-cert check again once Imperva answers (-v shows each attempt)';
}

/**
 * A mapped site no certificate of this host goes to. When a lineage covers one of its names in TLS terms (a
 * wildcard) but the map sends none of the lineage's names to the site, the map line to add says so; otherwise
 * nothing keeps the site current.
 */
function uncoveredFinding(
  site: Asked,
  rows: readonly SiteStatusRow[],
  lineages: readonly Lineage[],
  sites: SiteMap,
  file: string,
): Finding {
  const label = `site ${site.siteId} (${site.names.join(', ')})`;
  const error = rows.find((one) => one.state === 'error');
  if (error !== undefined) return rowFinding(error, label);
  const queued = rows.find((one) => one.queued !== null);
  if (queued !== undefined) return rowFinding(queued, label);
  for (const lineage of lineages) {
    for (const name of site.names) {
      const cert = lineage.chain.names.find((certName) => covers(certName, name));
      if (cert === undefined) continue;
      // The one map line that sends the lineage to the site: a new key, or the site added to the key's list.
      const listed = sites.get(cert);
      return failed(
        'coverage',
        site.siteId,
        `${label}: no-local-certificate: ${lineage.dir} (${describeNames(lineage.chain.names)}) covers ${name} in TLS terms, but the sites map sends none of its names to site ${site.siteId}`,
        listed === undefined
          ? `add ${JSON.stringify(cert)}: ${site.siteId} to sites in ${file}`
          : `make sites[${JSON.stringify(cert)}] ${JSON.stringify([...listed, site.siteId].map(Number))} in ${file}`,
      );
    }
  }
  const holds = rows
    .filter((one) => one.keyType !== null)
    .map(
      (one) =>
        `${keyTypeText(one.keyType as KeyType)}${one.imperva.expirationDate === null ? '' : ` until ${one.imperva.expirationDate}`}`,
    );
  return failed(
    'no-local-certificate',
    site.siteId,
    `${label}: no certificate on this host covers it; nothing keeps it current; Imperva holds ${holds.length === 0 ? 'no custom certificate' : holds.join(', ')}`,
    `certbot certonly --cert-name ${site.names[0] ?? 'NAME'} ${site.names.map((name) => `-d ${name}`).join(' ')}`,
  );
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
