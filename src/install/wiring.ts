/**
 * Whether this host is wired up: the answers `check` gives to "am I done?" once incap-cert is installed. Certbot's
 * deploy drop-in (or each lineage's saved `renew_hook`) reaches this very version of incap-cert, once per renewal;
 * something runs the timer's `sync`; the onFailure program can run; Certbot will renew each mapped lineage in a way
 * that passes behind Imperva, with the key type its sites hold; the state folder is root's alone. Each problem is a
 * finding with the command that fixes it.
 *
 * The system probes (systemd's runtime folder, the cron file, /proc, the PATH that finds `systemctl`) are options, so
 * that tests can stand in for them; nothing here writes anything.
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
} from 'node:fs';
import { lstatSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readChain } from '../certificate/chain.js';
import { lineageFiles } from '../certificate/lineage.js';
import type { Config } from '../config/load.js';
import type { KeyType } from '../model/certificate.js';
import { CertificateError } from '../model/errors.js';
import { failed, passed, type Finding } from '../model/finding.js';
import { planTargets } from '../model/want.js';
import { findProgram } from '../notify/on-failure.js';
import { listLineages } from '../sources/live.js';
import { readRenewalConf, renewalConfPath, type RenewalConf } from '../sources/renewal-conf.js';
import { untrustedFolderReason, untrustedReason } from '../util/trust.js';
import { VERSION } from '../util/version.js';
import { onAbort } from '../util/abort.js';
import { layoutFor } from './install.js';
import { DEFAULT_PREFIX, shellQuote } from './render.js';

export type WiringConfig = Pick<Config, 'file' | 'liveDir' | 'sites' | 'sources' | 'onFailure' | 'stateDir'>;

export interface WiringOptions {
  /** The key types Imperva holds, per site id, as `check` found them; a site left out is not judged. */
  held?: ReadonlyMap<string, readonly KeyType[]>;
  /** The folder that exists where systemd is PID 1. */
  systemdDir?: string;
  /** The cron file `incap-cert install --cron` writes. */
  cronFile?: string;
  /** Where running processes are listed, to find a cron daemon. */
  procDir?: string;
  /** The PATH that finds `systemctl` (default: this process's). */
  path?: string | undefined;
  /** The PATH Certbot's hooks, the timer's run and onFailure have (default: systemd's and Debian cron's). */
  hookPath?: string;
  /** The version the programs found must print (default: this one's). */
  version?: string;
  /** Each program asked (`--version`, `systemctl`) is killed after this long (default 10 s). */
  timeoutMs?: number;
  /** The run is being stopped: a program being asked is killed at once, and no other is started. */
  signal?: AbortSignal | undefined;
}

/** The PATH that systemd gives services (Certbot's timer, ours) and that Debian's cron files set. */
export const HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const TIMER_UNIT = 'incap-cert-sync.timer';
const DEFAULT_DROPIN = layoutFor(DEFAULT_PREFIX).dropin;
/** Far more than a hook script: a bigger text is not read as one. */
const MAX_SCRIPT_BYTES = 64 * 1024;

/** A lineage of Certbot's live folder whose names map to sites. */
interface MappedLineage {
  name: string;
  names: string[];
  siteIds: string[];
}

/** Every wiring finding, in the order an operator fixes them: Certbot, its hooks, its renewals, the timer, the rest. */
export async function wiringFindings(config: WiringConfig, options: WiringOptions = {}): Promise<Finding[]> {
  const probe = new Probe(options);
  const findings: Finding[] = [];
  findings.push(...(await certbotFindings(config, probe, options.held ?? new Map())));
  findings.push(await schedulerFinding(probe, options));
  findings.push(onFailureFinding(config, probe));
  findings.push(stateFolderFinding(config.stateDir));
  return findings;
}

