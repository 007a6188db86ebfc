import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { LoadResult } from '../config/types.js';

/** Global options, read from the root command whatever subcommand runs. */
export function globalOpts(cmd: Command): { config?: string } {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts<{ config?: string }>();
}

/** Load the config named by --config (or the default), printing its warnings on stderr once. */
export function loadForCommand(cmd: Command, opts: { quiet?: boolean } = {}): LoadResult {
  const { config } = globalOpts(cmd);
  const result = loadConfig(config ? { configPath: config } : {});
  if (!opts.quiet) for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  return result;
}

/** Print JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
