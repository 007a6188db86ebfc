import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { DiscordStore } from '../../src/store/discord.js';

function store(): DiscordStore {
  return new DiscordStore(openDb(join(mkdtempSync(join(tmpdir(), 'tetora-discord-store-')), 'tetora.db')));
}

describe('store: Discord inbound, cursors, outbox and status rows', () => {
  it('records an inbound message once, whatever replays it', () => {
    const s = store();
    const msg = { messageId: '1001', channelId: 'c1', authorId: 'u1', kind: 'command' as const, receivedAt: 1 };
    expect(s.recordInbound(msg)).toBe(true);
    expect(s.recordInbound({ ...msg, receivedAt: 2 })).toBe(false);
    expect(s.inbound('1001')).toMatchObject({ channelId: 'c1', kind: 'command', taskId: null, guildId: null, receivedAt: 1 });
  });

  it('moves a channel cursor only forward, comparing snowflakes as numbers', () => {
    const s = store();
    s.markSeen('c1', '999', 1);
    s.markSeen('c1', '1000', 2); // longer is newer although "1000" < "999" as text
    s.markSeen('c1', '998', 3);
    expect(s.channel('c1')).toMatchObject({ lastMessageId: '1000', updatedAt: 2 });
    s.setChatAgent('c1', 'coder', 4);
    expect(s.channel('c1')).toMatchObject({ lastMessageId: '1000', chatAgent: 'coder' });
    s.setChatAgent('c1', null, 5);
    expect(s.channel('c1')?.chatAgent).toBeNull();
  });

  it('queues one outbox row per key and one status message per task', () => {
    const s = store();
    const a = s.addOutbox({ key: 'command:1001', channelId: 'c1', kind: 'command', replyTo: '1001', body: 'first', at: 1 });
    const b = s.addOutbox({ key: 'command:1001', channelId: 'c1', kind: 'command', replyTo: '1001', body: 'second', at: 2 });
    expect(b).toEqual(a);
    expect(a).toMatchObject({ body: 'first', state: 'pending', attempts: 0, nextAt: 0, taskId: null });
    expect(s.outboxCounts()).toEqual({ pending: 1, dead: 0 });
    s.db.prepare("INSERT INTO tasks (id, source, prompt, status, max_attempts, created_at, updated_at) VALUES ('t1', 'discord', 'p', 'queued', 1, 0, 0)").run();
    s.addStatus({ taskId: 't1', channelId: 'c1', replyTo: '1001', nonce: 's-t1', at: 1 });
    s.addStatus({ taskId: 't1', channelId: 'c2', nonce: 'other', at: 2 });
    expect(s.status('t1')).toMatchObject({ channelId: 'c1', nonce: 's-t1', messageId: null, final: 0 });
  });
});