async function certbotFindings(
  config: WiringConfig,
  probe: Probe,
  held: ReadonlyMap<string, readonly KeyType[]>,
): Promise<Finding[]> {
  const liveDir = resolve(config.liveDir);
  const certbotDir = dirname(liveDir);
  if (!isFolder(liveDir)) {
    // Another ACME client may be all this host uses: Certbot's wiring is then nobody's business.
    if (config.sources.length > 0) return [];
    return [
      failed(
        'certbot',
        liveDir,
        `Certbot's live folder ${liveDir} does not exist, and no other ACME client is configured (sources)`,
        `certbot certonly --cert-name NAME -d NAME (or set liveDir in ${config.file})`,
      ),
    ];
  }
  const lineages = mappedLineages(liveDir, config);
  const findings: Finding[] = [
    passed(
      'certbot',
      certbotDir,
      `Certbot's folder is ${certbotDir}; ${count(lineages.length, 'lineage')} of ${liveDir} map to sites`,
    ),
  ];
  const confs = new Map<string, RenewalConf>();
  const confFindings: Finding[] = [];
  for (const lineage of lineages) {
    const file = renewalConfPath(join(liveDir, lineage.name));
    const read = readRenewalConf(file, certbotDir);
    if ('problem' in read) {
      confFindings.push(
        failed(
          'renewal-conf',
          file,
          read.missing
            ? `lineage ${lineage.name} has no ${file}: certbot renew skips it, and it will expire`
            : read.problem,
          read.missing
            ? `certbot certonly --cert-name ${word(lineage.name)} ${lineage.names.map((name) => `-d ${word(name)}`).join(' ')}`
            : (trustFix(read.problem) ?? `sudoedit ${word(file)}`),
        ),
      );
      continue;
    }
    confs.set(lineage.name, read.conf);
    confFindings.push(...renewalFindings(lineage, read.conf, held));
  }
  findings.push(
    ...(await hookFindings(
      join(certbotDir, 'renewal-hooks', 'deploy', 'incap-cert'),
      lineages,
      confs,
      probe,
    )),
  );
  findings.push(...confFindings);
  return findings;
}

/** Every lineage of the live folder that maps to a site; one that cannot be read is left to check's plan lines. */
function mappedLineages(liveDir: string, config: WiringConfig): MappedLineage[] {
  const found: MappedLineage[] = [];
  for (const dir of listLineages(liveDir).lineages) {
    try {
      const chain = readChain(lineageFiles(dir));
      const targets = planTargets(chain.names, config.sites);
      if (targets.length > 0) {
        found.push({
          name: basename(dir),
          names: chain.names,
          siteIds: targets.map((target) => target.siteId),
        });
      }
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
    }
  }
  return found;
}

/**
 * Certbot runs every executable in `renewal-hooks/deploy/` for every renewed lineage, and also the `renew_hook`
 * saved in the lineage's renewal configuration: incap-cert must be reached by exactly one of them for each mapped
 * lineage, or a renewal uploads nothing, or uploads twice.
 */
async function hookFindings(
  dropin: string,
  lineages: readonly MappedLineage[],
  confs: ReadonlyMap<string, RenewalConf>,
  probe: Probe,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const dropinVerdict = await probe.dropin(dropin);
  const hooked = lineages.filter((lineage) => namesIncapCert(confs.get(lineage.name)?.renewHook));
  const unhooked = lineages.filter((lineage) => !hooked.includes(lineage));
  const install = installFix(dropin);
  if (dropinVerdict === 'missing') {
    if (lineages.length > 0 && unhooked.length === 0) {
      findings.push(
        passed(
          'deploy-hook',
          dropin,
          `${dropin} is not there; every mapped lineage names incap-cert as renew_hook`,
        ),
      );
    } else {
      const some = unhooked.length < lineages.length;
      findings.push(
        failed(
          'deploy-hook',
          dropin,
          `${dropin} is missing${some ? `, and ${count(unhooked.length, 'mapped lineage')} (${unhooked.map((l) => l.name).join(', ')}) name no incap-cert renew_hook` : ''}: Certbot renews without uploading`,
          install,
        ),
      );
    }
  } else if (dropinVerdict.ok) {
    findings.push(passed('deploy-hook', dropin, `${dropin} runs ${dropinVerdict.message}`));
  } else {
    findings.push(failed('deploy-hook', dropin, dropinVerdict.message, dropinVerdict.fix ?? install));
  }
  const dropinRuns = dropinVerdict !== 'missing' && dropinVerdict.runs;
  for (const lineage of hooked) {
    const conf = confs.get(lineage.name) as RenewalConf;
    const hook = conf.renewHook as string;
    if (timesNamed(hook) > 1) {
      findings.push(
        failed(
          'renew-hook',
          conf.file,
          `${conf.file} names incap-cert more than once as renew_hook (${hook}): every renewal of ${lineage.name} uploads twice`,
          `sudoedit ${word(conf.file)}`,
        ),
      );
      continue;
    }
    if (dropinRuns) {
      findings.push(
        failed(
          'renew-hook',
          conf.file,
          `${conf.file} names incap-cert as renew_hook (${hook}) and ${dropin} runs it too: every renewal of ${lineage.name} uploads twice`,
          `sed -i '/^renew_hook *=/d' ${word(conf.file)}`,
        ),
      );
      continue;
    }
    const verdict = await probe.reach(programOf(hook), `renew_hook of ${conf.file}`);
    findings.push(
      verdict.ok
        ? passed('renew-hook', conf.file, `renew_hook of ${conf.file} runs ${verdict.message}`)
        : failed('renew-hook', conf.file, verdict.message, verdict.fix ?? install),
    );
  }
  return findings;
}

