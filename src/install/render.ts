/**
 * The install prefix written into the files that name the executable: the shell hooks, the systemd unit and the cron
 * line; and the host's time for the timer's run (src/install/schedule.ts) into the timer and the cron line. Each has its own quoting rules, so each gets its own escaping; a prefix that cannot be written safely into
 * all of them is refused before anything is written. Pure functions, no I/O.
 */
import { posix } from 'node:path';
import { ExitCode } from '../model/errors.js';
import { InstallError } from './errors.js';
import { runHours, type Schedule } from './schedule.js';

/** The prefix the files in hooks/ carry, and the default of `incap-cert install`. */
export const DEFAULT_PREFIX = '/usr/local';

/**
 * The prefix, normalized (no `//`, `.`, `..` or trailing `/`), or an InstallError (exit 2) naming what is wrong.
 * Any printable ASCII character works — spaces, `&`, `#`, `%`, quotes, `;`, `*` and the like are escaped for sh, cron
 * and systemd — except `\`, `$` and `` ` ``: what they mean after escaping differs between sh, cron's `%` handling
 * and systemd's `$VAR` expansion of the executable path, so they are refused rather than guessed at.
 * Control characters (a newline ends a cron line or a unit setting) and non-ASCII are refused too.
 */
export function checkPrefix(prefix: string): string {
  const shown = JSON.stringify(prefix);
  if (!prefix.startsWith('/')) throw usage(`--prefix ${shown} must be an absolute path`);
  const bad = /[^\x20-\x7e]|[\\$`]/.exec(prefix);
  if (bad !== null) {
    const what = /[\\$`]/.test(bad[0])
      ? `"${bad[0]}", which sh, cron and systemd read differently`
      : `the character ${JSON.stringify(bad[0])} (only printable ASCII is allowed)`;
    throw usage(`--prefix ${shown} holds ${what}; choose a folder without it`);
  }
  if (prefix.length > 1024) throw usage(`--prefix is longer than 1024 characters`);
  const normal = posix.normalize(prefix);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function usage(message: string): InstallError {
  return new InstallError(message, ExitCode.Usage);
}

/** A POSIX shell word that is exactly `value`: single quotes, with each `'` as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Characters that mean nothing to sh, cron or systemd, left as they are for readable files. */
const PLAIN = /^[A-Za-z0-9/._+,:@=-]*$/;

/**
 * A shell hook with the prefix written in: its one line `incap_cert_prefix='/usr/local'` (or `_incap_prefix` in the
 * acme.sh plugin, which shares acme.sh's namespace) gets the prefix as one single-quoted word.
 */
export function renderShellHook(text: string, prefix: string, name: string): string {
  const marker = /^([ \t]*)(incap_cert_prefix|_incap_prefix)='\/usr\/local'$/gm;
  const found = text.match(marker)?.length ?? 0;
  if (found !== 1) throw new InstallError(`${name} has ${found} prefix lines, not one: a broken build`);
  return text.replace(
    marker,
    (_line, indent: string, variable: string) => `${indent}${variable}=${shellQuote(prefix)}`,
  );
}

/**
 * One word of a systemd unit's `ExecStart=` that systemd reads back as `path` (systemd.service(5), "Command
 * lines"; systemd.unit(5), "Specifiers"): `%` is a specifier, so `%%`; whitespace, quotes, `\` and every other
 * character that is not plainly part of a path as a C escape `\xHH`, which systemd decodes after splitting words.
 */
export function systemdWord(path: string): string {
  let out = '';
  for (const char of path) {
    if (char === '%') out += '%%';
    else if (PLAIN.test(char)) out += char;
    else out += `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The sync service with the executable at `binary`: its `ExecStart=/usr/local/bin/incap-cert …` line rewritten. */
export function renderUnit(text: string, binary: string, name: string): string {
  return replaceOnce(
    text,
    /^ExecStart=\/usr\/local\/bin\/incap-cert(?= |$)/m,
    `ExecStart=${systemdWord(binary)}`,
    name,
  );
}

/**
 * The command word of a cron line that runs `path`. cron hands the command to /bin/sh after turning every `%` that
 * is not written `\%` into a newline (crontab(5)); sh then needs the word quoted. So: plain paths as they are, others
 * single-quoted, with each `%` outside the quotes as `\%` (cron drops the backslash, and sh takes a bare `%` as is).
 */
export function cronWord(path: string): string {
  if (PLAIN.test(path)) return path;
  return path
    .split('%')
    .map((part) => (part === '' ? '' : shellQuote(part)))
    .join('\\%');
}

/**
 * The cron line with the executable at `binary` (`… root /usr/local/bin/incap-cert sync …` rewritten) and, when a
 * schedule is given, its minute and hours this host's (`17 4,10,16,22 * * * root …`).
 */
export function renderCron(text: string, binary: string, name: string, schedule?: Schedule): string {
  const rendered = replaceOnce(
    text,
    /(?<=^[^#\n]* root )\/usr\/local\/bin\/incap-cert(?= )/m,
    cronWord(binary),
    name,
  );
  if (schedule === undefined) return rendered;
  return replaceOnce(
    rendered,
    /^\d+ [\d,]+(?= \* \* \* root )/m,
    `${schedule.minute} ${runHours(schedule).join(',')}`,
    name,
  );
}

/**
 * The timer at this host's time: `OnCalendar=*-*-* 04,10,16,22:17:00`. The file as shipped (the Debian package's,
 * the same on every host) lets systemd pick the offset from the machine id itself (`RandomizedDelaySec=6h` with
 * `FixedRandomDelay=true`); install writes the time out instead, so that the file says when it runs.
 */
export function renderTimer(text: string, schedule: Schedule, name: string): string {
  const hours = runHours(schedule)
    .map((hour) => String(hour).padStart(2, '0'))
    .join(',');
  const minute = String(schedule.minute).padStart(2, '0');
  const withTime = replaceOnce(text, /^OnCalendar=.*$/m, `OnCalendar=*-*-* ${hours}:${minute}:00`, name);
  const noDelay = replaceOnce(withTime, /^RandomizedDelaySec=.*\n/m, '', name);
  return replaceOnce(noDelay, /^FixedRandomDelay=.*\n/m, '', name);
}

function replaceOnce(text: string, pattern: RegExp, replacement: string, name: string): string {
  const global = new RegExp(pattern.source, `${pattern.flags}g`);
  const found = text.match(global)?.length ?? 0;
  if (found !== 1)
    throw new InstallError(`${name} has ${found} lines to rewrite where one was expected: a broken build`);
  return text.replace(pattern, () => replacement);
}
