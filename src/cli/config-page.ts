/**
 * The config file's documentation, rendered from the field texts (src/config/field-texts.ts) three ways: the page of
 * `incap-cert help config`, the man page incap-cert-config(5), and docs/config.md (written by
 * scripts/config-docs.ts; test/unit/config-fields.test.ts fails when the committed file is stale).
 */
import { CONFIG_EXAMPLE, CONFIG_INTRO, FIELD_TEXTS, type FieldText } from '../config/field-texts.js';
import { CONFIG_FIELDS } from '../config/schema.js';
import { VERSION } from '../util/version.js';
import { ENVIRONMENT, paragraph } from './help.js';
import { roff } from './man.js';

/** The help topics beside the commands: `incap-cert help config`. */
export const CONFIG_TOPIC = 'config';

const fields = (): [string, FieldText][] => CONFIG_FIELDS.map((name) => [name, FIELD_TEXTS[name]]);

const plain = (text: string) => text.replace(/`([^`]*)`/g, '$1');

/** `number or string of digits, required` or `https:// URL, default https://my.imperva.com`. */
const valueLine = (field: FieldText) =>
  `${field.value}, ${field.default === 'required' ? 'required' : `default ${field.default}`}`;

/** Each `code` span in bold; the rest as roff text. */
function roffText(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? `\\fB${roff(part.slice(1, -1))}\\fR` : roff(part)))
    .join('');
}

export function configHelp(): string {
  return [
    'incap-cert help config: the config file (man incap-cert-config has the same text)',
    '',
    ...CONFIG_INTRO.flatMap((text) => [...paragraph(plain(text)), '']),
    'Fields:',
    ...fields().flatMap(([name, field]) => [
      ...paragraph(`${name}: ${plain(valueLine(field))}`, 6).map(
        (line, index) => `${index === 0 ? '  ' : '      '}${line}`,
      ),
      ...paragraph(plain(field.text), 6).map((line) => `      ${line}`),
      '',
    ]),
    'Example:',
    ...CONFIG_EXAMPLE.split('\n').map((line) => `  ${line}`),
    '',
  ].join('\n');
}

export function configManPage(at: { date: string }): string {
  return [
    `.TH INCAP\\-CERT\\-CONFIG 5 "${at.date}" "incap\\-cert ${roff(VERSION)}" "File Formats"`,
    '.nh',
    '.ad l',
    '.SH NAME',
    'incap\\-cert\\-config \\- the configuration file of incap\\-cert',
    '.SH SYNOPSIS',
    '.I /etc/incap\\-cert/config.json',
    '.SH DESCRIPTION',
    ...CONFIG_INTRO.flatMap((text, index) => [...(index === 0 ? [] : ['.PP']), roffText(text)]),
    '.SH FIELDS',
    ...fields().flatMap(([name, field]) => [
      '.TP',
      `.B ${roff(name)}`,
      `${roffText(valueLine(field))}.`,
      '.br',
      roffText(field.text),
    ]),
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.filter(([name]) => !name.startsWith('RENEWED')).flatMap(([name, what]) => [
      '.TP',
      `.B ${roff(name)}`,
      roff(what),
    ]),
    '.SH EXAMPLE',
    '.PP',
    '.nf',
    '.RS',
    roff(CONFIG_EXAMPLE),
    '.RE',
    '.fi',
    '.SH SEE ALSO',
    '.BR incap\\-cert (1)',
    '',
  ].join('\n');
}

/** docs/config.md: the same text, as the repository shows it. */
export function configMarkdown(): string {
  return [
    '# The config file',
    '',
    '<!-- Written by `npm run docs:config` from src/config/field-texts.ts; edit that file, not this one. -->',
    '',
    ...CONFIG_INTRO.flatMap((text) => [text, '']),
    '## Fields',
    '',
    ...fields().flatMap(([name, field]) => [
      `### \`${name}\``,
      '',
      `${valueLine(field)}.`,
      '',
      field.text,
      '',
    ]),
    '## Example',
    '',
    '```json',
    CONFIG_EXAMPLE,
    '```',
    '',
    'The same text is on the host: `incap-cert help config` and `man incap-cert-config`.',
    '',
  ].join('\n');
}