/** What Certbot's saved configuration says about the next renewal: will it pass behind Imperva, with which key. */
function renewalFindings(
  lineage: MappedLineage,
  conf: RenewalConf,
  held: ReadonlyMap<string, readonly KeyType[]>,
): Finding[] {
  const findings: Finding[] = [];
  const name = word(lineage.name);
  if (conf.prefChalls.length > 0 && conf.prefChalls.every((challenge) => challenge === 'tls-alpn-01')) {
    findings.push(
      failed(
        'challenge',
        conf.file,
        `${conf.file} allows only tls-alpn-01 (pref_challs): Imperva answers TLS for the site, so the CA's check never reaches this host and the renewal of ${lineage.name} fails`,
        `certbot reconfigure --cert-name ${name} --preferred-challenges http-01`,
      ),
    );
  }
  if (conf.authenticator === 'standalone' && conf.http01Port !== undefined && conf.http01Port !== 80) {
    findings.push(
      failed(
        'challenge',
        conf.file,
        `${conf.file} has Certbot listen on port ${conf.http01Port} (http01_port), but the CA asks port 80 through Imperva: the renewal of ${lineage.name} fails`,
        `certbot reconfigure --cert-name ${name} --http-01-port 80`,
      ),
    );
  }
  const renews = renewedKeyType(conf);
  const other = lineage.siteIds.filter((siteId) => {
    const types = held.get(siteId);
    return renews !== undefined && types !== undefined && types.length > 0 && !types.includes(renews);
  });
  if (renews !== undefined && other.length > 0) {
    const holds = renews === 'ECC' ? 'RSA' : 'ECDSA';
    findings.push(
      failed(
        'key-type',
        conf.file,
        `Certbot renews ${lineage.name} with ${renews === 'ECC' ? 'an ECDSA' : 'an RSA'} key (key_type in ${conf.file}), but ${other.length === 1 ? 'site' : 'sites'} ${other.join(', ')} ${other.length === 1 ? 'holds' : 'hold'} only ${holds}: the ${holds} certificate there will not be renewed`,
        `certbot reconfigure --cert-name ${name} --key-type ${holds === 'RSA' ? 'rsa' : 'ecdsa'}`,
      ),
    );
  }
  if (findings.length === 0) {
    const how = [
      conf.authenticator ?? 'the default authenticator',
      ...(conf.prefChalls.length > 0 ? [`challenges ${conf.prefChalls.join(', ')}`] : []),
      ...(renews === undefined ? [] : [`${renews === 'ECC' ? 'ECDSA' : 'RSA'} key`]),
    ];
    findings.push(passed('renewal-conf', conf.file, `Certbot renews ${lineage.name} with ${how.join(', ')}`));
  }
  return findings;
}

