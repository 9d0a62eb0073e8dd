import { ApiError, type ApiErrorDetails } from '../model/errors.js';
import { printable } from '../util/printable.js';
import { parseStrictJson } from '../util/strict-json.js';
import { withoutStack } from './errors.js';

/** One HTTP answer from Imperva, read whole (src/imperva/http.ts caps its size). */
export interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  retryAfter: string | undefined;
  body: string;
}

/**
 * The longest text from Imperva (res_message, a v3 error's detail) quoted in a message. Longer ones are not quoted
 * at all rather than cut: a cut could keep part of a secret that Imperva echoed and that the redactor, which runs
 * later on the whole line, would then no longer recognize.
 */
export const MAX_QUOTED_CHARS = 200;

/**
 * Imperva's text on one line, or undefined when it is too long to quote whole (see MAX_QUOTED_CHARS). Runs of
 * whitespace (line breaks included) become one space; any other C0 control and DEL is shown escaped (`\x1b`), as
 * src/util/printable.ts does, so the message keeps on record, in the log and the queue too, that it was there.
 */
export function quote(text: string): string | undefined {
  const line = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(C0_AND_DEL, (character) => printable(character));
  return line.length <= MAX_QUOTED_CHARS ? line : undefined;
}

/**
 * What is left of C0 once whitespace is collapsed, and DEL. C1 and bidirectional controls are kept as Imperva sent
 * them: every console line and the --json document escape those where they are printed (src/util/printable.ts).
 */
// eslint-disable-next-line no-control-regex -- control characters are what is being found
const C0_AND_DEL = /[\u0000-\u001f\u007f]/g;

/**
 * `Retry-After` is seconds (digits, a fraction tolerated) or an IMF-fixdate. Anything else — a negative number,
 * garbage, a date in another format — is ignored (undefined); a date in the past is 0. The floor of every
 * throttled wait is applied where the wait is decided (retry.ts), not here.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,9}(\.[0-9]{1,9})?$/.test(text)) return Number(text);
  if (!/^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/.test(text))
    return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** HTTP 429, on v1 and v3 alike: transient, with the wait the server asked for when it said one. */
export function throttled(answer: HttpAnswer): never {
  const retryAfterSeconds = parseRetryAfter(answer.retryAfter);
  return fail(`Imperva is throttling requests (HTTP 429)`, {
    status: 429,
    transient: true,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

export function fail(message: string, details: ApiErrorDetails): never {
  throw withoutStack(() => new ApiError(message, details));
}

/** Imperva's front answers with HTML pages, even with HTTP 200. */
export function isHtml(answer: HttpAnswer): boolean {
  return /html/i.test(answer.contentType ?? '') || /^\s*</.test(answer.body);
}

/**
 * The body as JSON, or undefined when it is not JSON that says one thing: a key given twice (`{"res":1,"res":0}`,
 * which JSON.parse reads as the last one, a success) or a key every object inherits is an answer that did not come
 * from the API as documented, and is treated like one that does not parse (transient: retried, never a delivery).
 */
export function tryJson(body: string): unknown {
  try {
    return parseStrictJson(body);
  } catch {
    return undefined;
  }
}
