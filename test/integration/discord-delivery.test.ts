import { afterEach, describe, expect, it, vi } from 'vitest';
import { openFenceAtEnd, splitMessage } from '../../src/channels/discord/chunk.js';
import { createDiscordDelivery, type DiscordDelivery } from '../../src/channels/discord/delivery.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Logger } from '../../src/engine/logger.js';
import { Harness, waitTerminal } from '../helpers/engine-harness.js';
import { discordTask } from '../helpers/discord-tasks.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

const alice = { id: '5001', username: 'alice' };
const CHANNELS = ['3001', '3002', '3003', '3004', '3005', '3006', '3007', '3008'];

interface Setup {
  d: FakeDiscord;
  engine: Engine;
  out: DiscordDelivery;
  h: Harness;
  logs: Array<{ level: string; obj: object; msg?: string }>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(discord: Record<string, unknown> = {}): Promise<Setup> {
  const d = await FakeDiscord.start({ guilds: [{ id: '2001', name: 'lab', channels: CHANNELS.map((id) => ({ id, name: `c${id}` })) }] });
  cleanups.push(() => d.stop());
  const h = new Harness({
    discord: { enabled: true, botToken: 'test-token', apiBaseUrl: d.apiBaseUrl, channelIDs: CHANNELS, showProgress: false, sendRetry: { base: '50ms', cap: '200ms', maxAttempts: 4 }, ...discord },
  });
  const engine = h.engine();
  const logs: Setup['logs'] = [];
  const log: Logger = {
    info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logs.push({ level: 'error', obj, msg }),
    debug: () => {},
  };
  const out = createDiscordDelivery(engine, { config: () => engine.config.discord, log });
  await engine.start();
  out.start();
  cleanups.push(async () => {
    await out.stop();
    await engine.stop();
  });
  return { d, engine, out, h, logs };
}

/** A multi-line answer of about `n` characters (lines of 60). */
function answer(n: number, tag: string): string {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < n; i++) lines.push(`${tag} line ${String(i).padStart(4, '0')} ${'lorem ipsum dolor sit amet '.repeat(2)}`);
  return lines.join('\n');
}

