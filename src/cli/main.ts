import { Command, CommanderError } from 'commander';
import { isTetoraError, messageOf } from '../errors.js';
import { registerCommands } from './commands/index.js';
import { addConfigOptionEverywhere } from './context.js';
import { ExitWith } from './exit.js';
import { stdoutErrorAction } from './output.js';
import { versionLine } from './version.js';

export function buildProgram(): Command {
  const program = new Command('tetora')
    .description('Tetora: a self-hosted AI agent orchestrator.')
    .version(`tetora ${versionLine()}`, '-V, --version', 'print the version')
    .option('-c, --config <path>', 'config file (default: $TETORA_HOME/config.json, TETORA_HOME defaults to ~/.tetora)')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors look like every other error: one line starting with `tetora:` (then the help hint).
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'tetora: ')) })
    .enablePositionalOptions()
    .exitOverride();
  program.addHelpCommand('help [command]', 'show help for a command');
  registerCommands(program);
  addConfigOptionEverywhere(program);
  return program;
}

/**
 * The command word the user typed that names no command (`tetora frobnicate --help`, `tetora help
 * frobnicate`), which commander would answer with the general help and exit 0.
 */
function unknownCommandWord(program: Command, args: string[]): string | undefined {
  const names = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  let i = 0;
  while (i < args.length && (args[i] as string).startsWith('-')) {
    const a = args[i] as string;
    i += a === '-c' || a === '--config' ? 2 : 1;
  }
  let word = args[i];
  if (word === 'help') word = args[i + 1];
  if (word === undefined || word.startsWith('-') || names.has(word)) return undefined;
  return word;
}

/**
 * Did the user ask for JSON output? The command that ran says so once commander parsed its options;
 * before that (a usage error), a `--json` word before any `--` does.
 */
function jsonWordIn(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/** With --json, an error is printed on stdout as well, as the daemon's error bodies are: one line. */
function printJsonError(error: { code: string; message: string; details?: Record<string, unknown> }): void {
  process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, details: error.details ?? {} } })}\n`);
}

/** Runs the CLI; resolves to the exit code. User errors print one line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  process.umask(0o077);
  const program = buildProgram();
  let json: boolean | undefined;
  let daemon = false;
  program.hook('preAction', (_program, action) => {
    json = action.opts<{ json?: boolean }>().json === true;
    daemon = action.name() === 'serve';
  });
  // A reader that goes away (`| head`) ends the command: exit 0 at once, no stack trace (see output.ts).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    const { exit, message } = stdoutErrorAction(err, daemon);
    if (message) process.stderr.write(message);
    if (exit !== undefined) process.exit(exit);
  });
  const wantsJson = () => json ?? jsonWordIn(argv.slice(2));
  const unknown = unknownCommandWord(program, argv.slice(2));
  if (unknown !== undefined) {
    const message = `unknown command '${unknown}'. Run \`tetora help\` for the list of commands.`;
    process.stderr.write(`tetora: ${message}\n`);
    if (wantsJson()) printJsonError({ code: 'TET_ERR_USAGE', message, details: { command: unknown } });
    return 64;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof ExitWith) return err.code;
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.exitCode === 0) return 0;
      if (wantsJson()) printJsonError({ code: 'TET_ERR_USAGE', message: err.message.replace(/^error: /, ''), details: { reason: err.code } });
      return 64;
    }
    if (isTetoraError(err)) {
      process.stderr.write(`tetora: ${err.message}\n`);
      if (wantsJson()) printJsonError(err.toJSON());
      return err.exitCode;
    }
    process.stderr.write(`tetora: unexpected error: ${messageOf(err)}\n${(err as Error)?.stack ?? ''}\n`);
    if (wantsJson()) printJsonError({ code: 'TET_ERR_INTERNAL', message: `unexpected error: ${messageOf(err)}` });
    return 70;
  }
}
