import type { Engine } from '../../src/engine/engine.js';
import { statusNonce } from '../../src/channels/discord/nonce.js';
import { DiscordStore } from '../../src/store/discord.js';
import type { TaskRow } from '../../src/store/tasks.js';

let seq = 0;

/**
 * What discord-in's inbound writes for a message that becomes a task (contract seam 1), in one
 * transaction: the task (source 'discord', origin with channel and message), the inbound record and,
 * with `showProgress`, the status row. Used until inbound itself drives these tests.
 */
export function discordTask(engine: Engine, o: { channelId: string; prompt: string; agent?: string; messageId?: string; status?: boolean; guildId?: string }): TaskRow {
  const store = new DiscordStore(engine.db);
  const messageId = o.messageId ?? `9${String(Date.now()).slice(-9)}${String(++seq).padStart(5, '0')}`;
  return engine.atomically(() => {
    const { task } = engine.enqueue(
      { agent: o.agent ?? 'a', prompt: o.prompt, sessionKey: `discord:${o.channelId}`, idempotencyKey: `discord:${messageId}` },
      { source: 'discord', origin: { channelId: o.channelId, guildId: o.guildId ?? '2001', messageId, authorId: '5001' } },
    );
    store.recordInbound({ messageId, channelId: o.channelId, guildId: o.guildId ?? '2001', authorId: '5001', kind: 'task', taskId: task.id, receivedAt: Date.now() });
    if (o.status) store.addStatus({ taskId: task.id, channelId: o.channelId, replyTo: messageId, nonce: statusNonce(task.id), at: Date.now() });
    return task;
  });
}
