import { afterEach, describe, expect, it, vi } from 'vitest';
import { splitMessage } from '../../src/channels/discord/chunk.js';
import { statusNonce } from '../../src/channels/discord/nonce.js';
import { openDb } from '../../src/store/db.js';
import { DiscordStore } from '../../src/store/discord.js';
import { DaemonHarness } from '../helpers/daemon.js';
import { discordTask } from '../helpers/discord-tasks.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

const alice = { id: '5001', username: 'alice' };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(discord: Record<string, unknown> = {}): Promise<{ d: FakeDiscord; daemon: DaemonHarness }> {
  const d = await FakeDiscord.start({ guilds: [{ id: '2001', name: 'lab', channels: [{ id: '3001', name: 'general' }] }] });
  cleanups.push(() => d.stop());
  const daemon = await DaemonHarness.create({
    discord: { enabled: true, botToken: 'test-token', apiBaseUrl: d.apiBaseUrl, channelIDs: ['3001'], showProgress: false, sendRetry: { base: '50ms', cap: '200ms', maxAttempts: 5 }, ...discord },
  });
  cleanups.push(() => daemon.stop());
  return { d, daemon };
}

/** Records Discord tasks as inbound would, with no daemon running (it picks them up when it starts). */
async function queueTask(daemon: DaemonHarness, o: { channelId: string; messageId: string; out: string; sleepMs?: number; status?: boolean }): Promise<string> {
  const engine = daemon.engine();
  try {
    return discordTask(engine, { channelId: o.channelId, messageId: o.messageId, status: o.status ?? false, prompt: daemon.prompt({ out: o.out, ...(o.sleepMs ? { sleepMs: o.sleepMs } : {}) }) }).id;
  } finally {
    await engine.stop();
  }
}

/** The store as a crashed daemon left it (read-only). */
function storeOf(daemon: DaemonHarness): DiscordStore {
  return new DiscordStore(openDb(daemon.config().dbPath, { readonly: true }));
}

function longAnswer(n: number): string {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < n; i++) lines.push(`line ${String(i).padStart(4, '0')} of a long answer, ${'more words '.repeat(4)}`);
  return lines.join('\n');
}

