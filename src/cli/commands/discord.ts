import type { Command } from 'commander';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { formatStatus, type DiscordStatusInfo } from '../../channels/discord/status-info.js';

/** The `tetora discord` group: made once, shared by its registrars (status here, outbox in discord-outbox.ts). */
export function discordGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'discord') ?? program.command('discord').description('the Discord bot of the running daemon');
}

export function registerDiscord(program: Command): void {
  discordGroup(program)
    .command('status')
    .description('connected or not and why, bot user, guild, watched channels, outbox depth and dead letters')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const { body } = await client.json<DiscordStatusInfo>('GET', '/api/discord/status');
      if (opts.json) return printJson(body);
      process.stdout.write(formatStatus(body));
    });
}
