/**
 * Removes secrets from text before anything is printed or persisted: the API key (as it is, base64 and
 * URL-encoded), PEM private key blocks, base64 of any PEM file (`LS0tLS1CRUdJTi` is base64 of `-----BEGIN`), the
 * private keys this run has read — and any PART of a registered secret: Imperva may echo what it was sent cut short
 * (its messages are truncated), split over lines or re-encoded, and a prefix of a key is still a secret.
 */
export const REDACTED = '[redacted]';

/**
 * A fragment this long that also occurs in a secret is taken to be part of it. Shorter runs are too likely to be
 * ordinary text (a site id, a word); 8 characters of base64 or hex are 48 or 32 bits — chance, not a quote.
 */
export const MIN_FRAGMENT = 8;

const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const BASE64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/=%]*/g;

export class Redactor {
  /** Whole forms of the secrets, removed as they are. */
  private readonly secrets = new Set<string>();
  /** Every MIN_FRAGMENT-long window of every form of every secret: a text window found here is part of a secret. */
  private readonly windows = new Set<string>();
  /** The secrets longest first, so that a secret that contains another is removed whole; made on first need. */
  private ordered: string[] | undefined;

  /** A secret string: redacted as it is, as base64, URL-encoded, and any part of those of MIN_FRAGMENT or more. */
  addSecret(secret: string | undefined): void {
    if (secret === undefined || secret.length < 4) return;
    this.add(secret);
    // A string with a lone surrogate (a config's "\ud800") has no URL-encoded form, and so is never sent as one;
    // encodeURIComponent throws on it, which would end the run before the config's check could name the field.
    if (isWellFormed(secret)) this.add(encodeURIComponent(secret));
    for (const form of base64Forms(Buffer.from(secret))) this.add(form);
  }

  /**
   * A private key file's bytes: the file in base64 (what the upload sends), the key's base64 body (what the file
   * holds, over many lines), every body line, and any part of those of MIN_FRAGMENT or more.
   */
  addPrivateKey(pem: Buffer): void {
    for (const form of base64Forms(pem)) this.add(form);
    const text = pem.toString('latin1');
    const lines = text.split(/\r?\n/).filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));
    for (const line of lines) this.add(line);
    // The body without its line breaks: a fragment that was split differently, or joined, is still a part of it.
    if (lines.length > 0) this.add(lines.join(''));
  }

  redact(text: string): string {
    let out = text.replace(PEM_PRIVATE_KEY, REDACTED).replace(BASE64_PEM, REDACTED);
    this.ordered ??= [...this.secrets].sort((a, b) => b.length - a.length);
    for (const secret of this.ordered) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return this.redactFragments(out);
  }

  /** Redacts every string in a value (log metadata, a queue entry, the onFailure summary), leaving its shape. */
  redactValue<T>(value: T, seen = new WeakSet<object>()): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactValue(item, seen)) as T;
    if (value instanceof Date) return value;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(value)) {
      out[key] = this.redactValue((value as Record<string | symbol, unknown>)[key], seen);
    }
    return out as T;
  }

  protected add(form: string): void {
    if (form.length < 4) return;
    this.ordered = undefined;
    this.secrets.add(form);
    for (let index = 0; index + MIN_FRAGMENT <= form.length; index += 1) {
      this.windows.add(form.slice(index, index + MIN_FRAGMENT));
    }
  }

  /**
   * Every stretch of the text covered by windows that occur in a secret becomes one REDACTED: any substring of a
   * secret at least MIN_FRAGMENT long is made of such windows, so none of it is left.
   */
  private redactFragments(text: string): string {
    let out = '';
    // Where the last redacted stretch ends: the text before it is in `out`.
    let redactedTo = -1;
    for (let index = 0; index + MIN_FRAGMENT <= text.length; index += 1) {
      if (!this.windows.has(text.slice(index, index + MIN_FRAGMENT))) continue;
      // A window that overlaps or touches the stretch before it makes that stretch longer; else a new one begins.
      if (index > redactedTo) out += text.slice(Math.max(redactedTo, 0), index) + REDACTED;
      redactedTo = index + MIN_FRAGMENT;
    }
    return redactedTo < 0 ? text : out + text.slice(redactedTo);
  }
}

/**
 * Base64 of the bytes as they would appear inside any longer base64 text: at each of the three alignments (the
 * characters of a part depend on where it starts), standard and URL-safe, and URL-encoded (a form field).
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (let skip = 0; skip < 3 && skip < bytes.length; skip += 1) {
    // The first characters of an unaligned encoding mix in unknown bits from before: drop them.
    const base64 = bytes.subarray(skip).toString('base64').replace(/=+$/, '');
    forms.push(base64, encodeURIComponent(base64), bytes.subarray(skip).toString('base64url'));
  }
  return forms;
}

/** Whether `text` holds no lone surrogate (String.prototype.isWellFormed, which Node 20's TypeScript lib lacks). */
function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}