/** The key type of the next renewal: `key_type`, else Certbot's default when the file was written (RSA before 2.0). */
function renewedKeyType(conf: RenewalConf): KeyType | undefined {
  if (conf.keyType === 'rsa') return 'RSA';
  if (conf.keyType === 'ecdsa') return 'ECC';
  if (conf.keyType !== undefined || conf.version === undefined) return undefined;
  const major = Number(/^(\d+)\./.exec(conf.version)?.[1]);
  return Number.isNaN(major) ? undefined : major < 2 ? 'RSA' : 'ECC';
}

async function schedulerFinding(probe: Probe, options: WiringOptions): Promise<Finding> {
  const cronFile = options.cronFile ?? layoutFor(DEFAULT_PREFIX).cron;
  const systemd = isFolder(options.systemdDir ?? '/run/systemd/system');
  // A stand-in systemctl answers for a test; where systemd is not PID 1, a real one answers neither "active" nor
  // runs anything, so its answer is asked only to tell what it says.
  const enabled = await probe.systemctl('is-enabled');
  const active = enabled === undefined ? undefined : await probe.systemctl('is-active');
  if (enabled?.state.startsWith('enabled') === true && active?.state === 'active') {
    return passed('scheduler', TIMER_UNIT, `${TIMER_UNIT} is enabled and active: systemd runs sync`);
  }
  const cron = cronVerdict(cronFile, options.procDir ?? '/proc');
  if (cron.ok) return passed('scheduler', cronFile, cron.message);
  const nothing = 'nothing runs sync on this machine';
  if (systemd) {
    const unknown = enabled === undefined || enabled.state === '' || enabled.state === 'not-found';
    const state = unknown
      ? `is not installed${enabled === undefined ? ' (no systemctl on PATH)' : ''}`
      : `is ${enabled.state}${active === undefined || active.state === '' ? '' : ` and ${active.state}`}`;
    return failed(
      'scheduler',
      TIMER_UNIT,
      `${TIMER_UNIT} ${state}${cron.present ? `, and ${cron.message}` : ''}: ${nothing}`,
      unknown ? 'incap-cert install --systemd' : `systemctl enable --now ${TIMER_UNIT}`,
    );
  }
  if (!cron.present) {
    return failed(
      'scheduler',
      cronFile,
      `${nothing}: systemd is not running it, and there is no ${cronFile}`,
      'incap-cert install --cron',
    );
  }
  return failed(
    'scheduler',
    cronFile,
    `${cron.message}: ${nothing}`,
    cron.fix ?? 'incap-cert install --cron',
  );
}

/** The cron file and the cron daemon that reads it. */
function cronVerdict(
  file: string,
  procDir: string,
): { ok: boolean; present: boolean; message: string; fix?: string } {
  let text: string;
  try {
    const info = lstatSync(file);
    if (!info.isFile())
      return {
        ok: false,
        present: true,
        message: `${file} is not a regular file, and cron skips it`,
        fix: 'incap-cert install --cron',
      };
    // cron reads only files that root owns and nobody else can write.
    const unsafe = untrustedReason(file);
    if (unsafe !== undefined) {
      return {
        ok: false,
        present: true,
        message: `cron ignores ${file}: ${stripRun(unsafe)}`,
        fix: trustFix(unsafe) ?? `chown root:root ${word(file)}`,
      };
    }
    text = readFileSync(file, 'utf8').slice(0, MAX_SCRIPT_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, present: false, message: `there is no ${file}` };
    return { ok: false, present: true, message: `${file} cannot be read (${code ?? 'unknown error'})` };
  }
  const runs = text
    .split('\n')
    .some((line) => !/^\s*#/.test(line) && /incap-cert\S*\s+sync(\s|$)/.test(line));
  if (!runs)
    return {
      ok: false,
      present: true,
      message: `${file} has no line that runs incap-cert sync`,
      fix: 'incap-cert install --cron',
    };
  const daemon = cronDaemon(procDir);
  if (daemon === undefined) {
    return {
      ok: false,
      present: true,
      message: `${file} is there but no cron daemon runs`,
      fix: 'apt-get install cron && service cron start',
    };
  }
  return {
    ok: true,
    present: true,
    message: `${file} runs sync, and a cron daemon (${daemon.name}, pid ${daemon.pid}) is running`,
  };
}

/** A running cron daemon, found by the name of its program in the process list. */
function cronDaemon(procDir: string): { name: string; pid: string } | undefined {
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const name = readFileSync(join(procDir, pid, 'comm'), 'utf8').trim();
      if (name === 'cron' || name === 'crond' || name === 'fcron') return { name, pid };
    } catch {
      // gone while listed
    }
  }
  return undefined;
}

