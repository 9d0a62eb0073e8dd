/**
 * A value from the command line as a usage error may name it: a short word as it is, anything else only described.
 * An API key pasted into the wrong option or place is long and must not be printed back (a terminal's scroll-back,
 * Certbot's log of a hook's stderr, a CI log).
 */
export function shownValue(value: unknown): string {
  const text = String(value);
  if (/^[\w.:-]{1,12}$/.test(text)) return text;
  return `a value of ${text.length} characters (not shown: it may be a secret)`;
}
