/**
 * Inbound messages, the I/O part: a message (live from the gateway, replayed after a RESUME, or fetched
 * by the catch-up) is decided (inbound.ts), its text attachments fetched, and then ONE transaction records
 * its id (`discord_inbound`) with what it made — a task (plus the promise of a live status message), or a
 * command's reply in the outbox — and moves the channel's catch-up cursor. A message id already recorded
 * makes nothing: a replay, a catch-up and a live event of one message make one task.
 *
 * Messages of one channel are handled one after another in arrival order (attachment fetches included),
 * so their tasks are queued in that order; the engine's scheduler then runs one task per session key
 * (`discord:<channelId>`) at a time. Other channels go on in parallel.
 */
import type { Counter } from 'prom-client';
import type { ResolvedConfig } from '../../config/types.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import { isTetoraError, messageOf } from '../../errors.js';
import type { DiscordStore } from '../../store/discord.js';
import { runCommand, type CommandOutcome } from './commands.js';
import { channelMode, chooseAgent, compareSnowflakes, composePrompt, decide, smartDispatched, isTextAttachment, MAX_TEXT_ATTACHMENT, noAgentReply, sessionKeyOf, type InboundAttachment, type InboundMessage } from './inbound.js';
import { statusNonce } from './nonce.js';
import type { RouteHints } from '../../routing/tiers.js';
import { outboundPolicy, type OutboundPolicy } from '../../outbound/address.js';
import { outboundRequest } from '../../outbound/request.js';

export interface IntakeMetrics {
  inbound: Counter<'outcome'>;
  tasks: Counter<'channel_kind'>;
  commands: Counter<'command'>;
}

export interface IntakeDeps {
  engine: Engine;
  store: DiscordStore;
  config(): ResolvedConfig;
  log: Logger;
  botId(): string | undefined;
  metrics?: IntakeMetrics;
  now?: () => number;
  /** A row was added to a channel's outbox (a command's reply): the deliverer is told (discord-out's wake). */
  onOutbox?: (channelId: string) => void;
  /**
   * Whether handling a message of this channel may move its catch-up cursor now. index.ts answers no for a
   * live message until the channel's catch-up of this gateway session has finished: a crash in between
   * must leave the cursor before what was posted while the daemon was away. @default always
   */
  mayAdvance?: (channelId: string, via: string) => boolean;
  /** Reads an attachment under the config's `outboundHttp` policy. @default fetchText (10 s, at most 1 MB) */
  fetchText?: (a: InboundAttachment, policy: OutboundPolicy) => Promise<string>;
}

/** What a task comes from: a message, or a slash command (then `interactionId`: no message to reply to). */
export interface TaskSource extends Pick<InboundMessage, 'id' | 'channelId' | 'guildId' | 'parentChannelId' | 'isDM' | 'authorId'> {
  interactionId?: string;
  /** The channel is watched: the catch-up cursor moves past this message. */
  watched?: boolean;
}

export type IntakeResult = 'duplicate' | 'ignored' | 'task' | 'command' | 'deferred';

export class Intake {
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #now: () => number;
  /** Per channel, the newest message handled while its cursor could not move (see `mayAdvance`). */
  readonly #held = new Map<string, string>();

  constructor(private readonly d: IntakeDeps) {
    this.#now = d.now ?? Date.now;
  }

