/**
 * The catch-up: Discord replays missed events only when a session resumes, never after a restart. At
 * every READY (a fresh session) each watched channel (`channelIDs`, `mentionChannelIDs`) is read after its
 * cursor (`discord_channels.last_message_id`, at most 50 messages), oldest first, through the same intake
 * as live messages: what is already recorded makes nothing, the rest is answered once. A channel never
 * seen before starts from now: its history is not answered.
 */
import type { Client, Message } from 'discord.js';
import type { Logger } from '../../engine/logger.js';
import { messageOf } from '../../errors.js';
import type { DiscordStore } from '../../store/discord.js';
import { compareSnowflakes } from './inbound.js';

/** Discord's epoch (2015-01-01T00:00:00Z). */
const DISCORD_EPOCH = 1420070400000n;
export const CATCH_UP_LIMIT = 50;

/** The smallest snowflake of a moment (no message made after it has a smaller id). Pure. */
export function snowflakeAt(ms: number): string {
  return ((BigInt(Math.max(0, Math.floor(ms))) - DISCORD_EPOCH) << 22n).toString();
}

/** The channels the catch-up reads: the watched ones, each once. Pure. */
export function catchUpChannels(cfg: { channelIds: string[]; mentionChannelIds: string[] }): string[] {
  return [...new Set([...cfg.channelIds, ...cfg.mentionChannelIds])];
}

export interface CatchUpDeps {
  store: DiscordStore;
  log: Logger;
  now(): number;
  /** The cursors taken at READY, before any live message could move them (a channel not in it: the store's). */
  cursors?: ReadonlyMap<string, string | null>;
  /** Hands a fetched message to the intake; resolves once it is handled. */
  handle(m: Message): Promise<unknown>;
  /** A channel's catch-up has finished (not called when it failed: the next connect tries again). */
  done?(channelId: string): void;
}

/** Catch up the given channels; one channel's failure (no access, deleted) is logged and the others go on. */
export async function catchUp(client: Client<true>, channels: string[], d: CatchUpDeps): Promise<{ handled: number; started: string[] }> {
  let handled = 0;
  const started: string[] = [];
  for (const id of channels) {
    try {
      const ch = await client.channels.fetch(id);
      if (!ch || !ch.isTextBased() || !('messages' in ch)) {
        d.log.warn({ channelId: id }, 'discord: a watched channel is not a text channel the bot can read; skipped by the catch-up');
        d.done?.(id);
        continue;
      }
      const cursor = d.cursors?.has(id) ? (d.cursors.get(id) ?? null) : (d.store.channel(id)?.lastMessageId ?? null);
      if (!cursor) {
        // Never seen: start from now (its newest message, or this moment), without answering history.
        const latest = await ch.messages.fetch({ limit: 1 });
        d.store.markSeen(id, latest.first()?.id ?? snowflakeAt(d.now()), d.now());
        started.push(id);
        d.done?.(id);
        continue;
      }
      const batch = await ch.messages.fetch({ after: cursor, limit: CATCH_UP_LIMIT, cache: false });
      const oldestFirst = [...batch.values()].sort((a, b) => compareSnowflakes(a.id, b.id));
      if (oldestFirst.length) d.log.info({ channelId: id, messages: oldestFirst.length, after: cursor }, 'discord: catching up on messages posted while disconnected');
      for (const m of oldestFirst) {
        await d.handle(m);
        handled++;
      }
      d.done?.(id);
    } catch (err) {
      d.log.warn({ channelId: id, err: messageOf(err) }, 'discord: catch-up of a channel failed; it is tried again at the next connect');
    }
  }
  return { handled, started };
}
