/**
 * The command catalogue: every command of incap-cert, described once (src/cli/commands/). The parser registers them
 * (src/cli/parser.ts); the help pages, `help COMMAND`, the man page and the bash completion are rendered from them.
 */
import { VERSION } from '../util/version.js';
import { Answer, defineCommand, type Command } from './command.js';
import { canaryCommand } from './commands/canary.js';
import { checkCommand } from './commands/check.js';
import { deployCommand } from './commands/deploy.js';
import { installCommand, uninstallCommand } from './commands/install.js';
import { pushCommand } from './commands/push.js';
import { queueCommand } from './commands/queue.js';
import { removeCommand } from './commands/remove.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { verifyCommand } from './commands/verify.js';
import { completionScript } from './completion.js';
import { CONFIG_TOPIC, configHelp } from './config-page.js';
import { renderHelp } from './help.js';
import { unknownCommand } from './usage-errors.js';

const completionCommand = defineCommand({
  name: 'completion',
  usage: 'incap-cert completion',
  summary: 'Print a bash completion script: incap-cert completion > /etc/bash_completion.d/incap-cert',
  options: {},
  globals: [],
  examples: [],
  run: () => Promise.resolve(new Answer(completionScript(COMMANDS), 'completion')),
});

const helpCommand = defineCommand({
  name: 'help',
  // A topic beside the command names: the config file's fields (src/config/field-texts.ts).
  actions: [CONFIG_TOPIC],
  positional: '[topic]',
  usage: 'incap-cert help [COMMAND | config]',
  globals: [],
  summary: 'This help, one command’s, or the config file’s fields (help config).',
  options: {},
  examples: [['incap-cert help config', 'every config field, its default and what it does']],
  run: (argv) => {
    const topic = typeof argv.topic === 'string' ? argv.topic : undefined;
    return Promise.resolve(new Answer(helpOf(topic), 'help'));
  },
});

export const COMMANDS: readonly Command[] = [
  deployCommand,
  pushCommand,
  syncCommand,
  statusCommand,
  checkCommand,
  canaryCommand,
  verifyCommand,
  removeCommand,
  queueCommand,
  installCommand,
  uninstallCommand,
  completionCommand,
  helpCommand,
];

/** The names of the commands. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((command) => command.name);

/**
 * The help page of a command or of the help command's topic (config), or the overview when `name` is undefined; a
 * usage error for an unknown one.
 */
export function helpOf(name: string | undefined): string {
  if (name === CONFIG_TOPIC) return configHelp();
  if (name !== undefined && !COMMAND_NAMES.includes(name))
    throw unknownCommand(name, [...COMMAND_NAMES, CONFIG_TOPIC]);
  return renderHelp(COMMANDS, name);
}

/** `incap-cert VERSION`, the line install and the wiring check compare (src/install/install.ts). */
export const versionAnswer = (): Answer =>
  new Answer(`incap-cert ${VERSION}\n`, 'version', { version: VERSION });
