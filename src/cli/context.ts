import type { Command } from 'commander';
import type { LoadResult } from '../config/types.js';

/**
 * Global options whatever subcommand runs. `--config PATH` may be given before the subcommand
 * (`tetora --config x.json status`) or after it (`tetora status --config x.json`): the nearest wins.
 */
export function globalOpts(cmd: Command): { config?: string } {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const v = c.opts<{ config?: string }>().config;
    if (typeof v === 'string' && v !== '') return { config: v };
  }
  return {};
}

/** The --config path given anywhere on the command line (the nearest wins), or undefined for the default. */
export function configPathFrom(cmd: Command): string | undefined {
  return globalOpts(cmd).config;
}

/** Adds the per-command `-c, --config <path>` option (listed before the command's own options in its help). */
export function withConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <path>', 'config file (default: $TETORA_HOME/config.json)');
}

/** Give every command (and subcommand) that lacks one a `-c, --config <path>` option, so it works after any command. */
export function addConfigOptionEverywhere(cmd: Command): void {
  for (const sub of cmd.commands) {
    const has = (flag: string) => sub.options.some((o) => o.long === flag || o.short === flag);
    if (!has('--config')) {
      sub.option(has('-c') ? '--config <path>' : '-c, --config <path>', 'config file (default: $TETORA_HOME/config.json)');
    }
    addConfigOptionEverywhere(sub);
  }
}

/**
 * Load the config named by --config (or the default), printing its warnings on stderr once.
 * The config loader (zod schema) is imported here, not at the top, so that building the command
 * tree (`--help`, `--version`) never loads it.
 */
export async function loadForCommand(cmd: Command, opts: { quiet?: boolean } = {}): Promise<LoadResult> {
  const { config } = globalOpts(cmd);
  const { loadConfig } = await import('../config/load.js');
  const result = loadConfig(config ? { configPath: config } : {});
  if (!opts.quiet) for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  return result;
}

/** Print JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
