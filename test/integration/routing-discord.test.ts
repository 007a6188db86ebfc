/**
 * Discord messages through smart dispatch: the real daemon (child process) with the real discord.js
 * against the fake Discord. A channel with no route, no parent route and no `!chat` lock sends its
 * messages without an agent (plus the channel, user and guild ids), and the engine routes them: keywords,
 * a binding on the user, the classifier; a routed channel keeps its route.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

const ROUTE_AGENT = resolve(import.meta.dirname, '../helpers/route-agent.mjs');
const GUILD = '200000000000000001';
const C1 = '300000000000000001'; // routed to coder
const C2 = '300000000000000002'; // smart dispatch
const C3 = '300000000000000003'; // smart dispatch
const alice = { id: '500000000000000001', username: 'alice' };
const bob = { id: '500000000000000002', username: 'bob' };
const ENV = { TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' };
const wait = { timeout: 30_000, interval: 100 };

const pool = daemonPool();
const fakes: FakeDiscord[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.stop();
});

interface Row {
  id: string;
  status: string;
  agent: string | null;
  route: string | null;
  source: string;
  session_key: string | null;
}

const taskOf = (d: DaemonHarness, messageId: string) => d.query<Row>(`SELECT * FROM tasks WHERE source = 'discord' AND json_extract(origin, '$.messageId') = ?`, messageId)[0];
const routeOf = (t: Row | undefined) => JSON.parse(t?.route ?? 'null') as Record<string, unknown> | null;

describe('Discord through smart dispatch', () => {
  it('unrouted channels are routed by the engine (keyword, binding, classifier); a routed channel keeps its agent', async () => {
    const fake = await FakeDiscord.start({
      guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }, { id: C2, name: 'two' }, { id: C3, name: 'three' }] }],
      heartbeatIntervalMs: 1000,
    });
    fakes.push(fake);
    const d = await DaemonHarness.create({
      defaultProvider: 'rf',
      defaultAgent: 'lead',
      providers: { rf: { type: 'command', path: process.execPath, args: [ROUTE_AGENT] } },
      agents: {
        lead: { provider: 'rf', description: 'Plans and reviews', keywords: ['plan'] },
        coder: { provider: 'rf', keywords: ['fix', 'bug'] },
        writer: { provider: 'rf', description: 'Writes prose', keywords: ['essay'] },
      },
      smartDispatch: { enabled: true, coordinator: 'lead', bindings: [{ channel: 'discord', userId: bob.id, agent: 'writer' }] },
      discord: { enabled: true, botToken: 'test-token', guildID: GUILD, channelIDs: [C1, C2, C3], routes: { [C1]: { agent: 'coder' } }, apiBaseUrl: fake.apiBaseUrl, showProgress: false },
    });
    pool.track(d);
    await d.start({ env: ENV });
    await vi.waitFor(async () => expect((await d.json<{ connected: boolean }>('/api/discord/status')).body.connected).toBe(true), wait);
    await vi.waitFor(() => expect(d.query(`SELECT channel_id FROM discord_channels WHERE last_message_id IS NOT NULL`).length).toBeGreaterThanOrEqual(3), wait);

    // An unrouted channel: the agent's keyword.
    const kw = fake.post(C2, { content: 'fix the bug please', author: alice });
    // A routed channel: its route, whatever the words say.
    const routed = fake.post(C1, { content: 'write an essay', author: alice });
    // The classifier decides.
    const llm = fake.post(C3, { content: 'Compose a poem @@route=writer:high@@', author: alice });
    await vi.waitFor(() => expect([kw, routed, llm].every((m) => taskOf(d, m.id)?.status === 'succeeded')).toBe(true), wait);

    expect(taskOf(d, kw.id)).toMatchObject({ agent: 'coder', session_key: `discord:${C2}` });
    expect(routeOf(taskOf(d, kw.id))).toMatchObject({ method: 'keyword', confidence: 'medium' });
    expect(taskOf(d, routed.id)).toMatchObject({ agent: 'coder', route: null });
    expect(taskOf(d, llm.id)?.agent).toBe('writer');
    expect(routeOf(taskOf(d, llm.id))).toMatchObject({ method: 'llm', confidence: 'high' });
    const classifiers = d.query<Row & { parent_id: string }>(`SELECT * FROM tasks WHERE source = 'route'`);
    expect(classifiers.map((c) => [c.parent_id, c.agent, c.status])).toEqual([[taskOf(d, llm.id)?.id, 'lead', 'succeeded']]);
    // Each message is answered once in its channel.
    await vi.waitFor(() => {
      expect(fake.botMessages(C2).map((m) => m.content).join('\n')).toContain('ran fix the bug please');
      expect(fake.botMessages(C1).map((m) => m.content).join('\n')).toContain('ran write an essay');
      expect(fake.botMessages(C3).map((m) => m.content).join('\n')).toContain('ran Compose a poem');
    }, wait);

    // The chat in C2 is with coder: a keyword for writer sticks to coder; bob's binding to writer starts a new session.
    const sticky = fake.post(C2, { content: 'now an essay about it', author: alice });
    await vi.waitFor(() => expect(taskOf(d, sticky.id)?.status).toBe('succeeded'), wait);
    expect(taskOf(d, sticky.id)?.agent).toBe('coder');
    expect(routeOf(taskOf(d, sticky.id))).toMatchObject({ method: 'session' });
    const bound = fake.post(C2, { content: 'fix the essay', author: bob });
    await vi.waitFor(() => expect(taskOf(d, bound.id)?.status).toBe('succeeded'), wait);
    expect(taskOf(d, bound.id)?.agent).toBe('writer');
    expect(routeOf(taskOf(d, bound.id))).toMatchObject({ method: 'binding', newSession: true });
    const recovery = d.query<{ data: string }>(`SELECT data FROM task_events WHERE task_id = ? AND type = 'session_recovery'`, taskOf(d, bound.id)?.id);
    expect(recovery.map((r) => JSON.parse(r.data) as Record<string, unknown>)).toEqual([expect.objectContaining({ newSession: true })]);
  });
});
