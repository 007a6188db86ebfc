import { Counter, Gauge, type Registry } from 'prom-client';
import type { DiscordConfig } from '../../config/types.js';
import { DutyKeeper } from '../../duties/keeper.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import { DiscordStore } from '../../store/discord.js';
import { LeaseStore } from '../../store/leases.js';
import { chunkPlan, Deliverer, DeliveryStats, RateGate } from './deliver.js';
import { acceptEmoji, discordOrigin, replyHook } from './reply.js';
import { DiscordRest } from './rest.js';
import { StatusMessages } from './status-message.js';

/** The lease of the Discord outbox: one deliverer (every channel, each in its own loop) per store. */
export const DELIVERY_DUTY = 'discord:deliver';

export interface DiscordDelivery {
  readonly store: DiscordStore;
  readonly stats: DeliveryStats;
  /** Something new in a channel's outbox (a retried dead letter, a command reply). */
  wake(channelId: string): void;
  /** Start delivering once the `discord:deliver` lease is ours (call after engine.start()). */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Discord's outgoing side (contract seam 6). Created BEFORE engine.start(), so the reply of a task that the
 * boot reconciler ends (e.g. failed after too many interruptions) is written to the outbox too; `start()`
 * after it. Delivery only needs REST, so it runs whether or not the gateway is connected.
 */
export function createDiscordDelivery(engine: Engine, opts: { config: () => DiscordConfig | undefined; log: Logger; now?: () => number }): DiscordDelivery {
  const now = opts.now ?? Date.now;
  const store = new DiscordStore(engine.db);
  const cfg = (): DiscordConfig => {
    const c = opts.config();
    if (!c) throw new Error('the discord block disappeared from the config');
    return c;
  };
  // Node loads its fetch (undici) at the first call, which costs a few hundred ms on a busy machine: pay it
  // now, while the engine starts, instead of in front of the first reply.
  void fetch('data:,').catch(() => {});
  const rest = new DiscordRest({ apiBaseUrl: () => cfg().apiBaseUrl, token: () => cfg().botToken });
  const gate = new RateGate(now);
  const stats = new DeliveryStats();
  const deliverer = new Deliverer({ store, rest, config: cfg, log: opts.log, now, stats }, gate);
  const reactions = () => opts.config()?.reactions ?? { enabled: false, emojis: {} };
  const offHook = engine.onTerminal(
    replyHook(store, now, (ch) => deliverer.wake(ch), reactions, (row) => {
      if (store.chunks(row.id).length === 0) store.planChunks(row.id, chunkPlan(row, opts.config()?.maxChunks ?? 3));
    }),
  );
  // The reaction on accept: a message became a task (its first `queued` event carries the source). Keyed,
  // so a second sight of the event adds nothing.
  const offAccept = engine.subscribe((e) => {
    if (e.type !== 'queued' || e.data.source !== 'discord' || !reactions().enabled) return;
    const task = engine.get(e.taskId);
    const origin = task ? discordOrigin(task) : undefined;
    if (!task || !origin?.messageId) return;
    try {
      store.addOutbox({ key: `react:accept:${task.id}`, kind: 'notify', taskId: task.id, channelId: origin.channelId, replyTo: origin.messageId, body: acceptEmoji(reactions()), at: now() });
      deliverer.wake(origin.channelId);
    } catch (err) {
      opts.log.warn({ err: (err as Error).message, taskId: task.id }, 'discord: could not queue the accept reaction');
    }
  });
  const status = new StatusMessages({
    store,
    rest,
    gate,
    task: (id) => engine.get(id),
    events: (id) => engine.events(id),
    subscribe: (fn) => engine.subscribe(fn),
    queuePlace: (id) => store.queuePlace(id),
    log: opts.log,
    now,
  });
  const leases = new LeaseStore(engine.db);
  const keeper = new DutyKeeper({
    duty: DELIVERY_DUTY,
    owner: engine.instanceId,
    leases,
    log: opts.log,
    now,
    onGain: () => {
      opts.log.info({ duty: DELIVERY_DUTY }, 'discord: delivering the outbox');
      deliverer.start();
      if (cfg().showProgress) status.start();
    },
    onLose: async (reason, stopping) => {
      if (stopping) opts.log.info({ reason }, 'discord: stopped delivering the outbox');
      else opts.log.warn({ reason }, 'discord: stopped delivering the outbox');
      status.stop();
      await deliverer.stop();
    },
  });
  return {
    store,
    stats,
    wake: (ch) => deliverer.wake(ch),
    start() {
      // A lease left by a crashed instance (engine.start() recorded it stopped) would otherwise hold
      // delivery back until it expires.
      leases.releaseStopped(DELIVERY_DUTY);
      keeper.start();
    },
    async stop() {
      offHook();
      offAccept();
      await keeper.stop();
    },
  };
}

/** `/metrics`: replies and chunks sent, retries by reason, dead letters, outbox depth. */
export function registerDiscordMetrics(registry: Registry, d: Pick<DiscordDelivery, 'store' | 'stats'>): void {
  new Counter({
    name: 'tetora_discord_replies_sent_total',
    help: 'Discord outbox rows whose every chunk was acknowledged (since the daemon started).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(d.stats.replies);
    },
  });
  new Counter({
    name: 'tetora_discord_chunks_sent_total',
    help: 'Discord messages (chunks) acknowledged (since the daemon started).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(d.stats.chunks);
    },
  });
  new Counter({
    name: 'tetora_discord_send_retries_total',
    help: 'Discord sends to be repeated, by reason: rate_limit, rate_limit_global (waits, not attempts), server_error, timeout, network.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(d.stats.retries)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'tetora_discord_dead_letters_total',
    help: 'Discord outbox rows given up (dead letters) since the daemon started.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(d.stats.deadLetters);
    },
  });
  new Gauge({
    name: 'tetora_discord_outbox',
    help: 'Discord outbox rows by state: pending (the depth) and dead (letters waiting for a retry).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const c = d.store.outboxCounts();
      this.set({ state: 'pending' }, c.pending);
      this.set({ state: 'dead' }, c.dead);
    },
  });
}
