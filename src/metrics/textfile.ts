/**
 * Metrics for node_exporter's textfile collector: one Prometheus text-format file (config `metricsFile`), replaced
 * atomically after each command (temp file in the same folder, fsync, rename, fsync of the folder), MERGING what
 * this command learned into what the file already holds from earlier commands. The file holds no secrets (mode
 * 0644, so node_exporter can read it). The temp file's name does not end in `.prom`, so the collector never reads a
 * half-written file; a lock (`FILE.lock`, held for milliseconds) keeps two commands from losing each other's update.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, rm, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type {
  ExpirySample,
  ExpirySource,
  LineageSample,
  RenewalPathSample,
  StaleExpiry,
} from '../model/report.js';
import { ExitCode, IncapCertError } from '../model/errors.js';
import { processGone, processTag, withLock } from '../state/lock.js';
import { apiKeySamples } from '../imperva/api-client-findings.js';

/** What one command run learned. */
export interface MetricsUpdate {
  /** `deploy`, `push`, `sync`, `status`, `verify`, … */
  command: string;
  /** Whether it succeeded; undefined for a run that had nothing to do (the success of the last one that did stands). */
  success?: boolean;
  at: Date;
  /** Set (replace) these samples; others stay as earlier commands left them. */
  expiries?: readonly ExpirySample[];
  /** First forget every earlier expiry sample of these sources (the command saw the whole picture for them). */
  replaceSources?: readonly ExpirySource[];
  /** First forget these expiry samples (a removed certificate: every source; a replaced one: what showed it). */
  forget?: readonly StaleExpiry[];
  /**
   * The site ids the config maps now: every earlier sample labelled with another site goes (it left the map, and
   * no run will ever refresh it). Undefined: the command did not load a config; no site is judged.
   */
  mappedSites?: ReadonlySet<string>;
  /** Entries in the retry queue now. */
  queueEntries?: number;
  /** Every lineage's renewal window and state (src/ari/): they replace all earlier ones. */
  lineages?: readonly LineageSample[];
  /** The API key's expiry; null: the run found none (the earlier sample goes); undefined: it did not look. */
  apiKeyExpiry?: Date | null;
  /** The renewal-path canary's check (src/canary/metrics.ts): it replaces every earlier one. */
  renewalPaths?: RenewalPathSample;
}

