import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway } from './gateway.js';
import { Faults, matches, scriptedAnswer, type ReceivedRequest, type RequestMatcher, type RouteResult, type ScriptedResponse } from './faults.js';
import { parseBody, readRaw, sendJson, type ReceivedFile } from './http.js';
import {
  apiAttachment,
  apiChannel,
  apiGuildCreate,
  apiUser,
  compareSnowflakes,
  errorBody,
  invalidFormBody,
  isThread,
  snowflake,
  type ApiObject,
  type AttachmentRecord,
  type ChannelRecord,
  type FakeChannelSpec,
  type FakeDmSpec,
  type FakeGuildSpec,
  type FakeUserSpec,
} from './shapes.js';
import { InteractionDesk, type FakeInteraction, type InteractionSpec } from './interactions.js';

export interface FakeDiscordOptions {
  /** The bot token REST (`Authorization: Bot <token>`) and IDENTIFY must carry. @default 'test-token' */
  token?: string;
  /** The bot user. @default {id: '100000000000000001', username: 'fakebot'} */
  bot?: { id: string; username: string };
  /** The application id (interactions, commands). @default the bot's id */
  applicationId?: string;
  guilds?: FakeGuildSpec[];
  /** DM channels (type 1) with the user on the other side. */
  dms?: FakeDmSpec[];
  /** Users `GET /users/:id` knows besides the bot, DM recipients and the authors of posts. */
  users?: FakeUserSpec[];
  /** HELLO's heartbeat_interval. @default 1000 */
  heartbeatIntervalMs?: number;
  /** How long a nonce sent with `enforce_nonce` is remembered per channel. @default 300000 (Discord: "a few minutes") */
  nonceWindowMs?: number;
}

/** A message in a channel, user's or bot's. */
export interface FakeMessage {
  id: string;
  channelId: string;
  content: string;
  author: FakeUserSpec;
  nonce: string | number | null;
  attachments: AttachmentRecord[];
  components: unknown[];
  embeds: unknown[];
  /** The message this one replies to. */
  replyTo: string | null;
  flags: number;
  /** Every PATCH body applied to it, in order. */
  edits: Record<string, unknown>[];
  /** Emoji the bot reacted with (unicode or `name:id`). */
  reactions: string[];
  /** Discord's JSON for it, as REST and the gateway give it. */
  raw: ApiObject;
}

export interface PostOptions {
  content: string;
  author: FakeUserSpec;
  /** Adds the bot to `mentions` and, unless `content` has it, prefixes `<@botId> `. */
  mentionsBot?: boolean;
  /** `url` makes the attachment point elsewhere (the fake does not serve it), as a hostile message could. */
  attachments?: { filename: string; content: string | Buffer; contentType?: string; url?: string }[];
  replyTo?: string;
}

interface Held {
  entry: ReceivedRequest;
  res: ServerResponse;
  /** Runs the route (unless it already ran, for `commit`) and answers. */
  answer: () => void;
}

export type { ReceivedRequest, RequestMatcher, ScriptedResponse } from './faults.js';

const DEFAULT_BOT = { id: '100000000000000001', username: 'fakebot' };

/**
 * A fake Discord (REST v10 + gateway) on 127.0.0.1 for tests that drive the real discord.js. See README.md.
 */
export class FakeDiscord {
  token: string;
  readonly bot: FakeUserSpec;
  readonly applicationId: string;
  readonly gateway: FakeGateway;
  readonly received: ReceivedRequest[] = [];
  /** Bulk-overwritten application commands: key `global` or the guild id. */
  readonly commands = new Map<string, ApiObject[]>();
  /** POST /channels/:id/typing per channel. */
  readonly typing = new Map<string, number>();
  readonly #server: Server;
  readonly #guilds: { id: string; name: string }[];
  readonly #channels = new Map<string, ChannelRecord>();
  readonly #messages = new Map<string, FakeMessage[]>();
  readonly #nonces = new Map<string, Map<string, { messageId: string; at: number }>>();
  readonly #files = new Map<string, AttachmentRecord>();
  /** Every user the fake has seen (the bot, DM recipients, authors of posts, options.users). */
  readonly #users = new Map<string, FakeUserSpec>();
  readonly #faults = new Faults();
  readonly #held: Held[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #nonceWindowMs: number;
  readonly #interactions: InteractionDesk;
  #port = 0;

