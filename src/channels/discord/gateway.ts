/**
 * The gateway connection (discord.js 14). discord.js resumes by itself after drops, zombie connections
 * (no heartbeat ACK), op 7 RECONNECT and op 9 INVALID_SESSION; what it replays after a RESUME goes through
 * the same intake, whose inbound record makes a replayed message nothing. What this file adds: login with
 * a back-off that never loops hot (a refused token waits TOKEN_RETRY_MS or a SIGHUP; other failures back
 * off from 1 s to 5 min), the connection's state for `discord status`, and the hand-off of messages and
 * interactions.
 */
import { ChannelType, Client, Events, GatewayIntentBits, Partials, type Message } from 'discord.js';
import type { Logger } from '../../engine/logger.js';
import { messageOf } from '../../errors.js';
import type { InboundMessage } from './inbound.js';

/** How long a token Discord refused waits before the next try (a SIGHUP tries again at once). */
export const TOKEN_RETRY_MS = 5 * 60_000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60_000;

export type GatewayState = 'connecting' | 'connected' | 'reconnecting' | 'down' | 'stopped';

export interface GatewayStatus {
  state: GatewayState;
  /** Why it is not connected (or the last reason it dropped). */
  reason: string | null;
  /** What to do about it, when the user can do something. */
  fix: string | null;
  since: number;
  /** The next login attempt, when down. */
  retryAt: number | null;
  botUser: { id: string; username: string } | null;
  guild: { id: string; name: string | null } | null;
  /** Successful (re)connections: READY and RESUMED. */
  readies: number;
  resumes: number;
}

export interface GatewayOptions {
  token: string;
  apiBaseUrl: string;
  guildId?: string;
  log: Logger;
  /** READY (a fresh session): the catch-up and slash-command registration run here. */
  onReady(client: Client<true>): void | Promise<void>;
  onMessage(m: Message): void;
  onInteraction(i: unknown): void;
  now?: () => number;
}

/** The login failure that means the token is wrong, with the user's fix. Pure. */
export function loginFailure(err: unknown, apiBaseUrl: string): { reason: string; fix: string | null; retryMs: number | null; tokenRefused: boolean } {
  const code = (err as { code?: string } | undefined)?.code;
  const msg = messageOf(err);
  if (code === 'TokenInvalid' || /401|unauthori[sz]ed|invalid token/i.test(msg)) {
    return {
      reason: `Discord refused the bot token (${apiBaseUrl}/v10/gateway/bot answered 401: ${msg})`,
      fix: 'copy the token again from the Discord developer portal (Bot → Reset Token) into discord.botToken (or the $VAR it names), then `kill -HUP` the daemon; `tetora doctor` checks it',
      retryMs: TOKEN_RETRY_MS,
      tokenRefused: true,
    };
  }
  if (code === 'DisallowedIntents' || /disallowed intent/i.test(msg)) {
    return {
      reason: `Discord refused the intents (${msg})`,
      fix: 'enable the Message Content intent for the bot in the Discord developer portal (Bot → Privileged Gateway Intents), then `kill -HUP` the daemon',
      retryMs: TOKEN_RETRY_MS,
      tokenRefused: false,
    };
  }
  return { reason: `cannot reach Discord at ${apiBaseUrl}: ${msg}`, fix: 'check the network and discord.apiBaseUrl; the daemon keeps trying', retryMs: null, tokenRefused: false };
}

/** Exponential back-off, 1 s doubling up to 5 min. Pure. */
export function backoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
}

/** A discord.js Message as the intake reads it. */
export function fromMessage(msg: Message, botId: string): InboundMessage {
  const ch = msg.channel as Message['channel'] | null;
  const isThread = !!ch && typeof ch.isThread === 'function' && ch.isThread();
  const isDM = !msg.guildId || ch?.type === ChannelType.DM;
  return {
    id: msg.id,
    channelId: msg.channelId,
    guildId: msg.guildId ?? null,
    parentChannelId: isThread ? ((ch as { parentId?: string | null }).parentId ?? null) : null,
    isDM,
    authorId: msg.author.id,
    authorIsBot: msg.author.bot === true,
    content: msg.content ?? '',
    mentionsBot: msg.mentions.users.has(botId),
    attachments: [...msg.attachments.values()].map((a) => ({ name: a.name, url: a.url, contentType: a.contentType ?? null, size: a.size })),
    createdAt: msg.createdTimestamp,
  };
}

/** The gateway connection: one discord.js client at a time, re-made after a failed login. */
export class Gateway {
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = true;
  #gen = 0;
  readonly #now: () => number;
  #status: GatewayStatus;

  constructor(private o: GatewayOptions) {
    this.#now = o.now ?? Date.now;
    this.#status = { state: 'stopped', reason: 'not started', fix: null, since: this.#now(), retryAt: null, botUser: null, guild: null, readies: 0, resumes: 0 };
  }