export interface Sample {
  name: MetricName;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export const METRICS = {
  incap_cert_last_run_timestamp_seconds: {
    help: 'When each incap-cert command last finished, in seconds since the epoch.',
    labels: ['command'],
  },
  incap_cert_last_run_success: {
    help: 'Whether the last run of each incap-cert command succeeded (1) or failed (0).',
    labels: ['command'],
  },
  incap_cert_certificate_expiry_timestamp_seconds: {
    help: "notAfter of the certificate per site and key type, as seen locally, in Imperva's API or at the edge, in seconds since the epoch.",
    labels: ['site_id', 'key_type', 'source'],
  },
  incap_cert_queue_entries: {
    help: 'Deliveries waiting in the retry queue.',
    labels: [],
  },
  incap_cert_ari_window_end_timestamp_seconds: {
    help: "End of each lineage's renewal window (the CA's ARI window, else 3/4 of the lifetime), in seconds since the epoch.",
    labels: ['lineage'],
  },
  incap_cert_lineage_state: {
    help: "1 for each lineage's renewal state: waiting, in-window, acme-client-late, early-renewal-requested, edge-behind.",
    labels: ['lineage', 'state'],
  },
  incap_cert_api_key_expiry_timestamp_seconds: {
    help: 'When the Imperva API key expires, where the key may read its own record, in seconds since the epoch.',
    labels: [],
  },
  incap_cert_renewal_path_ok: {
    help: 'Whether a challenge file placed for each name came back through Imperva from this host (1) or not (0); absent when the lineage needs no check (DNS-01) or could not be checked (docs/canary.md).',
    labels: ['lineage', 'name'],
  },
  incap_cert_renewal_path_last_check_timestamp_seconds: {
    help: "When each lineage's renewal path through Imperva was last checked, in seconds since the epoch.",
    labels: ['lineage'],
  },
} as const satisfies Record<string, { help: string; labels: readonly string[] }>;

export type MetricName = keyof typeof METRICS;

/** A file bigger than this is not ours: start afresh rather than parse it. */
const MAX_PREVIOUS_BYTES = 1024 * 1024;

/** Writing the metrics file failed (a folder that does not exist, no permission). */
export class MetricsError extends IncapCertError {
  constructor(message: string) {
    super(message, 'METRICS', ExitCode.Usage);
  }
}

/**
 * Merges `update` into the file's samples and replaces the file atomically. The wait for another command's lock ends
 * by `deadlineAt` (the run's deadline) at the latest, and at once when `signal` (the run's stop) aborts.
 */
export async function writeMetrics(
  file: string,
  update: MetricsUpdate,
  options: { deadlineAt?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  try {
    await withLock(
      `${file}.lock`,
      async () => {
        await removeLeftTemps(file);
        const previous = parseMetrics(await readPrevious(file));
        await replaceFile(file, renderMetrics(mergeMetrics(previous, update)));
      },
      { deadlineAt: options.deadlineAt, signal: options.signal },
    );
  } catch (error) {
    if (error instanceof MetricsError) throw error;
    // The lock's own errors (busy, not a lock) say what to do; an errno is named by its code.
    const code = error instanceof IncapCertError ? undefined : (error as NodeJS.ErrnoException).code;
    throw new MetricsError(
      code === undefined
        ? `cannot write metrics file ${file}: ${(error as Error).message}`
        : `cannot write metrics file ${file} (${code})`,
    );
  }
}

/** The samples after one command: pure, so the merge rules can be tested without files. */
export function mergeMetrics(previous: readonly Sample[], update: MetricsUpdate): Sample[] {
  const forgotten = new Set(
    (update.forget ?? []).map((stale) => `${stale.siteId}\0${stale.keyType}\0${stale.source ?? ''}`),
  );
  const replaced = new Set<string>(update.replaceSources ?? []);
  const samples = new Map<string, Sample>();
  const put = (sample: Sample) => samples.set(sampleKey(sample), sample);
  for (const sample of previous) {
    const siteId = sample.labels.site_id;
    if (siteId !== undefined && update.mappedSites !== undefined && !update.mappedSites.has(siteId)) continue;
    if (sample.name === 'incap_cert_certificate_expiry_timestamp_seconds') {
      const { key_type: keyType = '', source = '' } = sample.labels;
      const pair = `${siteId ?? ''}\0${keyType}\0`;
      if (replaced.has(source) || forgotten.has(pair) || forgotten.has(`${pair}${source}`)) continue;
    }
    put(sample);
  }
  const command = { command: update.command };
  put({ name: 'incap_cert_last_run_timestamp_seconds', labels: command, value: update.at.getTime() / 1000 });
  if (update.success !== undefined)
    put({ name: 'incap_cert_last_run_success', labels: command, value: update.success ? 1 : 0 });
  for (const expiry of update.expiries ?? []) {
    put({
      name: 'incap_cert_certificate_expiry_timestamp_seconds',
      labels: { site_id: expiry.siteId, key_type: expiry.keyType, source: expiry.source },
      value: Math.floor(expiry.notAfter.getTime() / 1000),
    });
  }
  if (update.queueEntries !== undefined) {
    put({ name: 'incap_cert_queue_entries', labels: {}, value: update.queueEntries });
  }
  if (update.lineages !== undefined) lineageSamples(samples, update.lineages);
  if (update.apiKeyExpiry !== undefined) {
    samples.delete('incap_cert_api_key_expiry_timestamp_seconds');
    for (const sample of apiKeySamples(update.apiKeyExpiry)) put(sample);
  }
  if (update.renewalPaths !== undefined) renewalPathSamples(samples, update.renewalPaths);
  return [...samples.values()];
}

/** Prometheus text format 0.0.4: HELP and TYPE for each family present, samples in a stable order. */
export function renderMetrics(samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const [name, family] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    const rows = samples
      .filter((sample) => sample.name === name)
      .map((sample) => `${name}${renderLabels(family.labels, sample.labels)} ${formatValue(sample.value)}`)
      .sort();
    if (rows.length === 0) continue;
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} gauge`, ...rows);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Reads back a file we wrote: only our own families, with exactly their labels and a number. Anything else (another
 * tool's lines, a damaged line) is dropped; the file is ours to rewrite.
 */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = parseSample(line);
    if (sample !== undefined) samples.push(sample);
  }
  return samples;
}

function parseSample(line: string): Sample | undefined {
  const nameMatch = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (nameMatch === null) return undefined;
  const name = nameMatch[1] ?? '';
  if (!Object.hasOwn(METRICS, name)) return undefined;
  const family = METRICS[name as MetricName];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  if (rest.startsWith('{')) {
    let index = 1;
    for (;;) {
      while (rest[index] === ' ' || rest[index] === ',') index += 1;
      if (rest[index] === '}') break;
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest.slice(index));
      if (labelMatch === null) return undefined;
      const label = labelMatch[1] ?? '';
      index += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = rest[index];
        if (char === undefined) return undefined;
        index += 1;
        if (char === '"') break;
        if (char === '\\') {
          const next = rest[index];
          index += 1;
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else return undefined;
        } else value += char;
      }
      if (Object.hasOwn(labels, label)) return undefined;
      labels[label] = value;
    }
    rest = rest.slice(index + 1);
  }
  const names = Object.keys(labels).sort();
  const wanted = [...family.labels].sort();
  if (names.length !== wanted.length || names.some((label, i) => label !== wanted[i])) return undefined;
  const valueMatch = /^ +(\S+)(?: +-?\d+)? *$/.exec(rest);
  if (valueMatch === null) return undefined;
  const value = Number(valueMatch[1]);
  if (!Number.isFinite(value)) return undefined;
  return { name: name as MetricName, labels: { ...labels }, value };
}

function renderLabels(order: readonly string[], labels: Readonly<Record<string, string>>): string {
  if (order.length === 0) return '';
  return `{${order.map((label) => `${label}="${escapeLabel(labels[label] ?? '')}"`).join(',')}}`;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function sampleKey(sample: Sample): string {
  const family = METRICS[sample.name];
  return [sample.name, ...family.labels.map((label) => sample.labels[label] ?? '')].join('\0');
}

/**
 * Our previous file, or '' when there is none or it is too big. Opened without following a symlink and without
 * blocking (a FIFO there cannot stall the run); anything but a regular file at the path is refused, not replaced:
 * root does not remove what someone else put there.
 */
async function readPrevious(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    throw new MetricsError(
      code === 'ELOOP'
        ? `metrics file ${file} is a symlink; it is not followed (root writes there)`
        : `cannot read metrics file ${file} (${code ?? 'unknown error'})`,
    );
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MetricsError(`metrics file ${file} is not a regular file`);
    if (info.size > MAX_PREVIOUS_BYTES) return '';
    // Read to one byte past the bound: a file that grows after the stat is not read whole either.
    const buffer = Buffer.alloc(MAX_PREVIOUS_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
    }
    return length > MAX_PREVIOUS_BYTES ? '' : buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

async function replaceFile(file: string, text: string): Promise<void> {
  const folder = dirname(file);
  const temp = join(
    folder,
    `.${basename(file)}.${processTag() ?? process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    try {
      await handle.chmod(0o644); // whatever the umask
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // Make the rename itself durable; some file systems refuse to fsync a folder, which costs nothing here.
  try {
    const dir = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Removes the temp files a killed write left beside the metrics file — only those whose writer is provably gone
 * (lock.ts, processGone): the folder may be shared with a run in a container, whose pids mean nothing here, and a
 * live writer's temp file is about to be renamed. Only regular files are removed, never followed.
 */
async function removeLeftTemps(file: string): Promise<void> {
  const folder = dirname(file);
  const prefix = `.${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^([\d-]+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (match === null) continue;
    const temp = join(folder, name);
    try {
      const info = await lstat(temp);
      if (info.isFile() && processGone(match[1] ?? '', info.mtimeMs)) await rm(temp, { force: true });
    } catch {
      // gone already, or not ours to judge
    }
  }
}

/** The lineages' samples replace every earlier one: a lineage gone, or a state left, leaves no sample behind. */
function lineageSamples(samples: Map<string, Sample>, lineages: readonly LineageSample[]): void {
  for (const [key, sample] of samples)
    if (
      sample.name === 'incap_cert_ari_window_end_timestamp_seconds' ||
      sample.name === 'incap_cert_lineage_state'
    )
      samples.delete(key);
  for (const { lineage, state, windowEnd } of lineages) {
    const window: Sample = {
      name: 'incap_cert_ari_window_end_timestamp_seconds',
      labels: { lineage },
      value: Math.floor(windowEnd.getTime() / 1000),
    };
    samples.set(sampleKey(window), window);
    const word: Sample = { name: 'incap_cert_lineage_state', labels: { lineage, state }, value: 1 };
    samples.set(sampleKey(word), word);
  }
}

/** A check of the renewal paths covers every lineage: its samples replace every earlier one. */
function renewalPathSamples(samples: Map<string, Sample>, check: RenewalPathSample): void {
  for (const [key, sample] of samples)
    if (
      sample.name === 'incap_cert_renewal_path_ok' ||
      sample.name === 'incap_cert_renewal_path_last_check_timestamp_seconds'
    )
      samples.delete(key);
  const put = (sample: Sample) => samples.set(sampleKey(sample), sample);
  for (const lineage of check.lineages) {
    put({
      name: 'incap_cert_renewal_path_last_check_timestamp_seconds',
      labels: { lineage },
      value: Math.floor(check.at.getTime() / 1000),
    });
  }
  for (const { lineage, name, ok } of check.names) {
    put({ name: 'incap_cert_renewal_path_ok', labels: { lineage, name }, value: ok ? 1 : 0 });
  }
}