  private constructor(options: FakeDiscordOptions) {
    this.token = options.token ?? 'test-token';
    this.bot = { ...(options.bot ?? DEFAULT_BOT), bot: true };
    this.applicationId = options.applicationId ?? this.bot.id;
    this.#nonceWindowMs = options.nonceWindowMs ?? 300_000;
    this.#guilds = (options.guilds ?? []).map((g) => ({ id: g.id, name: g.name }));
    for (const g of options.guilds ?? []) for (const c of g.channels) this.#addChannelRecord(g.id, c);
    for (const u of [this.bot, ...(options.users ?? []), ...(options.dms ?? []).map((dm) => dm.user)]) this.#users.set(u.id, u);
    for (const dm of options.dms ?? []) {
      this.#channels.set(dm.id, { id: dm.id, name: '', type: 1, recipient: dm.user });
      this.#messages.set(dm.id, []);
    }
    this.gateway = new FakeGateway(
      {
        token: () => this.token,
        wsUrl: () => `ws://127.0.0.1:${this.#port}/gateway`,
        ready: () => ({
          user: apiUser(this.bot),
          applicationId: this.applicationId,
          guilds: this.#guilds.map((g) => this.#guildCreate(g)),
        }),
      },
      options.heartbeatIntervalMs ?? 1000,
    );
    this.#interactions = new InteractionDesk({
      applicationId: this.applicationId,
      channel: (id) => this.#channels.get(id),
      apiChannel: (c) => apiChannel(c, this.#lastMessageId(c.id)),
      message: (channelId, id) => this.#findMessage(channelId, id),
      createBotMessage: (channelId, body, extra) => this.#createMessage(channelId, this.bot, body, [], extra),
      editMessage: (m, body) => this.#applyEdit(m, body, []),
      deleteMessage: (m) => this.#deleteMessage(m),
      dispatch: (t, d) => this.gateway.dispatch(t, d),
    });
    this.#server = createServer((req, res) => {
      this.#onRequest(req, res).catch((err: Error) => {
        // A bug in the fake itself: say so loudly rather than hang the client.
        console.error('fake-discord: request handler failed', req.method, req.url, err);
        sendJson(res, 500, { message: `fake-discord bug: ${err.message}`, code: 0 });
      });
    });
    this.#server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname === '/gateway') this.gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const d = new FakeDiscord(options);
    await new Promise<void>((resolve, reject) => {
      d.#server.once('error', reject);
      d.#server.listen(0, '127.0.0.1', () => resolve());
    });
    d.#port = (d.#server.address() as AddressInfo).port;
    return d;
  }

  get port(): number {
    return this.#port;
  }

  /** What discord.js's `rest.api` (and Tetora's `discord.apiBaseUrl`) is set to. */
  get apiBaseUrl(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/gateway`;
  }

  /** Requests a `{hold}` script is keeping unanswered. */
  get held(): ReceivedRequest[] {
    return this.#held.map((h) => h.entry);
  }

  /** A user posts in a channel: stored, then dispatched as MESSAGE_CREATE (kept for RESUME when a socket is down). */
  post(channelId: string, options: PostOptions): FakeMessage {
    const channel = this.#channel(channelId);
    this.#users.set(options.author.id, options.author);
    let content = options.content;
    const mentions: ApiObject[] = [];
    if (options.mentionsBot) {
      if (!content.includes(`<@${this.bot.id}>`)) content = `<@${this.bot.id}> ${content}`;
      mentions.push(apiUser(this.bot));
    }
    const attachments = (options.attachments ?? []).map((a) => {
      const record = this.#storeFile(channelId, a.filename, a.contentType ?? guessType(a.filename), Buffer.from(a.content));
      return a.url ? { ...record, url: a.url } : record;
    });
    const body: Record<string, unknown> = { content };
    if (options.replyTo) body.message_reference = { message_id: options.replyTo };
    return this.#createMessage(channel.id, options.author, body, attachments, { mentions });
  }

  /** Everything in a channel (users' and the bot's messages, deleted ones gone), oldest first. */
  messages(channelId: string): FakeMessage[] {
    return [...(this.#messages.get(channelId) ?? [])];
  }

  /** The bot's messages in a channel, oldest first. */
  botMessages(channelId: string): FakeMessage[] {
    return this.messages(channelId).filter((m) => m.author.id === this.bot.id);
  }

  /** REST requests whose method and path (without /api/v10) match. */
  requests(method: string, path: string | RegExp): ReceivedRequest[] {
    return this.received.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** Answer the next requests matching `matcher` with `responses`, one each, in order; then normally again. */
  script(matcher: RequestMatcher, responses: ScriptedResponse[]): void {
    this.#faults.script(matcher, responses);
  }

  /** Answer the requests a `{hold}` script keeps (all, or those matching). */
  release(matcher?: RequestMatcher): void {
    for (const h of [...this.#held]) {
      if (matcher && !matches(matcher, h.entry)) continue;
      this.#held.splice(this.#held.indexOf(h), 1);
      h.answer();
    }
  }

  /** A Discord-like bucket on a channel's message writes (POST/PATCH/DELETE/PUT under /channels/:id/messages). */
  rateLimit(channelId: string, options: { limit: number; windowMs: number }): void {
    this.#faults.rateLimit(channelId, options);
  }

  /** Add a channel or thread at run time (CHANNEL_CREATE / THREAD_CREATE is dispatched). */
  addChannel(guildId: string, spec: FakeChannelSpec): void {
    const c = this.#addChannelRecord(guildId, spec);
    this.gateway.dispatch(isThread(c.type) ? 'THREAD_CREATE' : 'CHANNEL_CREATE', {
      ...apiChannel(c, null),
      ...(isThread(c.type) ? { newly_created: true } : {}),
    });
  }

  /** Dispatch an INTERACTION_CREATE (slash command or button); the record collects the bot's callbacks, edits and followups. */
  interaction(spec: InteractionSpec): FakeInteraction {
    return this.#interactions.create(spec);
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const h of this.#held.splice(0)) h.res.destroy();
    this.gateway.stop();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ── REST ────────────────────────────────────────────────────────────────────────────────────────

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readRaw(req).catch(() => Buffer.alloc(0));
    if (url.pathname.startsWith('/attachments/')) {
      const file = this.#files.get(url.pathname);
      if (!file) return sendJson(res, 404, errorBody(404, 0, '404: Not Found'));
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.data.length });
      res.end(file.data);
      return;
    }
    if (!url.pathname.startsWith('/api/v10/')) return sendJson(res, 404, errorBody(404, 0, '404: Not Found'));
    const parsed = await parseBody(raw, req.headers['content-type']);
    const entry: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname.slice('/api/v10'.length),
      query: Object.fromEntries(url.searchParams),
      body: parsed.json,
      files: parsed.files,
      headers: pickHeaders(req),
      at: Date.now(),
      answeredWith: null,
    };
    this.received.push(entry);
    const answer = (r: RouteResult) => {
      entry.answeredWith = res.destroyed ? 'unanswered' : r.status;
      sendJson(res, r.status, r.body, r.headers);
    };
    /** The route's answer (with the channel bucket's headers), or the bucket's 429. */
    const run = (): RouteResult => {
      const slot = this.#faults.take(entry);
      if (slot && 'limited' in slot) return slot.limited;
      const r = parsed.invalid ? { status: 400, body: { message: parsed.invalid, code: 50109 } } : this.#route(entry);
      return slot ? { ...r, headers: { ...slot.headers, ...r.headers } } : r;
    };

    const needsAuth = !/^\/(interactions|webhooks)\//.test(entry.path);
    if (needsAuth && entry.headers.authorization !== `Bot ${this.token}`) {
      return answer({ status: 401, body: errorBody(401) });
    }
    const scripted = this.#faults.next(entry);
    if (scripted && 'reset' in scripted) {
      entry.answeredWith = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (scripted && 'close' in scripted) {
      entry.answeredWith = 'closed';
      req.socket.destroy();
      return;
    }
    if (scripted && 'hold' in scripted) {
      entry.answeredWith = 'held';
      const early = scripted.commit ? run() : null;
      this.#held.push({ entry, res, answer: () => answer(early ?? run()) });
      return;
    }
    if (scripted && 'delayMs' in scripted) await this.#sleep(scripted.delayMs);
    if (scripted && 'status' in scripted) return answer(scriptedAnswer(scripted));
    answer(run());
  }

  #route(e: ReceivedRequest): RouteResult {
    const p = e.path.split('/').slice(1).map(decodeURIComponent);
    const is = (method: string, pattern: string) =>
      e.method === method && pattern.split('/').slice(1).length === p.length && pattern.split('/').slice(1).every((s, i) => s.startsWith(':') || s === p[i]);
    const body = e.body ?? {};

    if (is('GET', '/gateway/bot')) {
      return { status: 200, body: { url: this.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } } };
    }
    if (is('GET', '/gateway')) return { status: 200, body: { url: this.gatewayUrl } };
    if (is('GET', '/users/@me')) return { status: 200, body: apiUser(this.bot) };
    if (is('POST', '/users/@me/channels')) return this.#openDm(String(body.recipient_id ?? ''));
    if (is('GET', '/users/:u')) {
      const user = this.#users.get(p[1]!);
      return user ? { status: 200, body: apiUser(user) } : { status: 404, body: errorBody(404, 10013, 'Unknown User') };
    }
    if (is('GET', '/applications/@me')) return { status: 200, body: { id: this.applicationId, name: this.bot.username, flags: 0, bot: apiUser(this.bot) } };
    if (p[0] === 'applications' && (is('PUT', '/applications/:a/commands') || is('PUT', '/applications/:a/guilds/:g/commands'))) {
      const key = p.length === 3 ? 'global' : p[3]!;
      const list = (Array.isArray(e.body) ? (e.body as ApiObject[]) : []).map((c) => ({
        id: snowflake(),
        application_id: this.applicationId,
        version: snowflake(),
        type: 1,
        ...(key === 'global' ? {} : { guild_id: key }),
        ...c,
      }));
      this.commands.set(key, list);
      return { status: 200, body: list };
    }
    if (p[0] === 'applications' && (is('GET', '/applications/:a/commands') || is('GET', '/applications/:a/guilds/:g/commands'))) {
      return { status: 200, body: this.commands.get(p.length === 3 ? 'global' : p[3]!) ?? [] };
    }
    if (p[0] === 'interactions' || p[0] === 'webhooks') return this.#interactions.route(e, p);

    if (p[0] !== 'channels' || !p[1]) return { status: 404, body: errorBody(404, 0, '404: Not Found') };
    const channel = this.#channels.get(p[1]);
    if (!channel) return { status: 404, body: errorBody(404, 10003) };
    if (is('GET', '/channels/:c')) return { status: 200, body: apiChannel(channel, this.#lastMessageId(channel.id)) };
    if (is('POST', '/channels/:c/typing')) {
      this.typing.set(channel.id, (this.typing.get(channel.id) ?? 0) + 1);
      return { status: 204 };
    }
    if (is('GET', '/channels/:c/messages')) return { status: 200, body: this.#history(channel.id, e.query) };
    if (is('POST', '/channels/:c/messages')) return this.#botPost(channel, body, e.files);
    const message = p[3] ? this.#findMessage(channel.id, p[3]) : undefined;
    if (!message) return { status: 404, body: errorBody(404, 10008, 'Unknown Message') };
    if (is('GET', '/channels/:c/messages/:m')) return { status: 200, body: message.raw };
    if (is('PATCH', '/channels/:c/messages/:m')) {
      if (message.author.id !== this.bot.id) return { status: 403, body: errorBody(403, 50005, 'Cannot edit a message authored by another user') };
      const invalid = validateContent(body);
      if (invalid) return { status: 400, body: invalid };
      return { status: 200, body: this.#applyEdit(message, body, e.files).raw };
    }
    if (is('DELETE', '/channels/:c/messages/:m')) {
      this.#deleteMessage(message);
      return { status: 204 };
    }
    if (is('PUT', '/channels/:c/messages/:m/reactions/:emoji/@me')) {
      if (!message.reactions.includes(p[5]!)) message.reactions.push(p[5]!);
      return { status: 204 };
    }
    if (is('DELETE', '/channels/:c/messages/:m/reactions/:emoji/@me')) {
      message.reactions = message.reactions.filter((r) => r !== p[5]);
      return { status: 204 };
    }
    return { status: 405, body: errorBody(405) };
  }

  #botPost(channel: ChannelRecord, body: Record<string, unknown>, files: ReceivedFile[]): RouteResult {
    const invalid = validateContent(body);
    if (invalid) return { status: 400, body: invalid };
    const nonce = body.nonce;
    if (typeof nonce === 'string' && nonce.length > 25) {
      return { status: 400, body: invalidFormBody('nonce', 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.') };
    }
    const hasContent = typeof body.content === 'string' && body.content.length > 0;
    const hasOther = files.length > 0 || nonEmpty(body.embeds) || nonEmpty(body.components) || nonEmpty(body.sticker_ids) || body.poll;
    if (!hasContent && !hasOther) return { status: 400, body: errorBody(400, 50006, 'Cannot send an empty message') };
    const seen = this.#nonces.get(channel.id) ?? new Map<string, { messageId: string; at: number }>();
    this.#nonces.set(channel.id, seen);
    if (nonce !== undefined && nonce !== null && body.enforce_nonce === true) {
      const first = seen.get(String(nonce));
      const firstMessage = first && Date.now() - first.at < this.#nonceWindowMs ? this.#findMessage(channel.id, first.messageId) : undefined;
      if (firstMessage) return { status: 200, body: firstMessage.raw };
    }
    const ref = body.message_reference as { message_id?: string; fail_if_not_exists?: boolean } | undefined;
    if (ref?.message_id && !this.#findMessage(channel.id, ref.message_id) && ref.fail_if_not_exists !== false) {
      return { status: 400, body: invalidFormBody('message_reference', 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message') };
    }
    const attachments = files.map((f) => this.#storeFile(channel.id, f.name, f.contentType, f.data));
    const m = this.#createMessage(channel.id, this.bot, body, attachments);
    if (nonce !== undefined && nonce !== null) seen.set(String(nonce), { messageId: m.id, at: Date.now() });
    return { status: 200, body: m.raw };
  }

  /** POST /users/@me/channels: the DM channel with a known user (made on first use, as Discord does). */
  #openDm(recipientId: string): RouteResult {
    const user = this.#users.get(recipientId);
    if (!user || user.id === this.bot.id) return { status: 400, body: invalidFormBody('recipient_id', 'USER_NOT_FOUND', 'Unknown user') };
    let dm = [...this.#channels.values()].find((c) => c.type === 1 && c.recipient?.id === recipientId);
    if (!dm) {
      dm = { id: snowflake(), name: '', type: 1, recipient: user };
      this.#channels.set(dm.id, dm);
      this.#messages.set(dm.id, []);
    }
    return { status: 200, body: apiChannel(dm, this.#lastMessageId(dm.id)) };
  }

  // ── state ───────────────────────────────────────────────────────────────────────────────────────

  #addChannelRecord(guildId: string, c: FakeChannelSpec): ChannelRecord {
    const record: ChannelRecord = { id: c.id, name: c.name ?? `channel-${c.id}`, type: c.type ?? 0, guildId, ...(c.parentId ? { parentId: c.parentId } : {}) };
    this.#channels.set(c.id, record);
    if (!this.#messages.has(c.id)) this.#messages.set(c.id, []);
    return record;
  }

  #guildCreate(g: { id: string; name: string }): ApiObject {
    const channels = [...this.#channels.values()].filter((c) => c.guildId === g.id);
    return apiGuildCreate(g, channels, this.bot, (id) => this.#lastMessageId(id));
  }

  #channel(id: string): ChannelRecord {
    const c = this.#channels.get(id);
    if (!c) throw new Error(`fake-discord: no channel ${id}; declare it in FakeDiscord.start({guilds|dms}) or addChannel()`);
    return c;
  }

  #lastMessageId(channelId: string): string | null {
    return this.#messages.get(channelId)?.at(-1)?.id ?? null;
  }

  #findMessage(channelId: string, id: string): FakeMessage | undefined {
    return this.#messages.get(channelId)?.find((m) => m.id === id);
  }

  #history(channelId: string, query: Record<string, string>): ApiObject[] {
    const all = this.#messages.get(channelId) ?? [];
    const limit = Math.min(Math.max(Number(query.limit ?? 50) || 50, 1), 100);
    let picked: FakeMessage[];
    if (query.after) picked = all.filter((m) => compareSnowflakes(m.id, query.after!) > 0).slice(0, limit);
    else if (query.before) picked = all.filter((m) => compareSnowflakes(m.id, query.before!) < 0).slice(-limit);
    else picked = all.slice(-limit);
    return picked.reverse().map((m) => m.raw);
  }

  #storeFile(channelId: string, filename: string, contentType: string, data: Buffer): AttachmentRecord {
    const id = snowflake();
    const path = `/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
    const record = { id, filename, contentType, data, url: `http://127.0.0.1:${this.#port}${path}` };
    this.#files.set(path, record);
    return record;
  }

  #createMessage(
    channelId: string,
    author: FakeUserSpec,
    body: Record<string, unknown>,
    attachments: AttachmentRecord[],
    extra: ApiObject = {},
  ): FakeMessage {
    const channel = this.#channel(channelId);
    const ref = body.message_reference as { message_id?: string } | undefined;
    const referenced = ref?.message_id ? this.#findMessage(channelId, ref.message_id) : undefined;
    const id = snowflake();
    const raw: ApiObject = {
      id,
      channel_id: channelId,
      ...(channel.guildId ? { guild_id: channel.guildId } : {}),
      author: apiUser(author),
      content: typeof body.content === 'string' ? body.content : '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: attachments.map(apiAttachment),
      embeds: Array.isArray(body.embeds) ? body.embeds : [],
      components: Array.isArray(body.components) ? body.components : [],
      pinned: false,
      type: referenced ? 19 : 0,
      flags: typeof body.flags === 'number' ? body.flags : 0,
      ...(body.nonce !== undefined && body.nonce !== null ? { nonce: body.nonce } : {}),
      ...(referenced ? { message_reference: { type: 0, message_id: referenced.id, channel_id: channelId, guild_id: channel.guildId }, referenced_message: referenced.raw } : {}),
      ...extra,
    };
    const message: FakeMessage = {
      id,
      channelId,
      content: raw.content as string,
      author,
      nonce: (raw.nonce as string | number | undefined) ?? null,
      attachments,
      components: raw.components as unknown[],
      embeds: raw.embeds as unknown[],
      replyTo: referenced?.id ?? null,
      flags: raw.flags as number,
      edits: [],
      reactions: [],
      raw,
    };
    this.#messages.get(channelId)!.push(message);
    if ((message.flags & 64) === 0) {
      const member = channel.guildId ? { member: { roles: [], joined_at: raw.timestamp, deaf: false, mute: false, flags: 0 } } : {};
      this.gateway.dispatch('MESSAGE_CREATE', { ...raw, ...member, channel_type: channel.type });
    }
    return message;
  }

  #applyEdit(m: FakeMessage, body: Record<string, unknown>, files: ReceivedFile[]): FakeMessage {
    m.edits.push(body);
    if (typeof body.content === 'string') m.content = body.content;
    if (Array.isArray(body.components)) m.components = body.components;
    if (Array.isArray(body.embeds)) m.embeds = body.embeds;
    if (typeof body.flags === 'number') m.flags = (m.flags & ~128) | body.flags;
    else m.flags &= ~128;
    if (files.length > 0) m.attachments = [...m.attachments, ...files.map((f) => this.#storeFile(m.channelId, f.name, f.contentType, f.data))];
    m.raw = {
      ...m.raw,
      content: m.content,
      components: m.components,
      embeds: m.embeds,
      flags: m.flags,
      attachments: m.attachments.map(apiAttachment),
      edited_timestamp: new Date().toISOString(),
    };
    if ((m.flags & 64) === 0) this.gateway.dispatch('MESSAGE_UPDATE', m.raw);
    return m;
  }

  #deleteMessage(m: FakeMessage): void {
    const list = this.#messages.get(m.channelId)!;
    const i = list.indexOf(m);
    if (i >= 0) list.splice(i, 1);
    const channel = this.#channels.get(m.channelId);
    this.gateway.dispatch('MESSAGE_DELETE', { id: m.id, channel_id: m.channelId, ...(channel?.guildId ? { guild_id: channel.guildId } : {}) });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }
}

function validateContent(body: Record<string, unknown>): ApiObject | null {
  if (typeof body.content === 'string' && body.content.length > 2000) {
    return invalidFormBody('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  return null;
}

const nonEmpty = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

function pickHeaders(req: IncomingMessage): ReceivedRequest['headers'] {
  const out: ReceivedRequest['headers'] = {};
  for (const k of ['authorization', 'content-type', 'user-agent', 'x-audit-log-reason'] as const) {
    const v = req.headers[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function guessType(filename: string): string {
  if (/\.(md|markdown)$/i.test(filename)) return 'text/markdown; charset=utf-8';
  if (/\.txt$/i.test(filename)) return 'text/plain; charset=utf-8';
  if (/\.json$/i.test(filename)) return 'application/json';
  if (/\.png$/i.test(filename)) return 'image/png';
  return 'application/octet-stream';
}