function onFailureFinding(config: WiringConfig, probe: Probe): Finding {
  const command = config.onFailure?.[0];
  if (command === undefined) {
    return passed(
      'on-failure',
      config.file,
      `no onFailure in ${config.file}: a failed upload is told only in the logs and the exit code`,
    );
  }
  // Looked up as the run does, with the PATH the timer's run and Certbot's hook have.
  const program = findProgram(command, probe.hookPath);
  const change = `or change onFailure in ${config.file}`;
  const install = ['mail', 'mailx'].includes(basename(command))
    ? 'apt-get install bsd-mailx'
    : `install ${command}`;
  let info;
  try {
    info = program === undefined ? undefined : statSync(program);
  } catch {
    info = undefined;
  }
  if (program === undefined || info === undefined) {
    return failed(
      'on-failure',
      command,
      `the onFailure program ${command} does not exist${command.includes('/') ? '' : ` on PATH (${probe.hookPath})`}: no one is told when a push fails`,
      `${install}, ${change}`,
    );
  }
  if (!info.isFile() || !executable(program)) {
    return failed(
      'on-failure',
      program,
      `the onFailure program ${program} is not an executable file: no one is told when a push fails`,
      `chmod 755 ${word(program)}`,
    );
  }
  const unsafe = untrustedReason(program);
  if (unsafe !== undefined) {
    return failed(
      'on-failure',
      program,
      `the onFailure program is not run: ${stripRun(unsafe)}`,
      trustFix(unsafe) ?? `chown root:root ${word(program)}`,
    );
  }
  return passed('on-failure', program, `the onFailure program ${program} is there and executable`);
}

function stateFolderFinding(stateDir: string): Finding {
  const unsafe = untrustedFolderReason(stateDir);
  if (unsafe !== undefined) {
    return failed(
      'state-folder',
      stateDir,
      `the state folder cannot be trusted: ${stripRun(unsafe)}`,
      trustFix(unsafe) ?? `chown root:root ${word(stateDir)}`,
    );
  }
  return passed(
    'state-folder',
    stateDir,
    isFolder(stateDir)
      ? `the state folder ${stateDir} is root's alone`
      : `the state folder ${stateDir} is made by the first run`,
  );
}

/** What Certbot's drop-in, or a renew_hook, reaches. `runs`: a program is there that Certbot's run would start. */
interface Reach {
  ok: boolean;
  runs: boolean;
  message: string;
  fix?: string;
}

/** The program a shell command names incap-cert by: an absolute path (…/incap-cert) or a bare name to find on PATH. */
type Named = { path: string } | { bare: true } | undefined;

/** The system, as the findings ask it: programs run with a bounded time and an environment of only PATH. */
class Probe {
  readonly hookPath: string;
  private readonly version: string;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly path: string | undefined;
  private readonly reached = new Map<string, Reach>();

  constructor(options: WiringOptions) {
    this.hookPath = options.hookPath ?? HOOK_PATH;
    this.version = options.version ?? VERSION;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.signal = options.signal;
    this.path = 'path' in options ? options.path : process.env.PATH;
  }

