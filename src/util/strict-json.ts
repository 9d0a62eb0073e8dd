/**
 * A strict JSON parser for the files root trusts (the config, the retry queue). JSON.parse would take a duplicate
 * key silently (the last one wins: a second "key" could hide below the one a reviewer reads), keep `__proto__` as an
 * own property that validators skip, and, when the text is broken, quote part of it in its message — an unquoted
 * API key included. This one:
 * - refuses duplicate keys, and keys that name something every object inherits (`__proto__`, `constructor`,
 *   `hasOwnProperty`, …), at any depth, reporting each with its path;
 * - bounds nesting (no stack overflow on `[[[[…`);
 * - says what is wrong and where (line and column) but never quotes any part of the text.
 */

export interface JsonProblem {
  /** Where the problem is, for key problems (`['api', 'key']`); undefined for a syntax error. */
  path: (string | number)[] | undefined;
  reason: string;
  line: number;
  column: number;
}

/** Every problem found; a syntax error is always alone, key problems are all reported. */
export class StrictJsonError extends Error {
  constructor(readonly problems: readonly JsonProblem[]) {
    super(
      problems
        .map((problem) => `${problem.reason} at line ${problem.line}, column ${problem.column}`)
        .join('; '),
    );
    this.name = 'StrictJsonError';
  }
}

export interface StrictJsonOptions {
  /** Arrays and objects nested deeper than this are refused. */
  maxDepth?: number;
}

/** Keys that would reach, or be confused with, what every object inherits. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
]);

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses `text` as JSON (a leading byte-order mark is skipped), or throws a StrictJsonError. */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 64;
  // The common case with JSON.parse, then a proof that it kept
  // every key (as many keys in the value as key separators in the text) and that none is forbidden. Anything else
  // goes to the parser below, which says exactly what is wrong and where.
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return new Parser(text, maxDepth).parseDocument();
  }
  const keys = countKeys(value, 0, maxDepth);
  if (keys >= 0 && keys === text.replace(STRINGS, '').split(':').length - 1) return value;
  return new Parser(text, maxDepth).parseDocument();
}

/** Every string, so that what is left of a valid JSON text holds one `:` per key. */
const STRINGS = /"(?:[^"\\]|\\.)*"/g;

/** The number of keys in `value`, or -1 when a key is forbidden or the nesting too deep. */
function countKeys(value: unknown, depth: number, maxDepth: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (depth >= maxDepth) return -1;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const inner = countKeys(item, depth + 1, maxDepth);
      if (inner < 0) return -1;
      count += inner;
    }
    return count;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return -1;
    const inner = countKeys((value as Record<string, unknown>)[key], depth + 1, maxDepth);
    if (inner < 0) return -1;
    count += inner + 1;
  }
  return count;
}

const SPACE = /[ \t\n\r]*/y;
/** A JSON string: no raw control characters, only JSON's escapes. */
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings
const STRING = /"((?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*)"/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})/y;

/** Thrown inside the parser, caught at its top: an Error only so that lint and stack tools treat it as one. */
class SyntaxProblem extends Error {
  constructor(
    readonly reason: string,
    readonly at: number,
  ) {
    super(reason);
  }
}

class Parser {
  private at = 0;
  private readonly keyProblems: { path: (string | number)[]; reason: string; at: number }[] = [];
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {
    if (text.charCodeAt(0) === 0xfeff) this.at = 1;
  }

  parseDocument(): unknown {
    let value: unknown;
    try {
      this.skipSpace();
      if (this.at >= this.text.length) throw new SyntaxProblem('unexpected end of JSON input', this.at);
      value = this.parseValue(0);
      this.skipSpace();
      if (this.at < this.text.length)
        throw new SyntaxProblem('unexpected character after the end of the JSON value', this.at);
    } catch (error) {
      if (error instanceof SyntaxProblem)
        throw new StrictJsonError([this.problem(undefined, error.reason, error.at)]);
      throw error;
    }
    if (this.keyProblems.length > 0) {
      throw new StrictJsonError(this.keyProblems.map((key) => this.problem(key.path, key.reason, key.at)));
    }
    return value;
  }

  private problem(path: (string | number)[] | undefined, reason: string, at: number): JsonProblem {
    const before = this.text.slice(0, at);
    const line = before.split('\n').length;
    return { path, reason, line, column: at - before.lastIndexOf('\n') };
  }

  private skipSpace(): void {
    SPACE.lastIndex = this.at;
    SPACE.test(this.text);
    this.at = SPACE.lastIndex;
  }

