import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { FAKE_AGENT, intervals } from '../helpers/engine-harness.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

/**
 * The Discord bot's inbound side: the real daemon (child process) with the real discord.js against the fake
 * Discord (test/helpers/fake-discord), agents running the fake agent.
 */

const GUILD = '200000000000000001';
const C1 = '300000000000000001';
const C2 = '300000000000000002';
const C3 = '300000000000000003'; // mention only
const alice = { id: '500000000000000001', username: 'alice' };
const otherBot = { id: '600000000000000001', username: 'otherbot', bot: true };
const ENV = { TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' };

const pool = daemonPool();
const fakes: FakeDiscord[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.stop();
});

interface Row {
  id: string;
  status: string;
  origin: string;
  prompt: string;
  agent: string;
  session_key: string | null;
}

const tasksOf = (d: DaemonHarness, messageId: string) => d.query<Row>(`SELECT * FROM tasks WHERE source = 'discord' AND json_extract(origin, '$.messageId') = ?`, messageId);
const discordTasks = (d: DaemonHarness) => d.query<Row>(`SELECT * FROM tasks WHERE source = 'discord' ORDER BY seq`);
const outbox = (d: DaemonHarness) => d.query<{ key: string; channel_id: string; kind: string; body: string; reply_to: string | null }>(`SELECT * FROM discord_outbox ORDER BY id`);

async function boot(opts: { discord?: Record<string, unknown>; raw?: Record<string, unknown>; fake?: FakeDiscord } = {}): Promise<{ fake: FakeDiscord; d: DaemonHarness }> {
  const fake =
    opts.fake ??
    (await FakeDiscord.start({
      guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }, { id: C2, name: 'two' }, { id: C3, name: 'three' }] }],
      heartbeatIntervalMs: 1000,
    }));
  if (!opts.fake) fakes.push(fake);
  const d = await DaemonHarness.create({
    discord: {
      enabled: true,
      botToken: 'test-token',
      guildID: GUILD,
      channelIDs: [C1, C2],
      mentionChannelIDs: [C3],
      routes: { [C1]: { agent: 'a' }, [C2]: { agent: 'b' } },
      apiBaseUrl: fake.apiBaseUrl,
      ...opts.discord,
    },
    defaultAgent: 'a',
    ...opts.raw,
  });
  pool.track(d);
  await d.start({ env: ENV });
  return { fake, d };
}

async function connected(d: DaemonHarness): Promise<void> {
  await vi.waitFor(
    async () => {
      const s = await d.json<{ connected: boolean }>('/api/discord/status');
      expect(s.body.connected).toBe(true);
    },
    { timeout: 20_000, interval: 100 },
  );
}

/** The READY catch-up ran (every watched channel has a cursor). */
async function caughtUp(d: DaemonHarness, channels = [C1, C2, C3]): Promise<void> {
  await vi.waitFor(() => expect(d.query(`SELECT channel_id FROM discord_channels WHERE last_message_id IS NOT NULL`).length).toBeGreaterThanOrEqual(channels.length), { timeout: 20_000, interval: 100 });
}

const wait = { timeout: 30_000, interval: 100 };

