/**
 * Text from outside (Imperva's answers, the account's and plan's names, a certificate's names, a file's content or
 * name) may hold characters a terminal acts on instead of showing: C0 controls (ESC starts a command sequence), DEL,
 * C1 controls (U+009B is a one-character CSI that many terminals obey) and the bidirectional controls that reorder
 * what is shown (U+202E makes `gro.elpmaxe` read `example.org`). Every line that reaches the console is made
 * printable here: such characters are shown escaped, `\x1b` or `\u202e`, never passed on raw and never dropped (a
 * dropped character hides that something was there). Newline and tab stay as they are.
 */

// eslint-disable-next-line no-control-regex -- control characters are what is being found
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (character: string): string => {
  const code = character.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control and bidirectional control character (but newline and tab) written as an escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

/**
 * A JSON text that a terminal shows as it is: JSON.stringify already escapes C0 controls, and here DEL, C1 and the
 * bidirectional controls get JSON's own `\u` escape too, so the document parses to the same value.
 */
const JSON_UNPRINTABLE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printableJson(json: string): string {
  return json.replace(
    JSON_UNPRINTABLE,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