  private parseValue(depth: number): unknown {
    const char = this.text[this.at];
    switch (char) {
      case '{':
        return this.parseObject(depth + 1);
      case '[':
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        throw new SyntaxProblem('unexpected end of JSON input', this.at);
      default:
        if (char === '-' || (char >= '0' && char <= '9')) return this.parseNumber();
        throw new SyntaxProblem(
          /[A-Za-z_]/.test(char)
            ? 'unexpected character where a value belongs (a string needs double quotes)'
            : 'unexpected character where a value belongs',
          this.at,
        );
    }
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.at)) {
      this.at += word.length;
      return value;
    }
    throw new SyntaxProblem(
      'unexpected character where a value belongs (a string needs double quotes)',
      this.at,
    );
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth)
      throw new SyntaxProblem(`nested more than ${this.maxDepth} levels deep`, this.at);
    this.at += 1;
    this.skipSpace();
  }

  private parseObject(depth: number): Record<string, unknown> {
    this.enter(depth);
    const object: Record<string, unknown> = {};
    const seen = new Set<string>();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return object;
    }
    for (;;) {
      if (this.text[this.at] !== '"') {
        throw new SyntaxProblem(
          this.at >= this.text.length
            ? 'unexpected end of JSON input'
            : 'expected a property name in double quotes',
          this.at,
        );
      }
      const keyAt = this.at;
      const key = this.parseString();
      this.path.push(key);
      if (isForbiddenKey(key)) {
        this.keyProblems.push({
          path: [...this.path],
          reason: 'this name is not allowed as a key',
          at: keyAt,
        });
      } else if (seen.has(key)) {
        this.keyProblems.push({ path: [...this.path], reason: 'appears more than once', at: keyAt });
      }
      seen.add(key);
      this.skipSpace();
      if (this.text[this.at] !== ':') this.expected("expected ':' after the property name");
      this.at += 1;
      this.skipSpace();
      const value = this.parseValue(depth);
      // A forbidden name (reported above) is never assigned: `object['__proto__'] = …` would set the prototype.
      if (!isForbiddenKey(key)) object[key] = value;
      this.path.pop();
      this.skipSpace();
      const next = this.text[this.at];
      this.at += 1;
      if (next === '}') return object;
      if (next !== ',') {
        this.at -= 1;
        this.expected("expected ',' or '}' after a property");
      }
      this.skipSpace();
    }
  }

  private parseArray(depth: number): unknown[] {
    this.enter(depth);
    const array: unknown[] = [];
    if (this.text[this.at] === ']') {
      this.at += 1;
      return array;
    }
    for (let index = 0; ; index += 1) {
      this.path.push(index);
      array.push(this.parseValue(depth));
      this.path.pop();
      this.skipSpace();
      const next = this.text[this.at];
      this.at += 1;
      if (next === ']') return array;
      if (next !== ',') {
        this.at -= 1;
        this.expected("expected ',' or ']' after an array element");
      }
      this.skipSpace();
    }
  }

  private expected(reason: string): never {
    throw new SyntaxProblem(this.at >= this.text.length ? 'unexpected end of JSON input' : reason, this.at);
  }

  private parseString(): string {
    // The common case at native speed: a whole well-formed string in one match, unescaped only if it has escapes.
    STRING.lastIndex = this.at;
    const match = STRING.exec(this.text);
    if (match !== null) {
      this.at = STRING.lastIndex;
      const body = match[1] as string;
      return body.includes('\\') ? (JSON.parse(match[0]) as string) : body;
    }
    return this.findStringProblem();
  }

  /** Only for a string that is not well-formed: says what is wrong with it, and where. */
  private findStringProblem(): never {
    const start = this.at;
    for (let at = start + 1; ; at += 1) {
      const code = this.text.charCodeAt(at);
      if (Number.isNaN(code)) throw new SyntaxProblem('unterminated string', start);
      if (code < 0x20) throw new SyntaxProblem('control character in a string (escape it)', at);
      if (code === 0x5c) {
        ESCAPE.lastIndex = at;
        if (!ESCAPE.test(this.text)) {
          throw new SyntaxProblem(
            at + 1 >= this.text.length ? 'unterminated string' : 'bad escape in a string',
            at,
          );
        }
        at = ESCAPE.lastIndex - 1;
      }
    }
  }

  private parseNumber(): number {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.at;
    const found = match.exec(this.text);
    const after = this.text[this.at + (found?.[0].length ?? 0)];
    if (found === null || (after !== undefined && /[\d.eE+\-A-Za-z_]/.test(after))) {
      throw new SyntaxProblem('malformed number', this.at);
    }
    this.at += found[0].length;
    return Number(found[0]);
  }
}
