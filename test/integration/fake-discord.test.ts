import { AttachmentBuilder, ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, Partials, type Message } from 'discord.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeDiscord } from '../helpers/fake-discord/index.js';

/**
 * The fake Discord (test/helpers/fake-discord) driven by the real discord.js 14 client: what later tests of
 * the daemon's Discord bot rely on.
 */

const GUILD = '200000000000000001';
const GENERAL = '300000000000000001';
const OTHER = '300000000000000002';
const THREAD = '300000000000000003';
const DM = '400000000000000001';
const alice = { id: '500000000000000001', username: 'alice' };

const open: { d?: FakeDiscord; clients: Client[] } = { clients: [] };

async function fake(): Promise<FakeDiscord> {
  open.d = await FakeDiscord.start({
    token: 'test-token',
    bot: { id: '100000000000000001', username: 'tetora' },
    guilds: [{ id: GUILD, name: 'lab', channels: [{ id: GENERAL, name: 'general' }, { id: OTHER, name: 'other' }, { id: THREAD, name: 'a-thread', type: 11, parentId: GENERAL }] }],
    dms: [{ id: DM, user: alice }],
    heartbeatIntervalMs: 1000,
  });
  return open.d;
}

/** A discord.js client against the fake, its received messages collected. */
async function connect(d: FakeDiscord, token = d.token): Promise<{ client: Client; seen: Message[] }> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    rest: { api: d.apiBaseUrl },
    ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) },
  });
  open.clients.push(client);
  const seen: Message[] = [];
  client.on(Events.MessageCreate, (m) => void seen.push(m));
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  return { client, seen };
}

async function textChannel(client: Client, id: string) {
  const channel = await client.channels.fetch(id);
  if (!channel?.isSendable()) throw new Error(`channel ${id} is not sendable`);
  return channel;
}

afterEach(async () => {
  for (const c of open.clients.splice(0)) await c.destroy();
  await open.d?.stop();
  open.d = undefined;
});

