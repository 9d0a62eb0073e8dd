/**
 * Removes secrets from text before any transport sees it: the API key (as it is, base64 and URL-encoded), PEM
 * private key blocks, base64 of any PEM file (`LS0tLS1CRUdJTi` is base64 of `-----BEGIN`), and the body lines of
 * every private key this run has read.
 */
export const REDACTED = '[redacted]';

const PEM_PRIVATE_KEY =
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
const BASE64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/=%]*/g;

export class Redactor {
  private readonly secrets = new Set<string>();
  /** The secrets longest first, so that a secret that contains another is removed whole; made on first need. */
  private ordered: string[] | undefined;

  /** A secret string: redacted as it is, as base64, and URL-encoded. */
  addSecret(secret: string | undefined): void {
    if (secret === undefined || secret.length < 4) return;
    this.ordered = undefined;
    this.secrets.add(secret);
    this.secrets.add(Buffer.from(secret).toString('base64').replace(/=+$/, ''));
    this.secrets.add(encodeURIComponent(secret));
  }

  /** A private key file's bytes: the whole file in base64 and every base64 line of its body. */
  addPrivateKey(pem: Buffer): void {
    this.ordered = undefined;
    this.secrets.add(pem.toString('base64').replace(/=+$/, ''));
    for (const line of pem.toString('latin1').split(/\r?\n/)) {
      if (/^[A-Za-z0-9+/=]{16,}$/.test(line)) this.secrets.add(line);
    }
  }

  redact(text: string): string {
    let out = text.replace(PEM_PRIVATE_KEY, REDACTED).replace(BASE64_PEM, REDACTED);
    this.ordered ??= [...this.secrets].sort((a, b) => b.length - a.length);
    for (const secret of this.ordered) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  /** Redacts every string in a value (log metadata), leaving its shape. */
  redactValue<T>(value: T, seen = new WeakSet<object>()): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) return value.map((item: unknown) => this.redactValue(item, seen)) as T;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(value)) {
      out[key] = this.redactValue((value as Record<string | symbol, unknown>)[key], seen);
    }
    return out as T;
  }
}