describe('discord delivery with the real daemon: crashes and operations (fake Discord)', () => {
  it('SIGKILL after the first of three chunks is acknowledged (the second in flight): after a restart chunks two and three are posted once each', async () => {
    const { d, daemon } = await setup();
    const text = longAnswer(5500);
    expect(splitMessage(text)).toHaveLength(3);
    const m = d.post('3001', { content: 'explain', author: alice });
    const id = await queueTask(daemon, { channelId: '3001', messageId: m.id, out: text });
    // Chunk 1 answered; chunk 2 posted by "Discord" but its answer never comes back (in flight at the crash).
    d.script({ method: 'POST', channelId: '3001' }, [{ pass: true }, { hold: true, commit: true }]);
    await daemon.start();
    await vi.waitFor(() => expect(d.held).toHaveLength(1), { timeout: 20_000, interval: 50 });
    daemon.kill('SIGKILL');
    await daemon.exited();
    const before = storeOf(daemon);
    const row = before.outboxByKey(`reply:${id}`)!;
    expect(row.state).toBe('pending');
    expect(before.chunks(row.id).map((c) => c.messageId !== null)).toEqual([true, false, false]);
    before.db.close();

    await daemon.start();
    await vi.waitFor(() => expect(d.botMessages('3001')).toHaveLength(3), { timeout: 20_000, interval: 50 });
    await vi.waitFor(async () => expect((await daemon.json<{ rows: unknown[] }>('/api/discord/outbox?state=sent')).body.rows).toHaveLength(1), { timeout: 20_000, interval: 100 });
    const msgs = d.botMessages('3001');
    expect(msgs.map((x) => x.content)).toEqual(splitMessage(text).map((p) => p.content));
    expect(msgs.map((x) => x.nonce)).toEqual([`o${row.id}c0`, `o${row.id}c1`, `o${row.id}c2`]);
    // The chunk in flight was sent again with its nonce, and Discord returned the first message.
    expect(d.requests('POST', '/channels/3001/messages').filter((r) => r.body?.nonce === `o${row.id}c1`)).toHaveLength(2);
    expect(d.requests('POST', '/channels/3001/messages').filter((r) => r.body?.nonce === `o${row.id}c0`)).toHaveLength(1);
  }, 90_000);

  it('SIGKILL between the terminal commit and the first send: the reply arrives after a restart, once', async () => {
    const { d, daemon } = await setup();
    const m = d.post('3001', { content: 'hello?', author: alice });
    const id = await queueTask(daemon, { channelId: '3001', messageId: m.id, out: 'the answer' });
    d.script({ method: 'POST', channelId: '3001' }, [{ hold: true }]);
    await daemon.start();
    await vi.waitFor(() => expect(d.held).toHaveLength(1), { timeout: 20_000, interval: 50 });
    daemon.kill('SIGKILL');
    await daemon.exited();
    const s = storeOf(daemon);
    // The reply was committed with the task's terminal state, before anything was sent.
    expect(s.outboxByKey(`reply:${id}`)).toMatchObject({ state: 'pending', body: 'the answer', replyTo: m.id });
    s.db.close();
    expect(d.botMessages('3001')).toHaveLength(0);

    await daemon.start();
    await vi.waitFor(() => expect(d.botMessages('3001').map((x) => x.content)).toEqual(['the answer']), { timeout: 20_000, interval: 50 });
    expect(d.botMessages('3001')[0]?.replyTo).toBe(m.id);
  }, 90_000);

  it('SIGKILL during a running task: one status message, which says it resumes, and one reply at the end', async () => {
    const { d, daemon } = await setup({ showProgress: true });
    const m = d.post('3001', { content: 'long job', author: alice });
    const id = await queueTask(daemon, { channelId: '3001', messageId: m.id, out: 'job done', sleepMs: 7000, status: true });
    await daemon.start();
    // The status message exists and the task runs.
    await vi.waitFor(() => expect(d.botMessages('3001')).toHaveLength(1), { timeout: 20_000, interval: 50 });
    await vi.waitFor(async () => expect((await daemon.task(id)).status).toBe('running'), { timeout: 20_000, interval: 50 });
    daemon.kill('SIGKILL');
    await daemon.exited();

    await daemon.start();
    await daemon.waitTerminal([id], 60_000);
    await vi.waitFor(() => expect(d.botMessages('3001')).toHaveLength(2), { timeout: 20_000, interval: 50 });
    const status = storeOf(daemon);
    await vi.waitFor(() => expect(status.status(id)?.final).toBe(1), { timeout: 20_000, interval: 100 });
    const [statusMsg, reply] = d.botMessages('3001');
    expect(statusMsg?.nonce).toBe(statusNonce(id));
    expect(statusMsg?.replyTo).toBe(m.id);
    expect(statusMsg?.edits.some((e) => String(e.content).includes('resuming after a daemon restart'))).toBe(true);
    expect(statusMsg?.content).toMatch(/^✅ succeeded .* task /);
    expect(reply?.content).toBe('job done');
    // No second status message, whatever was resent.
    expect(d.messages('3001').filter((x) => x.nonce === statusNonce(id))).toHaveLength(1);
    status.db.close();
  }, 120_000);

  it('operations: a dead letter in `tetora discord outbox --dead`, the API and /metrics; `outbox retry ID` sends it', async () => {
    const { d, daemon } = await setup();
    const m = d.post('3001', { content: 'q', author: alice });
    const id = await queueTask(daemon, { channelId: '3001', messageId: m.id, out: 'blocked reply' });
    d.script({ method: 'POST', channelId: '3001' }, [{ status: 403, code: 50013, message: 'Missing Permissions' }]);
    await daemon.start();
    await daemon.waitTerminal([id]);
    await vi.waitFor(async () => expect((await daemon.json<{ counts: { dead: number } }>('/api/discord/outbox?state=dead')).body.counts.dead).toBe(1), { timeout: 20_000, interval: 100 });
    const api = await daemon.json<{ rows: Array<{ id: number; key: string; lastError: string; state: string }> }>('/api/discord/outbox?state=dead');
    expect(api.body.rows).toHaveLength(1);
    expect(api.body.rows[0]).toMatchObject({ key: `reply:${id}`, state: 'dead' });
    expect(api.body.rows[0]?.lastError).toMatch(/HTTP 403: Missing Permissions/);
    const rowId = api.body.rows[0]!.id;

    const human = await daemon.cli(['discord', 'outbox', '--dead']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/0 pending, 1 dead/);
    expect(human.stdout).toContain(`reply:${id}`);
    expect(human.stdout).toMatch(/reason: HTTP 403: Missing Permissions/);
    const json = await daemon.cli(['discord', 'outbox', '--dead', '--json']);
    expect(JSON.parse(json.stdout).rows[0].id).toBe(rowId);

    const metrics = await (await daemon.fetch('/metrics')).text();
    expect(metrics).toMatch(/tetora_discord_dead_letters_total 1/);
    expect(metrics).toMatch(/tetora_discord_outbox\{state="dead"\} 1/);

    // A row that is not dead, or unknown: clear refusals.
    const notFound = await daemon.cli(['discord', 'outbox', 'retry', '99999']);
    expect(notFound.code).toBe(65);
    expect(notFound.stderr).toMatch(/no Discord outbox row has id 99999; list them with `tetora discord outbox --dead`/);

    const retry = await daemon.cli(['discord', 'outbox', 'retry', String(rowId)]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(/pending again; it is being sent/);
    await vi.waitFor(() => expect(d.botMessages('3001').map((x) => x.content)).toEqual(['blocked reply']), { timeout: 20_000, interval: 50 });
    const again = await daemon.json('/api/discord/outbox/' + rowId + '/retry', { method: 'POST' });
    expect(again.status).toBe(409);
    const after = await (await daemon.fetch('/metrics')).text();
    expect(after).toMatch(/tetora_discord_chunks_sent_total 1/);
    expect(after).toMatch(/tetora_discord_replies_sent_total 1/);
  }, 90_000);
});