  status(): GatewayStatus {
    return { ...this.#status };
  }

  get client(): Client | undefined {
    return this.#client;
  }

  #set(state: GatewayState, reason: string | null, fix: string | null = null, retryAt: number | null = null): void {
    if (this.#status.state !== state || this.#status.reason !== reason) this.#status.since = this.#now();
    this.#status = { ...this.#status, state, reason, fix, retryAt };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#connect();
  }

  /** A new token, API base or guild: a new connection. Otherwise (a retry asked for by SIGHUP) try at once when down. */
  update(o: Pick<GatewayOptions, 'token' | 'apiBaseUrl' | 'guildId'>): void {
    const changed = o.token !== this.o.token || o.apiBaseUrl !== this.o.apiBaseUrl;
    this.o = { ...this.o, ...o };
    if (this.#stopped) return;
    if (changed) {
      this.o.log.info({}, 'discord: the token or apiBaseUrl changed; reconnecting');
      void this.#restart();
    } else if (this.#status.state === 'down') {
      clearTimeout(this.#timer);
      this.#failures = 0;
      void this.#connect();
    }
  }

  async #restart(): Promise<void> {
    await this.#teardown();
    this.#failures = 0;
    if (!this.#stopped) void this.#connect();
  }

  async #teardown(): Promise<void> {
    this.#gen++;
    clearTimeout(this.#timer);
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.destroy().catch(() => {});
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#teardown();
    this.#set('stopped', 'the daemon stopped the connection');
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const gen = ++this.#gen;
    const { log } = this.o;
    this.#set('connecting', null);
    const fastIdentify = process.env.TETORA_DISCORD_TEST_FAST_IDENTIFY === '1';
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages, GatewayIntentBits.MessageContent],
      partials: [Partials.Channel],
      rest: { api: this.o.apiBaseUrl },
      // Tests only: discord.js waits 5 s between IDENTIFYs (Discord's limit); the fake has none.
      ...(fastIdentify ? { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }) } } : {}),
    } as ConstructorParameters<typeof Client>[0]);
    this.#client = client;
    const current = () => gen === this.#gen;
    // ClientReady fires once per client; a later READY (a new session after op 9 d:false or a failed
    // RESUME) is a ShardReady of a client already ready: the catch-up runs again, as nothing is replayed.
    const ready = (c: Client<true>) => {
      if (!current()) return;
      this.#failures = 0;
      const guild = this.o.guildId ? c.guilds.cache.get(this.o.guildId) : c.guilds.cache.first();
      this.#status = { ...this.#status, botUser: { id: c.user.id, username: c.user.username }, guild: guild ? { id: guild.id, name: guild.name ?? null } : this.o.guildId ? { id: this.o.guildId, name: null } : null, readies: this.#status.readies + 1 };
      this.#set('connected', null);
      log.info({ bot: c.user.username, botId: c.user.id, guilds: c.guilds.cache.size }, 'discord: connected (READY)');
      void Promise.resolve(this.o.onReady(c)).catch((err: unknown) => log.error({ err: messageOf(err) }, 'discord: the work after READY failed'));
    };
    client.once(Events.ClientReady, ready);
    client.on(Events.ShardReady, () => {
      if (client.isReady()) ready(client);
    });
    client.on(Events.ShardResume, () => {
      if (!current()) return;
      this.#status.resumes += 1;
      this.#set('connected', null);
      log.info({}, 'discord: session resumed (missed events are replayed)');
    });
    client.on(Events.ShardDisconnect, (ev) => {
      if (!current()) return;
      this.#set('reconnecting', `the gateway closed the connection (code ${ev.code})`);
      log.warn({ code: ev.code }, 'discord: gateway connection closed; discord.js reconnects');
    });
    client.on(Events.ShardReconnecting, () => {
      if (current() && this.#status.state === 'connected') this.#set('reconnecting', 'reconnecting to the gateway');
    });
    client.on(Events.Invalidated, () => {
      if (!current()) return;
      log.error({}, 'discord: the session was invalidated; logging in again');
      void this.#retry({ reason: 'the gateway invalidated the session', fix: null, retryMs: null, tokenRefused: false });
    });
    client.on(Events.Error, (err) => log.warn({ err: messageOf(err) }, 'discord: client error'));
    client.on(Events.MessageCreate, (m) => {
      if (current()) this.o.onMessage(m);
    });
    client.on(Events.InteractionCreate, (i) => {
      if (current()) this.o.onInteraction(i);
    });
    try {
      await client.login(this.o.token);
    } catch (err) {
      if (!current()) return;
      await this.#retry(loginFailure(err, this.o.apiBaseUrl));
    }
  }

  async #retry(f: ReturnType<typeof loginFailure>): Promise<void> {
    const gen = this.#gen;
    const c = this.#client;
    this.#client = undefined;
    this.#gen++;
    if (c) await c.destroy().catch(() => {});
    if (this.#stopped || gen + 1 !== this.#gen) return;
    this.#failures++;
    const wait = f.retryMs ?? backoffMs(this.#failures);
    const at = this.#now() + wait;
    this.#set('down', f.reason, f.fix, at);
    this.o.log.error({ reason: f.reason, fix: f.fix, retryInMs: wait }, `discord: not connected: ${f.reason}`);
    this.#timer = setTimeout(() => void this.#connect(), wait);
    this.#timer.unref();
  }
}
