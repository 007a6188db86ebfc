import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';
import { discordTask } from '../helpers/discord-tasks.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

/** A Discord message whose answer delegates: one reply, after the children, with the composed result. */
const AGENT = resolve(import.meta.dirname, '../helpers/delegate-agent.mjs');
const alice = { id: '5001', username: 'alice' };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const script = (s: Record<string, unknown>) => `SCRIPT ${JSON.stringify(s)}`;
const block = (agent: string, task: string) => JSON.stringify({ _delegate: { agent, task } });

describe('delegation from a Discord message', () => {
  it('replies once, after the children ended, with the parent output and each child output; children send nothing', async () => {
    const d = await FakeDiscord.start({ guilds: [{ id: '2001', name: 'lab', channels: [{ id: '3001', name: 'general' }] }] });
    cleanups.push(() => d.stop());
    const daemon = await DaemonHarness.create({
      maxConcurrent: 1,
      providers: { del: { type: 'command', path: process.execPath, args: [AGENT] } },
      defaultProvider: 'del',
      agents: { a: { provider: 'del' }, b: { provider: 'del' } },
      discord: { enabled: true, botToken: 'test-token', apiBaseUrl: d.apiBaseUrl, channelIDs: ['3001'], showProgress: false, sendRetry: { base: '50ms', cap: '200ms', maxAttempts: 5 } },
    });
    cleanups.push(async () => {
      daemon.killMarked();
      await daemon.stop();
    });
    const out = `Asking two helpers.\n${block('b', script({ out: 'first helper says hi' }))}\n${block('b', script({ out: 'second helper says bye' }))}`;
    const m = d.post('3001', { content: 'help', author: alice });
    const engine = daemon.engine();
    let id: string;
    try {
      id = discordTask(engine, { channelId: '3001', messageId: m.id, prompt: script({ out }) }).id;
    } finally {
      await engine.stop();
    }
    await daemon.start();
    const [parent] = await daemon.waitTerminal([id]);
    expect(parent!.status).toBe('succeeded');
    await vi.waitFor(async () => expect((await daemon.json<{ rows: unknown[] }>('/api/discord/outbox?state=sent')).body.rows).toHaveLength(1), { timeout: 20_000, interval: 100 });
    const msgs = d.botMessages('3001');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.content).toContain('[Delegated to b]\nfirst helper says hi');
    expect(msgs[0]!.content).toContain('[Delegated to b]\nsecond helper says bye');
    // Nothing else waits to be said (no reply for the children, no second reply for the parent).
    expect((await daemon.json<{ rows: unknown[]; counts: { pending: number; dead: number } }>('/api/discord/outbox')).body.counts).toEqual({ pending: 0, dead: 0 });
  }, 90_000);
});