  /** The drop-in, read by its own lookup rules. */
  async dropin(file: string): Promise<Reach | 'missing'> {
    try {
      lstatSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    }
    let info;
    try {
      info = statSync(file); // Certbot runs what a link points at
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      return { ok: false, runs: false, message: `${file} cannot be read (${code})` };
    }
    if (!info.isFile()) return { ok: false, runs: false, message: `${file} is not a regular file` };
    const unsafe = untrustedReason(file);
    if (unsafe !== undefined) {
      return {
        ok: false,
        runs: false,
        message: `Certbot runs ${file} as root, and ${stripRun(unsafe)}`,
        fix: trustFix(unsafe) ?? `chown root:root ${word(file)}`,
      };
    }
    if (!executable(file)) {
      return {
        ok: false,
        runs: false,
        message: `${file} is not executable, so Certbot skips it`,
        fix: `chmod 755 ${word(file)}`,
      };
    }
    const head = readHead(file);
    if (head === undefined) return { ok: false, runs: false, message: `${file} cannot be read` };
    // A compiled program (the incap-cert executable itself, linked or copied there) is what Certbot runs.
    if (head.binary) return this.reach({ path: file }, file);
    if (head.text === undefined) {
      return {
        ok: false,
        runs: true,
        message: `${file} is larger than 64 KiB, too large to be read as a hook script`,
      };
    }
    return this.reach(scriptTarget(head.text, this.hookPath), file);
  }

  /** Whether `named` leads to a program whose `--version` is this version. */
  async reach(named: Named | { path: string }, where: string): Promise<Reach> {
    if (named === undefined) {
      return {
        ok: false,
        runs: true,
        message: `${where} does not run incap-cert: no incap-cert is named in it`,
      };
    }
    const program = 'path' in named ? named.path : findProgram('incap-cert', this.hookPath);
    if (program === undefined) {
      return {
        ok: false,
        runs: false,
        message: `${where} runs incap-cert, which is not on Certbot's PATH (${this.hookPath})`,
      };
    }
    const known = this.reached.get(program);
    if (known !== undefined) return known;
    const verdict = await this.version1(program, where);
    this.reached.set(program, verdict);
    return verdict;
  }

  private async version1(program: string, where: string): Promise<Reach> {
    try {
      if (!statSync(program).isFile() || !executable(program)) {
        return {
          ok: false,
          runs: false,
          message: `${where} runs ${program}, which is not an executable file`,
        };
      }
    } catch {
      return { ok: false, runs: false, message: `${where} runs ${program}, which does not exist` };
    }
    // Certbot runs it as root: one that others may rewrite is not run here either, and is not incap-cert's to trust.
    const unsafe = untrustedReason(program);
    if (unsafe !== undefined) {
      return {
        ok: false,
        runs: true,
        message: `${where} runs ${program} as root, and ${stripRun(unsafe)}`,
        fix: trustFix(unsafe) ?? `chown root:root ${word(program)} && chmod 755 ${word(program)}`,
      };
    }
    const answer = await this.run(program, ['--version']);
    // Exactly what `incap-cert --version` prints: a bare number or another program's banner is not incap-cert.
    const line = answer.stdout.split('\n')[0] ?? '';
    const version = /^incap-cert (\S+)$/.exec(line)?.[1];
    if (answer.problem === undefined && answer.code === 0 && version === this.version) {
      return { ok: true, runs: true, message: `${program} (incap-cert ${version})` };
    }
    const what =
      answer.problem ??
      (answer.code !== 0
        ? `exited with code ${answer.code}`
        : `printed ${JSON.stringify(line.slice(0, 80))}`);
    return {
      ok: false,
      runs: true,
      message: `${where} runs ${program}, whose --version ${answer.problem === undefined && answer.code === 0 && version !== undefined ? `is ${version}, not ${this.version}` : what}`,
    };
  }

  /** `systemctl VERB incap-cert-sync.timer`: what it printed, or undefined where there is no systemctl. */
  async systemctl(verb: string): Promise<{ state: string } | undefined> {
    const program = findProgram('systemctl', this.path);
    if (program === undefined) return undefined;
    const answer = await this.run(program, [verb, TIMER_UNIT]);
    return { state: answer.problem === undefined ? (answer.stdout.split('\n')[0]?.trim() ?? '') : '' };
  }

