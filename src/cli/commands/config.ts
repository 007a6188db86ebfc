import type { Command } from 'commander';
import type { LoadResult } from '../../config/types.js';
import { isTetoraError } from '../../errors.js';
import { configPathFrom, printJson, withConfigOption } from '../context.js';
import { ExitWith } from '../exit.js';

// The loader (zod schema) is imported when an action runs, not when the command tree is built.
async function load(cmd: Command): Promise<LoadResult> {
  const configPath = configPathFrom(cmd);
  const { loadConfig } = await import('../../config/load.js');
  return loadConfig(configPath ? { configPath } : {});
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('show or validate the config');

  withConfigOption(config.command('show'))
    .description('print the compiled config (defaults applied, paths resolved) with secrets shown as ***')
    .option('--json', 'print {path, warnings, config} as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config: resolved, warnings } = await load(cmd);
      const { redactConfig } = await import('../../config/redact.js');
      if (opts.json) {
        printJson({ path: resolved.configPath, warnings, config: redactConfig(resolved) });
        return;
      }
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(`# ${resolved.configPath}\n${JSON.stringify(redactConfig(resolved), null, 2)}\n`);
    });

  withConfigOption(config.command('validate'))
    .description('check the config (with config.local.json, .env and $VAR secrets); exits non-zero naming the wrong field')
    .option('--json', 'print {ok, path, warnings} as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      let result: LoadResult;
      try {
        result = await load(cmd);
      } catch (err) {
        if (!opts.json || !isTetoraError(err)) throw err;
        printJson({ ok: false, error: err.toJSON() });
        throw new ExitWith(err.exitCode);
      }
      const { config: resolved, warnings } = result;
      if (opts.json) {
        printJson({ ok: true, path: resolved.configPath, warnings });
        return;
      }
      process.stdout.write(`config OK: ${resolved.configPath}\n`);
      for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
    });
}
