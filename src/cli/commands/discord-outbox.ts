import type { Command } from 'commander';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { discordGroup } from './discord.js';

interface OutboxView {
  id: number;
  key: string;
  channelId: string;
  state: string;
  attempts: number;
  nextAt: number | null;
  lastError: string | null;
  createdAt: number;
  bodyChars: number;
  preview: string;
  chunks: Array<{ idx: number; messageId: string | null }>;
}

/** One line per outbox row (pure). */
export function outboxLine(r: OutboxView): string {
  const sent = r.chunks.filter((c) => c.messageId).length;
  const chunks = r.chunks.length ? `${sent}/${r.chunks.length} chunks` : 'not planned yet';
  const when = new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19);
  const err = r.lastError ? `\n      ${r.state === 'dead' ? 'reason' : 'last error'}: ${r.lastError}` : '';
  return `${String(r.id).padStart(6)}  ${r.state.padEnd(7)} ${when}  channel ${r.channelId}  ${r.key}  ${r.bodyChars} chars, ${chunks}, ${r.attempts} failed attempts${err}`;
}


/** `tetora discord outbox [--dead] [--json]` and `tetora discord outbox retry ID`. */
export function registerDiscordOutbox(program: Command): void {
  const outbox = discordGroup(program)
    .command('outbox')
    .description('what the bot has to say: pending replies, dead letters (--dead) and their reasons')
    .option('--dead', 'only dead letters (sends given up)')
    .option('--sent', 'only rows already sent')
    .option('--limit <n>', 'at most this many rows (newest first)', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { dead?: boolean; sent?: boolean; limit: string; json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const state = opts.dead ? 'dead' : opts.sent ? 'sent' : 'pending';
      const { body } = await client.json<{ rows: OutboxView[]; counts: { pending: number; dead: number } }>('GET', `/api/discord/outbox?state=${state}&limit=${encodeURIComponent(opts.limit)}`);
      if (opts.json) return printJson(body);
      const head = `discord outbox: ${body.counts.pending} pending, ${body.counts.dead} dead`;
      const lines = body.rows.length ? body.rows.map(outboxLine) : [`  no ${state} rows`];
      const hint = state === 'dead' && body.rows.length ? ['', 'send one again: tetora discord outbox retry ID'] : [];
      process.stdout.write(`${[head, ...lines, ...hint].join('\n')}\n`);
    });
  outbox
    .command('retry <id>')
    .description('send a dead letter again (from its first chunk not yet acknowledged)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const { body } = await client.json<{ row: OutboxView; delivering: boolean }>('POST', `/api/discord/outbox/${encodeURIComponent(id)}/retry`);
      if (opts.json) return printJson(body);
      process.stdout.write(`outbox row ${body.row.id} is pending again${body.delivering ? '; it is being sent' : ' (Discord is not enabled on the daemon: it is sent once it is)'}\n`);
    });
}