  /**
   * Runs `program` with only PATH in its environment (no API key, nothing of this run's), in a process group of its
   * own that is killed, whole, at the time limit: a hung program or one of its children cannot hold `check` open.
   */
  private run(
    program: string,
    args: string[],
  ): Promise<{ code: number | null; stdout: string; problem?: string }> {
    return new Promise((done) => {
      if (this.signal?.aborted === true) {
        done({ code: null, stdout: '', problem: 'not asked: the run is being stopped' });
        return;
      }
      let stdout = '';
      let settled = false;
      let stopWatching = () => {};
      const child = spawn(program, args, {
        env: { PATH: this.hookPath },
        stdio: ['ignore', 'pipe', 'ignore'],
        detached: true,
      });
      const finish = (code: number | null, problem?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopWatching();
        killGroup(child.pid); // anything it left behind
        child.stdout.destroy();
        done(problem === undefined ? { code, stdout } : { code, stdout, problem });
      };
      const timer = setTimeout(
        () => finish(null, `did not answer within ${this.timeoutMs / 1000} s`),
        this.timeoutMs,
      );
      if (this.signal !== undefined)
        stopWatching = onAbort(this.signal, () => finish(null, 'stopped: the run is being stopped'));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (stdout.length < 4096) stdout += chunk;
      });
      child.stdout.on('error', () => {});
      child.on('error', (error: NodeJS.ErrnoException) =>
        finish(null, `could not run (${error.code ?? error.message})`),
      );
      child.on('close', (code) => finish(code));
    });
  }
}

/**
 * What a hook script runs incap-cert as. incap-cert's own drop-in (hooks/certbot-deploy.sh) looks on PATH, then in
 * the prefix written into its `incap_cert_prefix=` line; INCAP_CERT_BIN and INCAP_CERT_PREFIX, which it reads too,
 * are not in Certbot's environment. Any other script: the first `…/incap-cert` path or bare `incap-cert` command in it.
 */
function scriptTarget(text: string, hookPath: string): Named {
  const prefix = /^[ \t]*incap_cert_prefix=((?:'[^']*'|\\')+)[ \t]*$/m.exec(text)?.[1];
  if (prefix !== undefined) {
    if (findProgram('incap-cert', hookPath) !== undefined) return { bare: true };
    return { path: join(prefix.replace(/\\'/g, "'").replace(/'([^']*)'/g, '$1'), 'bin', 'incap-cert') };
  }
  const code = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
  return programOf(code);
}

/** The incap-cert a shell command names: `/usr/local/bin/incap-cert deploy`, `exec incap-cert deploy`. */
const PROGRAM = /(?:^|[\s;&|(`"'=])((?:\/[^\s;&|()`"'=]*)?\/incap-cert|incap-cert)(?=$|[\s;&|)`"'])/m;

function programOf(command: string): Named {
  const match = PROGRAM.exec(command);
  if (match === null) return undefined;
  const found = match[1] as string;
  return found.startsWith('/') ? { path: found } : { bare: true };
}

/** How many times a shell command names incap-cert. */
function timesNamed(command: string): number {
  return [...command.matchAll(new RegExp(PROGRAM.source, 'gm'))].length;
}

/** Whether a renew_hook runs incap-cert. */
function namesIncapCert(hook: string | undefined): boolean {
  return hook !== undefined && programOf(hook) !== undefined;
}

/** The start of a file: whether it is a compiled program, and its text when it is a script of sane size. */
function readHead(file: string): { binary: boolean; text?: string } | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, MAX_SCRIPT_BYTES));
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, read);
    if (bytes.includes(0)) return { binary: true };
    return size > MAX_SCRIPT_BYTES ? { binary: false } : { binary: false, text: bytes.toString('utf8') };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function installFix(dropin: string): string {
  return dropin === DEFAULT_DROPIN
    ? 'incap-cert install'
    : `incap-cert install && install -D -m 0755 ${DEFAULT_DROPIN} ${word(dropin)}`;
}

/** The `run: …` command of a trust refusal (src/util/trust.ts), where it gives one. */
function trustFix(reason: string): string | undefined {
  return /; run: (.+)$/.exec(reason)?.[1];
}

function stripRun(reason: string): string {
  return reason.replace(/; run: .+$/, '');
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    // root may "execute" a file with no x bit at all; Certbot and exec do not.
    return (statSync(file).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** A path or name as one shell word, quoted only when it must be. */
function word(value: string): string {
  return /^[A-Za-z0-9/._+,:@=-]+$/.test(value) ? value : shellQuote(value);
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