describe('fake Discord with the real discord.js', () => {
  it('logs in, delivers a message with its channel and guild resolved, and records the reply', async () => {
    const d = await fake();
    const { client, seen } = await connect(d);
    expect(client.user?.username).toBe('tetora');
    const posted = d.post(GENERAL, { content: 'hello bot', author: alice, mentionsBot: true });
    await vi.waitFor(() => expect(seen.map((m) => m.id)).toContain(posted.id));
    const m = seen.find((x) => x.id === posted.id)!;
    expect(m.content).toBe('<@100000000000000001> hello bot');
    expect(m.mentions.users.has(client.user!.id)).toBe(true);
    expect(m.channel.type === ChannelType.GuildText && m.channel.name).toBe('general');
    expect(m.guild?.name).toBe('lab');
    const reply = await m.reply('pong');
    expect(d.messages(GENERAL).map((x) => x.content)).toEqual([m.content, 'pong']);
    expect(d.messages(GENERAL)[1]).toMatchObject({ id: reply.id, replyTo: posted.id, author: { id: client.user!.id } });
    expect(d.requests('POST', `/channels/${GENERAL}/messages`)[0]?.body).toMatchObject({ content: 'pong', message_reference: { message_id: posted.id } });
  });

  it('delivers a DM (type 1 channel, no guild) and takes the answer in the DM', async () => {
    const d = await fake();
    const { seen } = await connect(d);
    const posted = d.post(DM, { content: 'psst', author: alice });
    await vi.waitFor(() => expect(seen.map((m) => m.id)).toContain(posted.id));
    const m = seen.find((x) => x.id === posted.id)!;
    expect(m.guildId).toBeNull();
    expect(m.channel.type).toBe(ChannelType.DM);
    if (!m.channel.isSendable()) throw new Error('the DM channel is not sendable');
    await m.channel.send('hi alice');
    expect(d.botMessages(DM).map((x) => x.content)).toEqual(['hi alice']);
  });

  it('op 7: the client resumes and the message posted while its socket was down is replayed once', async () => {
    const d = await fake();
    const { seen } = await connect(d);
    d.gateway.reconnect();
    await vi.waitFor(() => expect(d.gateway.connected).toBe(0));
    const missed = d.post(GENERAL, { content: 'while you were away', author: alice });
    await vi.waitFor(() => expect(seen.map((m) => m.id)).toContain(missed.id));
    expect(d.gateway.resumes).toBe(1);
    expect(d.gateway.identifies).toBe(1);
    expect(seen.filter((m) => m.id === missed.id)).toHaveLength(1);
  });

  it('op 9 resumable resumes on the same socket; op 9 not resumable makes a new session', async () => {
    const d = await fake();
    const { seen } = await connect(d);
    d.gateway.invalidate(true);
    await vi.waitFor(() => expect(d.gateway.resumes).toBe(1));
    d.gateway.invalidate(false);
    await vi.waitFor(() => expect(d.gateway.identifies).toBe(2));
    const after = d.post(GENERAL, { content: 'new session', author: alice });
    await vi.waitFor(() => expect(seen.map((m) => m.id)).toContain(after.id));
    expect(d.gateway.sessions.filter((s) => s.valid)).toHaveLength(1);
  });

  it('a repeated nonce with enforce_nonce returns the first message and posts nothing new', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const channel = await textChannel(client, GENERAL);
    const first = await channel.send({ content: 'chunk 1/3', nonce: 'o42c0', enforceNonce: true });
    const again = await channel.send({ content: 'chunk 1/3', nonce: 'o42c0', enforceNonce: true });
    expect(again.id).toBe(first.id);
    expect(d.botMessages(GENERAL)).toHaveLength(1);
    expect(d.requests('POST', `/channels/${GENERAL}/messages`).map((r) => r.answeredWith)).toEqual([200, 200]);
  });

  it('a 429 with Retry-After is retried by discord.js and ends in one message', async () => {
    const d = await fake();
    const { client } = await connect(d);
    d.script({ method: 'POST', channelId: GENERAL }, [{ status: 429, retryAfterHeader: 1 }]);
    await (await textChannel(client, GENERAL)).send('after the limit');
    expect(d.requests('POST', `/channels/${GENERAL}/messages`).map((r) => r.answeredWith)).toEqual([429, 200]);
    expect(d.botMessages(GENERAL).map((m) => m.content)).toEqual(['after the limit']);
  });

  it('a body-only 429 carries retry_after in the body and no Retry-After header; a global one says so', async () => {
    const d = await fake();
    d.script({ method: 'POST' }, [{ status: 429, retryAfterBody: 2.5 }, { status: 429, retryAfterHeader: 3, global: true }]);
    const post = () =>
      fetch(`${d.apiBaseUrl}/v10/channels/${GENERAL}/messages`, {
        method: 'POST',
        headers: { authorization: 'Bot test-token', 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'x' }),
      });
    const bodyOnly = await post();
    expect(bodyOnly.status).toBe(429);
    expect(bodyOnly.headers.get('retry-after')).toBeNull();
    expect(await bodyOnly.json()).toEqual({ message: 'You are being rate limited.', retry_after: 2.5, global: false });
    const global = await post();
    expect(global.headers.get('retry-after')).toBe('3');
    expect(global.headers.get('x-ratelimit-global')).toBe('true');
    expect(global.headers.get('x-ratelimit-scope')).toBe('global');
    expect(await global.json()).toMatchObject({ retry_after: 3, global: true });
    expect((await post()).status).toBe(200);
  });

  it('a channel bucket answers 429 with the X-RateLimit headers beyond its limit', async () => {
    const d = await fake();
    d.rateLimit(OTHER, { limit: 1, windowMs: 60_000 });
    const post = () =>
      fetch(`${d.apiBaseUrl}/v10/channels/${OTHER}/messages`, {
        method: 'POST',
        headers: { authorization: 'Bot test-token', 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'x' }),
      });
    const ok = await post();
    expect([ok.status, ok.headers.get('x-ratelimit-remaining')]).toEqual([200, '0']);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-bucket')).toBe(`fake-channel-${OTHER}`);
    expect(d.botMessages(OTHER)).toHaveLength(1);
  });

  it('a held request stays unanswered and unposted until release', async () => {
    const d = await fake();
    const { client } = await connect(d);
    d.script({ method: 'POST', channelId: GENERAL }, [{ hold: true }]);
    let settled = false;
    const sending = (await textChannel(client, GENERAL)).send('held').finally(() => void (settled = true));
    await vi.waitFor(() => expect(d.held).toHaveLength(1));
    expect(d.held[0]?.body).toMatchObject({ content: 'held' });
    expect(settled).toBe(false);
    expect(d.botMessages(GENERAL)).toHaveLength(0);
    d.release();
    const sent = await sending;
    expect(d.botMessages(GENERAL).map((m) => m.id)).toEqual([sent.id]);
    expect(d.requests('POST', `/channels/${GENERAL}/messages`)[0]?.answeredWith).toBe(200);
  });

  it('a wrong token fails login with TokenInvalid (GET /gateway/bot answered 401)', async () => {
    const d = await fake();
    await expect(connect(d, 'wrong-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    expect(d.requests('GET', '/gateway/bot')[0]?.answeredWith).toBe(401);
  });

  it('a multipart message with a file is recorded with the file and serves it at its URL', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const file = new AttachmentBuilder(Buffer.from('# The whole answer\n\nline 2\n'), { name: 'answer.md' });
    await (await textChannel(client, GENERAL)).send({ content: 'first chunk', files: [file] });
    const [req] = d.requests('POST', `/channels/${GENERAL}/messages`);
    expect(req?.headers['content-type']).toMatch(/^multipart\/form-data/);
    expect(req?.body).toMatchObject({ content: 'first chunk' });
    expect(req?.files.map((f) => [f.name, f.text])).toEqual([['answer.md', '# The whole answer\n\nline 2\n']]);
    const [stored] = d.botMessages(GENERAL);
    expect(await (await fetch(stored!.attachments[0]!.url)).text()).toBe('# The whole answer\n\nline 2\n');
  });

  it('refuses content over 2,000 characters and a nonce over 25 with Discord\'s 400 (code 50035)', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const channel = await textChannel(client, GENERAL);
    await expect(channel.send('x'.repeat(2001))).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(channel.send({ content: 'x', nonce: 'n'.repeat(26), enforceNonce: true })).rejects.toBeInstanceOf(DiscordAPIError);
    await channel.send('y'.repeat(2000));
    expect(d.botMessages(GENERAL).map((m) => m.content.length)).toEqual([2000]);
  });

  it('history is newest first after a given message', async () => {
    const d = await fake();
    const ids = ['one', 'two', 'three'].map((content) => d.post(GENERAL, { content, author: alice }).id);
    const res = await fetch(`${d.apiBaseUrl}/v10/channels/${GENERAL}/messages?after=${ids[0]}&limit=50`, { headers: { authorization: 'Bot test-token' } });
    expect(((await res.json()) as { content: string }[]).map((m) => m.content)).toEqual(['three', 'two']);
  });

  it('a slash command: deferred reply, then the edit, recorded on the interaction', async () => {
    const d = await fake();
    const { client } = await connect(d);
    client.on(Events.InteractionCreate, (i) => {
      if (!i.isChatInputCommand()) return;
      void i.deferReply().then(() => i.editReply(`you asked: ${i.options.getString('prompt')}`));
    });
    const it = d.interaction({ kind: 'command', channelId: GENERAL, user: alice, name: 'ask', options: { prompt: 'why' } });
    await vi.waitFor(() => expect(it.edits).toHaveLength(1));
    expect(it.callbacks).toMatchObject([{ type: 5 }]);
    expect(d.botMessages(GENERAL).map((m) => m.content)).toEqual(['you asked: why']);
  });

  it('a button: the click reaches the bot with its custom_id', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const status = await (await textChannel(client, GENERAL)).send({
      content: 'Working…',
      components: [{ type: 1, components: [{ type: 2, style: 4, label: 'Cancel', custom_id: 'cancel:t1' }] }],
    });
    client.on(Events.InteractionCreate, (i) => {
      if (i.isButton()) void i.update({ content: `cancelled by ${i.customId}`, components: [] });
    });
    const it = d.interaction({ kind: 'button', channelId: GENERAL, user: alice, customId: 'cancel:t1', messageId: status.id });
    await vi.waitFor(() => expect(it.callbacks).toHaveLength(1));
    expect(d.botMessages(GENERAL).map((m) => m.content)).toEqual(['cancelled by cancel:t1']);
  });

  it('delivers a message in a thread with its parent resolved', async () => {
    const d = await fake();
    const { seen } = await connect(d);
    const posted = d.post(THREAD, { content: 'in the thread', author: alice });
    await vi.waitFor(() => expect(seen.map((m) => m.id)).toContain(posted.id));
    const m = seen.find((x) => x.id === posted.id)!;
    expect(m.channel.isThread() && m.channel.parentId).toBe(GENERAL);
  });

  it('a zombie connection (no heartbeat ACK) is resumed by the client and ACKs resume after', async () => {
    const d = await fake();
    await connect(d);
    d.gateway.zombie = true;
    await vi.waitFor(() => expect(d.gateway.connected).toBe(0), { timeout: 10_000 });
    d.gateway.zombie = false;
    await vi.waitFor(() => expect(d.gateway.resumes).toBe(1), { timeout: 10_000 });
    expect(d.gateway.identifies).toBe(1);
  });

  it('500 twice then 200, and a reset connection, each end in one message through discord.js', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const channel = await textChannel(client, GENERAL);
    d.script({ method: 'POST', channelId: GENERAL }, [{ status: 500 }, { status: 500 }]);
    await channel.send('after two 500s');
    d.script({ method: 'POST', channelId: GENERAL }, [{ reset: true }]);
    await channel.send('after a reset');
    expect(d.requests('POST', `/channels/${GENERAL}/messages`).map((r) => r.answeredWith)).toEqual([500, 500, 200, 'reset', 200]);
    expect(d.botMessages(GENERAL).map((m) => m.content)).toEqual(['after two 500s', 'after a reset']);
  });

  it('hold with commit: the message exists though its answer never came; resending its nonce returns it', async () => {
    const d = await fake();
    d.script({ method: 'POST', channelId: GENERAL }, [{ hold: true, commit: true }]);
    const send = (signal?: AbortSignal) =>
      fetch(`${d.apiBaseUrl}/v10/channels/${GENERAL}/messages`, {
        method: 'POST',
        headers: { authorization: 'Bot test-token', 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'chunk 2/3', nonce: 'o7c1', enforce_nonce: true }),
        signal,
      });
    const abort = new AbortController();
    const lost = send(abort.signal).catch((err: Error) => err.name);
    await vi.waitFor(() => expect(d.held).toHaveLength(1));
    expect(d.botMessages(GENERAL).map((m) => m.content)).toEqual(['chunk 2/3']);
    abort.abort();
    expect(await lost).toBe('AbortError');
    const again = await send();
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(d.botMessages(GENERAL)[0]!.id);
    d.release();
    expect(d.botMessages(GENERAL)).toHaveLength(1);
    expect(d.received.map((r) => r.answeredWith)).toEqual(['unanswered', 200]);
  });

  it('a connection closed without an answer (FIN) is not retried by discord.js: the send fails, nothing is posted', async () => {
    const d = await fake();
    const { client } = await connect(d);
    d.script({ method: 'POST', channelId: GENERAL }, [{ close: true }]);
    await expect((await textChannel(client, GENERAL)).send('lost')).rejects.toThrow(/other side closed/);
    expect(d.requests('POST', `/channels/${GENERAL}/messages`).map((r) => r.answeredWith)).toEqual(['closed']);
    expect(d.botMessages(GENERAL)).toHaveLength(0);
  });

  it('the bot opens a DM with a user it has seen and writes there', async () => {
    const d = await fake();
    const { client } = await connect(d);
    const bob = { id: '500000000000000002', username: 'bob' };
    d.post(GENERAL, { content: 'hi', author: bob });
    const user = await client.users.fetch(bob.id);
    const sent = await user.send('a private word');
    expect(d.botMessages(sent.channelId).map((m) => m.content)).toEqual(['a private word']);
    expect(d.requests('POST', '/users/@me/channels')[0]?.body).toEqual({ recipient_id: bob.id });
  });
});