  /** Move a channel's cursor past a handled message, or keep it for `release` while it may not move. */
  #seen(channelId: string, messageId: string, now: number, via: string): void {
    if (this.d.mayAdvance?.(channelId, via) ?? true) {
      this.d.store.markSeen(channelId, messageId, now);
      return;
    }
    const held = this.#held.get(channelId);
    if (!held || compareSnowflakes(held, messageId) < 0) this.#held.set(channelId, messageId);
  }

  /** The channel's catch-up has finished: its cursor moves past the live messages handled meanwhile. */
  release(channelId: string): void {
    const held = this.#held.get(channelId);
    this.#held.delete(channelId);
    if (held) this.d.store.markSeen(channelId, held, this.#now());
  }

  /** Handle a message after the earlier ones of its channel. Never throws (failures are logged). */
  handle(m: InboundMessage, via: 'live' | 'catchup'): Promise<IntakeResult> {
    const prev = this.#queues.get(m.channelId) ?? Promise.resolve();
    const next = prev.then(() => this.#handle(m, via)).catch((err: unknown): IntakeResult => {
      this.d.log.error({ err: messageOf(err), messageId: m.id, channelId: m.channelId }, 'discord: a message could not be handled; the catch-up tries it again at the next connect');
      return 'deferred';
    });
    this.#queues.set(m.channelId, next);
    void next.finally(() => {
      if (this.#queues.get(m.channelId) === next) this.#queues.delete(m.channelId);
    });
    return next;
  }

  /** Resolves when every message handed in so far is handled. */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.allSettled([...this.#queues.values()]);
  }

  async #handle(m: InboundMessage, via: 'live' | 'catchup'): Promise<IntakeResult> {
    const { store, engine, log } = this.d;
    const cfg = this.d.config();
    const dc = cfg.discord;
    const botId = this.d.botId();
    if (!dc || !botId) return 'deferred';
    if (store.inbound(m.id)) {
      this.d.metrics?.inbound.inc({ outcome: 'duplicate' });
      log.debug({ messageId: m.id, via }, 'discord: message already handled');
      return 'duplicate';
    }
    const decision = decide(m, dc, botId);
    const watched = channelMode(m, dc) !== 'none';
    const now = this.#now();
    if (decision.kind === 'ignore') {
      this.d.metrics?.inbound.inc({ outcome: 'ignored' });
      // The cursor of a watched channel moves past what it does not answer, so the catch-up skips it.
      if (watched && !m.isDM) this.#seen(m.channelId, m.id, now, via);
      log.debug({ messageId: m.id, channelId: m.channelId, reason: decision.reason }, 'discord: message ignored');
      return 'ignored';
    }
    const base = { messageId: m.id, channelId: m.channelId, guildId: m.guildId, authorId: m.authorId, receivedAt: now };
    const place = { channelId: m.channelId, parentChannelId: m.parentChannelId, messageId: m.id };
    let outcome: CommandOutcome;
    if (decision.kind === 'command') {
      this.d.metrics?.commands.inc({ command: decision.command.name });
      outcome = await runCommand(decision.command, place, { engine, store, config: this.d.config, log, now: this.#now });
    } else {
      const lock = store.channel(m.channelId)?.chatAgent ?? null;
      const agent = chooseAgent(m, dc.routes, lock, cfg.defaultAgent);
      if (smartDispatched(m, dc.routes, lock, cfg.smartDispatch?.enabled === true)) {
        // No agent: the engine routes it (bindings see the channel, user and guild; see enqueueTask).
        const prompt = composePrompt(decision.text, m.attachments, await this.#readAttachments(m.attachments));
        outcome = { kind: 'task', prompt, sessionKey: sessionKeyOf(m.channelId), note: 'smart dispatch' };
      } else if (!agent) outcome = { kind: 'reply', body: noAgentReply(m.channelId) };
      else {
        const prompt = composePrompt(decision.text, m.attachments, await this.#readAttachments(m.attachments));
        outcome = { kind: 'task', agent: agent.agent, prompt, sessionKey: sessionKeyOf(m.channelId), note: agent.how };
      }
    }
    if (store.inbound(m.id)) return 'duplicate'; // handled meanwhile (a command's await)
    if (outcome.kind === 'reply') {
      const body = outcome.body;
      engine.atomically(() => {
        if (!store.recordInbound({ ...base, kind: 'command' })) return;
        store.addOutbox({ key: `command:${m.id}`, channelId: m.channelId, kind: 'command', replyTo: m.id, body, at: now });
        if (watched && !m.isDM) this.#seen(m.channelId, m.id, now, via);
      });
      this.d.onOutbox?.(m.channelId);
      this.d.metrics?.inbound.inc({ outcome: 'command' });
      return 'command';
    }
    const r = this.enqueueTask({ ...m, watched }, outcome, via);
    return 'taskId' in r ? 'task' : 'command';
  }

  /**
   * Seam 1: the task of a message (or of a slash command) in ONE transaction with the message's inbound
   * record, the promise of its live status message and the channel's cursor. A request the engine refuses
   * (an agent a reload removed, a budget spent) is answered once through the outbox instead; a stopping
   * engine or a store that refuses writes records nothing (the catch-up tries again) and throws.
   */
  enqueueTask(src: TaskSource, t: Extract<CommandOutcome, { kind: 'task' }>, via: string): { taskId: string } | { error: string } {
    const { store, engine, log } = this.d;
    const dc = this.d.config().discord;
    const now = this.#now();
    const watched = src.watched === true && !src.isDM;
    const replyTo = src.interactionId ? null : src.id;
    const origin: Record<string, unknown> = { channelId: src.channelId, guildId: src.guildId, authorId: src.authorId };
    if (replyTo) origin.messageId = replyTo;
    if (src.interactionId) origin.interactionId = src.interactionId;
    if (src.parentChannelId) origin.parentChannelId = src.parentChannelId;
    const request: Record<string, unknown> = { prompt: t.prompt, idempotencyKey: `discord:${src.id}` };
    if (t.agent !== undefined) request.agent = t.agent;
    const routeHints: RouteHints = { channel: 'discord', channelId: src.channelId, userId: src.authorId };
    if (src.guildId) routeHints.guildId = src.guildId;
    if (t.sessionKey) request.sessionKey = t.sessionKey;
    const base = { messageId: src.id, channelId: src.channelId, guildId: src.guildId, authorId: src.authorId, receivedAt: now };
    let taskId = '';
    try {
      engine.atomically(() => {
        const { task } = engine.enqueue(request, { source: 'discord', origin, routeHints });
        taskId = task.id;
        if (!store.recordInbound({ ...base, kind: 'task', taskId: task.id })) return;
        if (dc?.showProgress) store.addStatus({ taskId: task.id, channelId: src.channelId, replyTo, nonce: statusNonce(task.id), at: now });
        if (watched) this.#seen(src.channelId, src.id, now, via);
      });
    } catch (err) {
      if (!isTetoraError(err) || err.code === 'TET_ERR_ENGINE_STOPPED' || err.status === 503) throw err;
      const body = `Could not start a task for this message: ${err.message}`;
      engine.atomically(() => {
        if (!store.recordInbound({ ...base, kind: 'command' })) return;
        if (!src.interactionId) store.addOutbox({ key: `command:${src.id}`, channelId: src.channelId, kind: 'command', replyTo, body, at: now });
        if (watched) this.#seen(src.channelId, src.id, now, via);
      });
      if (!src.interactionId) this.d.onOutbox?.(src.channelId);
      log.warn({ messageId: src.id, code: err.code, err: err.message }, 'discord: message refused by the engine; the user was told');
      return { error: body };
    }
    this.d.metrics?.inbound.inc({ outcome: 'task' });
    this.d.metrics?.tasks.inc({ channel_kind: src.isDM ? 'dm' : src.parentChannelId ? 'thread' : 'channel' });
    log.info({ messageId: src.id, channelId: src.channelId, taskId, agent: t.agent ?? engine.get(taskId)?.agent ?? null, how: t.note, via }, 'discord: message became a task');
    return { taskId };
  }

  /** Text attachments (text/*, ≤ 1 MB) read; failures say why (the prompt lists them instead). */
  async #readAttachments(list: InboundAttachment[]): Promise<Map<string, { text: string } | { error: string }>> {
    const out = new Map<string, { text: string } | { error: string }>();
    const policy = outboundPolicy(this.d.config().outboundHttp);
    for (const a of list) {
      if (!isTextAttachment(a)) continue;
      try {
        out.set(a.url, { text: await (this.d.fetchText ?? fetchText)(a, policy) });
      } catch (err) {
        out.set(a.url, { error: messageOf(err) });
      }
    }
    return out;
  }
}

/**
 * GET an attachment's URL as UTF-8 text (10 s, at most 1 MB whatever the size Discord declared). The URL
 * comes from the message, so it goes through the outbound guard like any user-given URL: the config's
 * `outboundHttp` decides where it may connect (never link-local or cloud-metadata addresses).
 */
export async function fetchText(a: InboundAttachment, policy: OutboundPolicy): Promise<string> {
  const res = await outboundRequest({
    method: 'GET',
    url: a.url,
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    // The config's maxResponseBytes applies too when it is the smaller (then its own error names it).
    ...(policy.maxResponseBytes > MAX_TEXT_ATTACHMENT ? { policy: { ...policy, maxResponseBytes: MAX_TEXT_ATTACHMENT }, limitNote: 'the most of a text attachment read into a prompt' } : { policy }),
  });
  if (!res.ok) throw new Error(res.error ?? `HTTP ${res.status}`);
  return res.body;
}