describe('discord delivery (in-process engine, fake Discord)', () => {
  it('429 with the header, 429 with only the body, a global 429, 500 twice, a reset and a closed connection: exactly one copy of every chunk', async () => {
    const { d, engine, out, h } = await setup();
    d.script({ method: 'POST', channelId: '3001' }, [{ status: 429, retryAfterHeader: 1 }]);
    d.script({ method: 'POST', channelId: '3002' }, [{ status: 429, retryAfterBody: 2 }]);
    d.script({ method: 'POST', channelId: '3003' }, [{ pass: true }, { status: 429, retryAfterHeader: 1, global: true }]);
    d.script({ method: 'POST', channelId: '3004' }, [{ status: 500 }, { status: 500 }]);
    d.script({ method: 'POST', channelId: '3005' }, [{ pass: true }, { reset: true }]);
    d.script({ method: 'POST', channelId: '3006' }, [{ close: true }]);
    const chans = ['3001', '3002', '3003', '3004', '3005', '3006'];
    const texts = new Map(chans.map((c) => [c, answer(3500, `ch${c}`)]));
    const tasks = chans.map((c) => {
      const m = d.post(c, { content: 'question', author: alice });
      return discordTask(engine, { channelId: c, messageId: m.id, prompt: h.prompt({ out: texts.get(c) }) });
    });
    await waitTerminal(engine, tasks.map((t) => t.id));
    await vi.waitFor(() => expect(out.store.outboxCounts().pending).toBe(0), { timeout: 20_000, interval: 50 });
    for (const c of chans) {
      const msgs = d.botMessages(c);
      expect(msgs.length, `channel ${c}`).toBe(2);
      expect(msgs.map((m) => m.content).join('')).toBe(texts.get(c));
      expect(new Set(msgs.map((m) => m.nonce)).size).toBe(2);
      expect(msgs[0]?.replyTo).not.toBeNull();
      expect(msgs[1]?.replyTo).toBeNull();
      for (const m of msgs) expect(m.content.length).toBeLessThanOrEqual(2000);
    }
    const rows = new Map(chans.map((c) => [c, out.store.outboxList('sent').find((r) => r.channelId === c)]));
    // A 429 never counts as an attempt; 5xx and network errors do.
    expect(rows.get('3001')?.attempts).toBe(0);
    expect(rows.get('3002')?.attempts).toBe(0);
    expect(rows.get('3003')?.attempts).toBe(0);
    expect(rows.get('3004')?.attempts).toBe(2);
    expect(rows.get('3005')?.attempts).toBe(1);
    expect(rows.get('3006')?.attempts).toBe(1);
    // The body-only 429 was waited for: the resend came no sooner than retry_after (2 s, not the 1 s default).
    const posts = d.requests('POST', '/channels/3002/messages');
    expect(posts[0]?.answeredWith).toBe(429);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(1950);
    // Every resend carried the same nonce and enforce_nonce.
    for (const r of d.requests('POST', /\/channels\/\d+\/messages/)) {
      expect(r.body?.enforce_nonce).toBe(true);
      expect(typeof r.body?.nonce).toBe('string');
    }
    expect(out.stats.retries).toMatchObject({ rate_limit: 2, rate_limit_global: 1, server_error: 2, network: 2 });
  }, 60_000);

  it('a 403 ends in a dead letter with its reason while another channel’s replies still arrive', async () => {
    const { d, engine, out, h, logs } = await setup();
    d.script({ method: 'POST', channelId: '3001' }, [{ status: 403, code: 50013, message: 'Missing Permissions' }]);
    const a = discordTask(engine, { channelId: '3001', prompt: h.prompt({ out: 'to the forbidden channel' }) });
    const b1 = discordTask(engine, { channelId: '3002', prompt: h.prompt({ out: 'first reply' }) });
    const b2 = discordTask(engine, { channelId: '3002', prompt: h.prompt({ out: 'second reply' }) });
    await waitTerminal(engine, [a.id, b1.id, b2.id]);
    await vi.waitFor(() => expect(d.botMessages('3002').map((m) => m.content)).toEqual(['first reply', 'second reply']), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(out.store.outboxCounts()).toEqual({ pending: 0, dead: 1 }), { timeout: 10_000, interval: 50 });
    const dead = out.store.outboxList('dead');
    expect(dead).toHaveLength(1);
    expect(dead[0]?.lastError).toMatch(/HTTP 403: Missing Permissions \(code 50013\)/);
    expect(d.botMessages('3001')).toHaveLength(0);
    expect(d.requests('POST', '/channels/3001/messages')).toHaveLength(1); // at once, no retries
    expect(logs.filter((l) => l.level === 'error' && l.msg?.includes('dead letter'))).toHaveLength(1);
    // Sent again once the permission is fixed.
    expect(out.store.outboxRetry(dead[0]!.id)).toBe(true);
    out.wake('3001');
    await vi.waitFor(() => expect(d.botMessages('3001').map((m) => m.content)).toEqual(['to the forbidden channel']), { timeout: 10_000, interval: 50 });
  }, 60_000);

  it('5xx until maxAttempts: a dead letter, one warning per failed attempt, one error', async () => {
    const { d, engine, out, h, logs } = await setup();
    d.script({ method: 'POST', channelId: '3001' }, [{ status: 502 }, { status: 502 }, { status: 502 }, { status: 502 }, { status: 502 }]);
    const t = discordTask(engine, { channelId: '3001', prompt: h.prompt({ out: 'never arrives' }) });
    await waitTerminal(engine, [t.id]);
    await vi.waitFor(() => expect(out.store.outboxCounts().dead).toBe(1), { timeout: 10_000, interval: 50 });
    expect(d.requests('POST', '/channels/3001/messages')).toHaveLength(4);
    expect(out.store.outboxList('dead')[0]).toMatchObject({ attempts: 4 });
    expect(out.store.outboxList('dead')[0]?.lastError).toMatch(/HTTP 502.*gave up after 4 attempts/);
    expect(logs.filter((l) => l.level === 'warn' && l.msg?.startsWith('discord: send failed'))).toHaveLength(3);
    expect(logs.filter((l) => l.level === 'error' && l.msg?.includes('dead letter'))).toHaveLength(1);
  }, 30_000);

  it('a 5,000-character answer with a fence across the cut, CJK and joined emoji: ≤ 3 messages that reassemble; 50,000 characters: one message and a file with all of it', async () => {
    const { d, engine, out, h } = await setup();
    const prose = Array.from({ length: 20 }, (_, i) => `第${i}行: 日本語と English mixed 👩‍💻 text, flag 🇫🇷 and é with accents.`).join('\n');
    const code = ['```ts', ...Array.from({ length: 50 }, (_, i) => `const value${i} = compute(${i}); // 計算 👨‍👩‍👧`), '```'].join('\n');
    let five = `${prose}\n\n${code}\n\n${prose}`;
    while (five.length < 5000) five += ' 🧑🏽‍🚀 end';
    const fifty = answer(50_000, 'big');
    const t1 = discordTask(engine, { channelId: '3001', prompt: h.prompt({ out: five }) });
    const t2 = discordTask(engine, { channelId: '3002', prompt: h.prompt({ out: fifty }) });
    await waitTerminal(engine, [t1.id, t2.id]);
    await vi.waitFor(() => expect(out.store.outboxCounts().pending).toBe(0), { timeout: 10_000, interval: 50 });
    const msgs = d.botMessages('3001');
    expect(msgs.length).toBeLessThanOrEqual(3);
    expect(msgs.length).toBeGreaterThan(1);
    for (const m of msgs) {
      expect(m.content.length).toBeLessThanOrEqual(2000);
      expect(openFenceAtEnd(m.content)).toBeNull();
    }
    // Reassembly: the plan's bodies are the messages minus the fence lines added at cuts.
    const chunks = out.store.chunks(out.store.outboxByKey(`reply:${t1.id}`)!.id);
    expect(chunks.map((c) => c.content)).toEqual(msgs.map((m) => m.content));
    // The messages are the chunker's pieces (prefix + body + suffix, the prefix and suffix being fence lines
    // it added at a cut); their bodies are the answer.
    const pieces = splitMessage(five);
    expect(msgs.map((m) => m.content)).toEqual(pieces.map((p) => p.content));
    expect(pieces.map((p) => p.body).join('')).toBe(five);
    expect(pieces.some((p) => p.prefix === '```ts\n')).toBe(true);
    const big = d.botMessages('3002');
    expect(big).toHaveLength(1);
    expect(big[0]?.content.length).toBeLessThanOrEqual(2000);
    expect(big[0]?.content).toContain(`${fifty.length.toLocaleString('en-US')} characters`);
    expect(big[0]?.attachments).toHaveLength(1);
    expect(big[0]?.attachments[0]?.filename).toBe(`answer-${t2.id.slice(0, 8)}.md`);
    expect(big[0]?.attachments[0]?.data.toString('utf8')).toBe(fifty);
    // The full text also stays at /api/tasks/:id (the task row).
    expect(engine.get(t2.id)?.output).toBe(fifty);
  }, 60_000);

  it('a live status message: created once replying to the user with a Cancel button, edited, then one summary line', async () => {
    const { d, engine, out, h } = await setup({ showProgress: true });
    const m = d.post('3001', { content: 'work', author: alice });
    const t = discordTask(engine, { channelId: '3001', messageId: m.id, status: true, prompt: h.prompt({ sleepMs: 2500, out: 'the result' }) });
    await waitTerminal(engine, [t.id]);
    await vi.waitFor(() => expect(out.store.status(t.id)?.final).toBe(1), { timeout: 10_000, interval: 50 });
    await vi.waitFor(() => expect(out.store.outboxCounts().pending).toBe(0), { timeout: 10_000, interval: 50 });
    const msgs = d.botMessages('3001');
    expect(msgs).toHaveLength(2); // the status message and the reply
    const status = msgs[0]!;
    expect(status.replyTo).toBe(m.id);
    expect(JSON.stringify(status.raw.components ?? status.components)).toBe('[]'); // the button goes with the summary
    expect(JSON.stringify(d.requests('POST', '/channels/3001/messages')[0]?.body?.components)).toContain(`tetora:cancel:${t.id}`);
    expect(status.content).toMatch(new RegExp(`^✅ succeeded · .* · \\$0\\.0000 · task ${t.id}$`));
    expect(status.edits.length).toBeGreaterThanOrEqual(1);
    expect(msgs[1]?.content).toBe('the result');
    expect(out.store.status(t.id)?.messageId).toBe(status.id);
  }, 30_000);

  it('reactions: one on accept, one at the end (success or failure)', async () => {
    const { d, engine, out, h } = await setup({ reactions: { enabled: true, emojis: { done: '🎉' } } });
    const ok = d.post('3001', { content: 'fine', author: alice });
    const bad = d.post('3001', { content: 'broken', author: alice });
    const t1 = discordTask(engine, { channelId: '3001', messageId: ok.id, prompt: h.prompt({ out: 'yes' }) });
    const t2 = discordTask(engine, { channelId: '3001', messageId: bad.id, prompt: h.prompt({ exit: 3, stderr: 'bad input', out: '' }) });
    await waitTerminal(engine, [t1.id, t2.id]);
    await vi.waitFor(() => expect(out.store.outboxCounts().pending).toBe(0), { timeout: 10_000, interval: 50 });
    const byId = new Map(d.messages('3001').map((m) => [m.id, m]));
    expect(byId.get(ok.id)?.reactions).toEqual(['👀', '🎉']);
    expect(byId.get(bad.id)?.reactions).toEqual(['👀', '❌']);
    expect(d.requests('PUT', /\/reactions\//)).toHaveLength(4);
    expect(d.botMessages('3001').map((m) => m.content)[0]).toBe('yes');
    expect(d.botMessages('3001')[1]?.content).toMatch(/^❌ The task failed \(/);
  }, 30_000);

  it('the reply and its chunk plan commit with the terminal state, before any delivery runs', async () => {
    const d = await FakeDiscord.start({ guilds: [{ id: '2001', name: 'lab', channels: [{ id: '3001', name: 'general' }] }] });
    cleanups.push(() => d.stop());
    const h = new Harness({ discord: { enabled: true, botToken: 'test-token', apiBaseUrl: d.apiBaseUrl, channelIDs: ['3001'], showProgress: false } });
    const engine = h.engine();
    const out = createDiscordDelivery(engine, { config: () => engine.config.discord, log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } });
    await engine.start(); // delivery not started: only the terminal hook is in place
    cleanups.push(async () => {
      await out.stop();
      await engine.stop();
    });
    const text = answer(4500, 'plan');
    const t = discordTask(engine, { channelId: '3001', prompt: h.prompt({ out: text }) });
    let seen: { status: string; row: boolean } | undefined;
    const off = engine.subscribe((e) => {
      if (e.taskId === t.id && e.type === 'succeeded') seen = { status: engine.get(t.id)!.status, row: out.store.outboxByKey(`reply:${t.id}`) !== undefined };
    });
    await waitTerminal(engine, [t.id]);
    off();
    expect(seen).toEqual({ status: 'succeeded', row: true });
    const row = out.store.outboxByKey(`reply:${t.id}`)!;
    expect(row).toMatchObject({ state: 'pending', body: text, kind: 'reply', channelId: '3001' });
    expect(out.store.chunks(row.id).map((c) => [c.content, c.nonce, c.messageId])).toEqual(splitMessage(text).map((p, i) => [p.content, `o${row.id}c${i}`, null]));
    expect(d.requests('POST', /messages/)).toHaveLength(0);
  }, 30_000);
});