describe('Discord inbound', () => {
  it('a message makes one task with its coordinates; the bot itself, another bot and an unmentioned message make nothing', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const own = fake.post(C1, { content: 'from the bot', author: fake.bot });
    const bot = fake.post(C1, { content: 'from a bot', author: otherBot });
    const quiet = fake.post(C3, { content: 'no mention here', author: alice });
    const m = fake.post(C1, { content: d.prompt({ out: 'hello back' }), author: alice });
    const mention = fake.post(C3, { content: d.prompt({ out: 'mentioned' }), author: alice, mentionsBot: true });
    await vi.waitFor(() => expect(discordTasks(d)).toHaveLength(2), wait);
    const [t] = tasksOf(d, m.id);
    expect(t).toMatchObject({ agent: 'a', session_key: `discord:${C1}` });
    expect(JSON.parse(t!.origin)).toEqual({ channelId: C1, guildId: GUILD, messageId: m.id, authorId: alice.id });
    const [tm] = tasksOf(d, mention.id);
    // The mention is stripped: the fake agent parses the prompt as JSON.
    expect(tm!.prompt.startsWith('{')).toBe(true);
    await d.waitTerminal([t!.id, tm!.id]);
    expect((await d.task(t!.id)).output).toBe('hello back');
    for (const x of [own, bot, quiet]) expect(tasksOf(d, x.id)).toHaveLength(0);
    const inbound = d.query<{ message_id: string; kind: string; task_id: string }>(`SELECT * FROM discord_inbound ORDER BY length(message_id), message_id`);
    expect(inbound.map((r) => [r.message_id, r.kind])).toEqual([
      [m.id, 'task'],
      [mention.id, 'task'],
    ]);
    // showProgress (default): one live status message promised per task, replying to the message.
    expect(d.query(`SELECT task_id, channel_id, reply_to FROM discord_status WHERE task_id = ?`, t!.id)).toEqual([{ task_id: t!.id, channel_id: C1, reply_to: m.id }]);
    const metrics = await (await d.fetch('/metrics')).text();
    expect(metrics).toMatch(/tetora_discord_tasks_total\{channel_kind="channel"\} 2/);
    // The three above, plus the bot's own status messages and replies as they come back through the gateway.
    expect(Number(/tetora_discord_inbound_messages_total\{outcome="ignored"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
  });

  it('op 7 then RESUME: a replayed message and one posted while the socket was down make one task each', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const m1 = fake.post(C1, { content: d.prompt({ out: 'one' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, m1.id)).toHaveLength(1), wait);
    const session = fake.gateway.sessions.find((s) => s.valid);
    const first = session?.events.find((e) => e.t === 'MESSAGE_CREATE' && (e.d as { id: string }).id === m1.id);
    expect(first).toBeDefined();
    fake.gateway.reconnect();
    await vi.waitFor(() => expect(fake.gateway.connected).toBe(0), wait);
    // While the socket is down: the same MESSAGE_CREATE again (a replay) and a new message; RESUME sends both.
    fake.gateway.dispatch('MESSAGE_CREATE', first!.d);
    const m2 = fake.post(C1, { content: d.prompt({ out: 'two' }), author: alice });
    await vi.waitFor(() => expect(fake.gateway.resumes).toBeGreaterThanOrEqual(1), wait);
    await vi.waitFor(() => expect(tasksOf(d, m2.id)).toHaveLength(1), wait);
    const sentinel = fake.post(C1, { content: d.prompt({ out: 'three' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, sentinel.id)).toHaveLength(1), wait);
    expect(tasksOf(d, m1.id)).toHaveLength(1);
    expect(discordTasks(d)).toHaveLength(3);
    expect(fake.gateway.identifies).toBe(1);
    const s = await d.json<{ resumes: number; readies: number }>('/api/discord/status');
    expect(s.body).toMatchObject({ readies: 1 });
    expect(s.body.resumes).toBeGreaterThanOrEqual(1);
  });

  it('messages posted while the daemon was stopped are answered once after it starts; a new channel\'s history is not', async () => {
    const fake = await FakeDiscord.start({ guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }, { id: C2, name: 'two' }, { id: C3, name: 'three' }] }], heartbeatIntervalMs: 1000 });
    fakes.push(fake);
    const history = fake.post(C1, { content: 'old history', author: alice });
    const { d } = await boot({ fake });
    await connected(d);
    await caughtUp(d);
    const live = fake.post(C1, { content: d.prompt({ out: 'live' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, live.id)).toHaveLength(1), wait);
    await d.waitTerminal(tasksOf(d, live.id).map((t) => t.id));
    d.kill('SIGTERM');
    await d.exited();
    // A clean stop is routine: the bot says it disconnects, without the warning of a duty lost while running.
    expect(d.hasLog('discord: disconnecting from the gateway')).toBe(true);
    expect(d.logs.filter((l) => Number(l.level) >= 40 && String(l.msg).startsWith('discord:')).map((l) => l.msg)).toEqual([]);
    const missed1 = fake.post(C1, { content: d.prompt({ out: 'missed 1' }), author: alice });
    const ignored = fake.post(C3, { content: 'no mention', author: alice });
    const missed2 = fake.post(C3, { content: d.prompt({ out: 'missed 2' }), author: alice, mentionsBot: true });
    const missed3 = fake.post(C1, { content: d.prompt({ out: 'missed 3' }), author: alice });
    await d.start({ env: ENV });
    await vi.waitFor(() => expect(discordTasks(d)).toHaveLength(4), wait);
    for (const m of [missed1, missed2, missed3]) expect(tasksOf(d, m.id)).toHaveLength(1);
    expect(tasksOf(d, history.id)).toHaveLength(0);
    expect(tasksOf(d, ignored.id)).toHaveLength(0);
    // Oldest first: the tasks of one channel are queued in the order of its messages.
    const c1 = discordTasks(d).filter((t) => JSON.parse(t.origin).channelId === C1).map((t) => JSON.parse(t.origin).messageId);
    expect(c1).toEqual([live.id, missed1.id, missed3.id]);
    // A second restart finds nothing new.
    d.kill('SIGTERM');
    await d.exited();
    await d.start({ env: ENV });
    await connected(d);
    const after = fake.post(C1, { content: d.prompt({ out: 'after' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, after.id)).toHaveLength(1), wait);
    expect(discordTasks(d)).toHaveLength(5);
  });

  it('!cancel cancels this channel\'s tasks only; unknown commands point to !help; no agent: a one-line reply', async () => {
    const { fake, d } = await boot({ raw: { defaultAgent: undefined }, discord: { channelIDs: [C1, C2, C3], mentionChannelIDs: [], routes: { [C1]: { agent: 'a' }, [C2]: { agent: 'b' } } } });
    await connected(d);
    await caughtUp(d);
    const long = { sleepMs: 60_000 };
    const a1 = fake.post(C1, { content: d.prompt(long), author: alice });
    const a2 = fake.post(C1, { content: d.prompt(long), author: alice });
    const b1 = fake.post(C2, { content: d.prompt(long), author: alice });
    await vi.waitFor(() => expect(d.log().filter((l) => l.event === 'start')).toHaveLength(2), wait);
    const cancel = fake.post(C1, { content: '!CANCEL', author: alice });
    const [ta1] = tasksOf(d, a1.id);
    const [ta2] = tasksOf(d, a2.id);
    const [tb1] = tasksOf(d, b1.id);
    await d.waitTerminal([ta1!.id, ta2!.id]);
    expect((await d.task(ta1!.id)).status).toBe('cancelled');
    expect((await d.task(ta2!.id)).status).toBe('cancelled');
    expect((await d.task(tb1!.id)).status).toBe('running');
    await vi.waitFor(() => expect(outbox(d).find((o) => o.key === `command:${cancel.id}`)).toBeDefined(), wait);
    expect(outbox(d).find((o) => o.key === `command:${cancel.id}`)).toMatchObject({ channel_id: C1, kind: 'command', reply_to: cancel.id, body: expect.stringMatching(/^Cancelled 2 task\(s\) of this channel/) });
    const unknown = fake.post(C2, { content: '!frobnicate', author: alice });
    const none = fake.post(C3, { content: 'anyone?', author: alice });
    const help = fake.post(C2, { content: '!help', author: alice });
    // Command replies only (the cancelled tasks' own replies are in the outbox too).
    await vi.waitFor(() => expect(outbox(d).filter((o) => o.kind === 'command')).toHaveLength(4), wait);
    const by = (id: string) => outbox(d).find((o) => o.key === `command:${id}`)?.body;
    expect(by(unknown.id)).toBe('Unknown command `!frobnicate`; `!help` lists the commands.');
    expect(by(none.id)).toMatch(/^No agent answers in this channel: set `discord.routes\["300000000000000003"\]`/);
    expect(by(help.id)).toContain('`!cancel`');
    expect(tasksOf(d, none.id)).toHaveLength(0);
    expect((await d.task(tb1!.id)).status).toBe('running');
  });

  it('the Cancel button cancels only its own task, and only from its channel', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const a = fake.post(C1, { content: d.prompt({ sleepMs: 60_000 }), author: alice });
    const b = fake.post(C2, { content: d.prompt({ sleepMs: 60_000 }), author: alice });
    await vi.waitFor(() => expect(d.log().filter((l) => l.event === 'start')).toHaveLength(2), wait);
    const [ta] = tasksOf(d, a.id);
    const [tb] = tasksOf(d, b.id);
    // The button rides on a message of its channel (the live status message, once delivered; here the user's).
    // Pressed in the other channel: refused.
    const wrong = fake.interaction({ kind: 'button', channelId: C2, user: alice, customId: `tetora:cancel:${ta!.id}`, messageId: b.id });
    await vi.waitFor(() => expect(wrong.edits).toHaveLength(1), wait);
    expect(wrong.callbacks[0]).toMatchObject({ type: 5 });
    expect(JSON.stringify(wrong.edits[0])).toContain('not one of this channel');
    expect((await d.task(ta!.id)).status).toBe('running');
    const press = fake.interaction({ kind: 'button', channelId: C1, user: alice, customId: `tetora:cancel:${ta!.id}`, messageId: a.id });
    await vi.waitFor(() => expect(press.edits).toHaveLength(1), wait);
    expect(press.callbacks[0]).toMatchObject({ type: 5 });
    expect(JSON.stringify(press.edits[0])).toContain('Cancelled task');
    expect((await d.task(ta!.id)).status).toBe('cancelled');
    expect((await d.task(tb!.id)).status).toBe('running');
  });

  it('three messages in one channel run in order, one at a time, while a second channel runs beside them', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const ms = [1, 2, 3].map((i) => fake.post(C1, { content: d.prompt({ sleepMs: 400, out: `c1-${i}` }), author: alice }));
    const other = fake.post(C2, { content: d.prompt({ sleepMs: 1500, out: 'c2' }), author: alice });
    await vi.waitFor(() => expect(discordTasks(d)).toHaveLength(4), wait);
    const ids = ms.map((m) => tasksOf(d, m.id)[0]!.id);
    const [otherId] = tasksOf(d, other.id).map((t) => t.id);
    await d.waitTerminal([...ids, otherId!]);
    const runs = intervals(d.log());
    const c1 = ids.map((id) => runs.find((r) => r.taskId === id)!);
    // In order, never overlapping: each starts after the previous one ended.
    for (let i = 1; i < c1.length; i++) expect(c1[i]!.start).toBeGreaterThanOrEqual(c1[i - 1]!.end!);
    const c2 = runs.find((r) => r.taskId === otherId)!;
    // The second channel ran beside the first: its run overlaps one of channel 1's.
    expect(c1.some((r) => r.start < c2.end! && c2.start < r.end!)).toBe(true);
    for (const [i, id] of ids.entries()) expect((await d.task(id)).output).toBe(`c1-${i + 1}`);
  });

  it('/ask from a slash command: deferred at once, then edited with the task; slash commands registered in the guild', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await vi.waitFor(() => expect(fake.commands.get(GUILD)?.map((c) => c.name)).toEqual(['ask', 'status', 'cancel', 'new', 'agents']), wait);
    const ask = fake.interaction({ kind: 'command', channelId: C1, user: alice, name: 'ask', options: { prompt: d.prompt({ out: 'asked' }) } });
    await vi.waitFor(() => expect(ask.edits).toHaveLength(1), wait);
    expect(ask.callbacks[0]).toMatchObject({ type: 5 });
    const [t] = d.query<Row>(`SELECT * FROM tasks WHERE json_extract(origin, '$.interactionId') = ?`, ask.id);
    expect(t).toMatchObject({ agent: 'a', session_key: null });
    expect(JSON.stringify(ask.edits[0])).toContain(t!.id);
    await d.waitTerminal([t!.id]);
    expect((await d.task(t!.id)).output).toBe('asked');
    const status = fake.interaction({ kind: 'command', channelId: C1, user: alice, name: 'status' });
    await vi.waitFor(() => expect(status.edits).toHaveLength(1), wait);
    expect(JSON.stringify(status.edits[0])).toContain('This channel: agent **a** (route)');
  });

  it('a refused token: HTTP keeps serving, discord status says why, doctor fails the check with the fix', async () => {
    const { fake, d } = await boot({ discord: { botToken: 'wrong-token' } });
    await vi.waitFor(
      async () => {
        const s = await d.json<{ state: string; reason: string; fix: string; connected: boolean }>('/api/discord/status');
        expect(s.body).toMatchObject({ state: 'down', connected: false });
        expect(s.body.reason).toContain('Discord refused the bot token');
      },
      wait,
    );
    // One login attempt, not a loop.
    expect(fake.requests('GET', '/gateway/bot')).toHaveLength(1);
    const health = await d.json<{ status: string; discord: { connected: boolean; reason: string } }>('/api/health');
    expect(health.body.status).toBe('ok');
    expect(health.body.discord).toMatchObject({ connected: false });
    const r = await d.dispatch({ prompt: d.prompt({ out: 'still here' }), agent: 'a' });
    expect(r.status).toBe(202);
    await d.waitTerminal([r.body.tasks[0]!.id]);
    const cli = await d.cli(['discord', 'status']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('discord   down');
    expect(cli.stdout).toContain('why       Discord refused the bot token');
    const st = await d.cli(['status']);
    expect(st.stdout).toMatch(/discord  DOWN: Discord refused the bot token/);
    const doc = await d.cli(['doctor', '--json']);
    expect(doc.code).toBe(1);
    const check = (JSON.parse(doc.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string; fix: string }> }).checks.find((c) => c.name === 'discord token');
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('answered 401'), fix: expect.stringContaining('discord.botToken') });
    // The right token through SIGHUP: connects without a restart.
    const cfg = JSON.parse(readFileSync(d.configPath, 'utf8')) as { discord: Record<string, unknown> };
    d.writeConfig({ ...cfg, discord: { ...cfg.discord, botToken: 'test-token' } });
    d.kill('SIGHUP');
    await connected(d);
    const ok = await d.cli(['doctor', '--json']);
    expect((JSON.parse(ok.stdout) as { checks: Array<{ name: string; ok: boolean }> }).checks.find((c) => c.name === 'discord token')?.ok).toBe(true);
  });

  it('a provider change through SIGHUP: the channel\'s session is reset before running, with the reason; the gateway stays connected', async () => {
    const providers = {
      fake: { type: 'command', path: process.execPath, args: [FAKE_AGENT] },
      fake2: { type: 'command', path: process.execPath, args: [FAKE_AGENT] },
    };
    const { fake, d } = await boot({ raw: { providers } });
    await connected(d);
    await caughtUp(d);
    const m1 = fake.post(C1, { content: d.prompt({ out: 'first' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, m1.id)).toHaveLength(1), wait);
    await d.waitTerminal([tasksOf(d, m1.id)[0]!.id]);
    expect(d.query(`SELECT provider FROM provider_sessions WHERE session_key = ? AND status = 'active'`, `discord:${C1}`)).toEqual([{ provider: 'fake' }]);
    const cfg = JSON.parse(readFileSync(d.configPath, 'utf8')) as { agents: Record<string, Record<string, unknown>>; discord: Record<string, unknown> };
    // The same reload routes C2 to agent a: routes apply at the next message, without a reconnect.
    d.writeConfig({ ...cfg, agents: { ...cfg.agents, a: { provider: 'fake2' } }, discord: { ...cfg.discord, routes: { [C1]: { agent: 'a' }, [C2]: { agent: 'a' } } } });
    d.kill('SIGHUP');
    await vi.waitFor(() => expect(d.hasLog('discord: config reloaded')).toBe(true), wait);
    const m2 = fake.post(C1, { content: d.prompt({ out: 'second' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, m2.id)).toHaveLength(1), wait);
    const [t2] = tasksOf(d, m2.id);
    await d.waitTerminal([t2!.id]);
    expect((await d.task(t2!.id)).status).toBe('succeeded');
    const ev = d.query<{ data: string }>(`SELECT data FROM task_events WHERE task_id = ? AND type = 'session_recovery'`, t2!.id);
    expect(ev).toHaveLength(1);
    expect(JSON.parse(ev[0]!.data).reason).toBe('provider or model changed (fake/- → fake2/-)');
    expect(d.query(`SELECT provider, archive_reason FROM provider_sessions WHERE session_key = ? ORDER BY id`, `discord:${C1}`)).toEqual([
      { provider: 'fake', archive_reason: 'provider or model changed (fake/- → fake2/-)' },
      { provider: 'fake2', archive_reason: null },
    ]);
    await vi.waitFor(() => expect(d.hasLog(`discord: stale session for agent a in channel ${C1} (provider or model changed (fake/- → fake2/-)) — recovered`)).toBe(true), wait);
    await vi.waitFor(() => expect(fake.botMessages(C1).filter((b) => b.content.startsWith('second'))).toHaveLength(1), wait);
    expect(fake.botMessages(C1).find((b) => b.content.startsWith('second'))!.content).toContain('The earlier context of this channel was reset (provider or model changed (fake/- → fake2/-))');
    const routed = fake.post(C2, { content: d.prompt({ out: 'rerouted' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, routed.id)).toHaveLength(1), wait);
    expect(tasksOf(d, routed.id)[0]?.agent).toBe('a');
    // The reload kept the connection: one IDENTIFY, no RESUME.
    expect(fake.gateway.identifies).toBe(1);
    expect(fake.gateway.resumes).toBe(0);
  });
  it('a thread inherits its parent (route and watch) with a session of its own; DMs with allowDMs; text attachments are read into the prompt, never from a metadata address', async () => {
    const THREAD = '300000000000000009';
    const DM = '400000000000000001';
    const fake = await FakeDiscord.start({
      guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }, { id: C2, name: 'two' }, { id: C3, name: 'three' }, { id: THREAD, name: 'a-thread', type: 11, parentId: C2 }] }],
      dms: [{ id: DM, user: alice }],
      heartbeatIntervalMs: 1000,
    });
    fakes.push(fake);
    const { d } = await boot({ fake, discord: { allowDMs: true } });
    await connected(d);
    await caughtUp(d);
    const inThread = fake.post(THREAD, { content: d.prompt({ out: 'thread' }), author: alice });
    const dm = fake.post(DM, { content: d.prompt({ out: 'dm' }), author: alice });
    const withFiles = fake.post(C1, {
      content: d.prompt({ out: 'files' }),
      author: alice,
      attachments: [
        { filename: 'notes.txt', content: 'the notes\nline two', contentType: 'text/plain' },
        { filename: 'pic.png', content: Buffer.from([1, 2, 3]), contentType: 'image/png' },
        { filename: 'creds.txt', content: 'x', contentType: 'text/plain', url: 'http://169.254.169.254/latest/meta-data/iam/' },
      ],
    });
    await vi.waitFor(() => expect(discordTasks(d)).toHaveLength(3), wait);
    const [tt] = tasksOf(d, inThread.id);
    expect(tt).toMatchObject({ agent: 'b', session_key: `discord:${THREAD}` });
    expect(JSON.parse(tt!.origin)).toMatchObject({ channelId: THREAD, parentChannelId: C2 });
    const [td] = tasksOf(d, dm.id);
    expect(td).toMatchObject({ agent: 'a', session_key: `discord:${DM}` });
    expect(JSON.parse(td!.origin)).toMatchObject({ channelId: DM, guildId: null });
    const [tf] = tasksOf(d, withFiles.id);
    expect(tf!.prompt).toContain('--- attachment notes.txt ---\nthe notes\nline two\n--- end of notes.txt ---');
    expect(tf!.prompt).toMatch(/Attachments \(not included\):\n- pic\.png \(image\/png, 3 bytes\): http:\/\/127\.0\.0\.1:\d+\//);
    // An attachment URL goes through the outbound guard: a cloud metadata address is never asked.
    expect(tf!.prompt).toMatch(/- creds\.txt: http:\/\/169\.254\.169\.254\/\S+ \(could not be read: .*TET_ERR_OUTBOUND_REFUSED.*cloud metadata/);
    await d.waitTerminal([tt!.id, td!.id]);
    expect((await d.task(tt!.id)).output).toBe('thread');
    expect((await d.task(td!.id)).output).toBe('dm');
  });

  it('!new, !chat/!end, !retry, !ask, !agents and !status in a channel', async () => {
    const { fake, d } = await boot({ discord: { channelIDs: [C1, C2, C3], mentionChannelIDs: [], routes: { [C1]: { agent: 'a' } } } });
    await connected(d);
    await caughtUp(d);
    const say = async (channel: string, content: string) => {
      const m = fake.post(channel, { content, author: alice });
      await vi.waitFor(() => expect(d.query(`SELECT 1 FROM discord_inbound WHERE message_id = ?`, m.id)).toHaveLength(1), wait);
      return m;
    };
    const reply = (m: { id: string }) => outbox(d).find((o) => o.key === `command:${m.id}`)?.body;
    const first = await say(C1, d.prompt({ out: 'one' }));
    await d.waitTerminal(tasksOf(d, first.id).map((t) => t.id));
    expect(d.query(`SELECT 1 FROM provider_sessions WHERE session_key = ? AND status = 'active'`, `discord:${C1}`)).toHaveLength(1);
    expect(reply(await say(C1, '!new'))).toMatch(/^Started a fresh session/);
    expect(d.query(`SELECT archive_reason FROM provider_sessions WHERE session_key = ?`, `discord:${C1}`)).toEqual([{ archive_reason: 'a fresh session was asked for (!new)' }]);
    // C3 has no route: the default agent (a), then a !chat lock (b), released by !end.
    expect(reply(await say(C3, '!chat nobody'))).toBe('No agent `nobody` is configured; `!agents` lists them.');
    expect(reply(await say(C3, '!chat b'))).toBe('This channel now talks to **b**; `!end` releases it.');
    const locked = await say(C3, d.prompt({ out: 'locked' }));
    expect(tasksOf(d, locked.id)[0]?.agent).toBe('b');
    expect(reply(await say(C3, '!agents'))).toMatch(/- \*\*b\*\* \(fake\) ← answers here/);
    expect(reply(await say(C3, '!end'))).toMatch(/^Released \*\*b\*\*/);
    const unlocked = await say(C3, d.prompt({ out: 'default' }));
    expect(tasksOf(d, unlocked.id)[0]?.agent).toBe('a');
    // !retry: nothing to retry after a success; the last message failed: it runs again (same prompt and session).
    const fine = await say(C2, d.prompt({ out: 'fine' }));
    await d.waitTerminal(tasksOf(d, fine.id).map((t) => t.id));
    expect(reply(await say(C2, '!retry'))).toBe('Nothing to retry: the last message of this channel did not fail.');
    const failing = await say(C2, d.prompt({ exit: 3, stderr: 'boom' }));
    const [tfail] = tasksOf(d, failing.id);
    await d.waitTerminal([tfail!.id]);
    expect((await d.task(tfail!.id)).status).toBe('failed');
    const retry = await say(C2, '!retry');
    const [again] = d.query<Row>(`SELECT * FROM tasks WHERE idempotency_key = ?`, `discord:${retry.id}`);
    expect(again).toMatchObject({ prompt: tfail!.prompt, agent: tfail!.agent, session_key: `discord:${C2}` });
    await d.waitTerminal([again!.id]);
    expect(d.log().filter((l) => l.event === 'start' && l.taskId === again!.id).length).toBeGreaterThan(0);
    // !ask: one-shot, no session.
    const ask = await say(C1, `!ask ${d.prompt({ out: 'asked' })}`);
    const [asked] = d.query<Row>(`SELECT * FROM tasks WHERE idempotency_key = ?`, `discord:${ask.id}`);
    expect(asked).toMatchObject({ agent: 'a', session_key: null });
    expect(reply(await say(C1, '!status'))).toMatch(/^\*\*Tetora\*\* running: /);
    const metrics = await (await d.fetch('/metrics')).text();
    expect(metrics).toMatch(/tetora_discord_commands_total\{command="chat"\} 2/);
  });

  /**
   * A message posted while the daemon was stopped, then a start whose catch-up waits behind the held
   * slash-command registration (the daemon registers them first at READY), and a live message handled
   * meanwhile, which moved the channel's cursor before the fix.
   */
  async function liveBeforeCatchUp() {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    d.kill('SIGTERM');
    await d.exited();
    const missed = fake.post(C1, { content: d.prompt({ out: 'missed' }), author: alice });
    fake.script({ method: 'PUT', path: /\/commands$/ }, [{ hold: true }]);
    await d.start({ env: ENV });
    await vi.waitFor(() => expect(fake.held.length).toBe(1), wait);
    const live = fake.post(C1, { content: d.prompt({ out: 'live' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, live.id)).toHaveLength(1), wait);
    return { fake, d, missed, live };
  }

  it('a message handled live before its channel\'s catch-up ran does not make the catch-up skip what was posted while the daemon was down (found by npm run chaos)', async () => {
    const { fake, d, missed, live } = await liveBeforeCatchUp();
    fake.release();
    await vi.waitFor(() => expect(tasksOf(d, missed.id)).toHaveLength(1), wait);
    expect(tasksOf(d, live.id)).toHaveLength(1);
  });

  it('a message handled live before the catch-up ended, then a SIGKILL: the next start still answers what was posted while the daemon was down (found by npm run chaos)', async () => {
    const { fake, d, missed, live } = await liveBeforeCatchUp();
    d.kill('SIGKILL');
    await d.exited();
    fake.release();
    await d.start({ env: ENV });
    await vi.waitFor(() => expect(tasksOf(d, missed.id)).toHaveLength(1), wait);
    expect(tasksOf(d, live.id)).toHaveLength(1);
  });

  it('after a SIGKILL the restarted daemon takes the dead one\'s gateway lease at once, not when it expires, and answers what was missed', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const lease = () => d.query<{ owner: string; expires_at: number; acquired_at: number }>(`SELECT owner, expires_at, acquired_at FROM leases WHERE duty = 'discord:gateway'`)[0];
    const before = lease();
    expect(before).toBeDefined();
    d.kill('SIGKILL');
    await d.exited();
    const old = lease();
    expect(old?.owner).toBe(before?.owner);
    const missed = fake.post(C1, { content: d.prompt({ out: 'missed' }), author: alice });
    await d.start({ env: ENV });
    await connected(d);
    const now = lease();
    expect(now?.owner).not.toBe(old?.owner);
    // Taken before the dead daemon's lease would have expired (30 s after its last renewal).
    expect(now!.acquired_at).toBeLessThan(old!.expires_at);
    await vi.waitFor(() => expect(tasksOf(d, missed.id)).toHaveLength(1), wait);
  });

  it('op 9 (not resumable): discord.js identifies again, the READY catch-up answers what was missed once and nothing twice', async () => {
    const { fake, d } = await boot();
    await connected(d);
    await caughtUp(d);
    const before = fake.post(C1, { content: d.prompt({ out: 'before' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, before.id)).toHaveLength(1), wait);
    fake.gateway.invalidate(false);
    // Posted into the dead session: never replayed to the new one; the catch-up finds it.
    const during = fake.post(C1, { content: d.prompt({ out: 'during' }), author: alice });
    await vi.waitFor(() => expect(fake.gateway.identifies).toBe(2), wait);
    await vi.waitFor(() => expect(tasksOf(d, during.id)).toHaveLength(1), wait);
    const after = fake.post(C1, { content: d.prompt({ out: 'after' }), author: alice });
    await vi.waitFor(() => expect(tasksOf(d, after.id)).toHaveLength(1), wait);
    expect(tasksOf(d, before.id)).toHaveLength(1);
    expect(discordTasks(d)).toHaveLength(3);
  });
});
