/**
 * The Discord bot's inbound side (`startDiscord`): the gateway connection held under the
 * `discord:gateway` lease (DESIGN §3), messages and interactions into tasks (intake.ts), the catch-up at
 * every READY, slash-command registration, the stale-session log, SIGHUP reload and the status for
 * `discord status`. The outbound side (outbox delivery, status messages) is `startDiscordDelivery`.
 */
import { Counter, type Registry } from 'prom-client';
import type { Client, Interaction, Message } from 'discord.js';
import { Routes } from 'discord.js';
import type { DiscordConfig, ResolvedConfig } from '../../config/types.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import { messageOf } from '../../errors.js';
import { DutyKeeper } from '../../duties/keeper.js';
import { DiscordStore } from '../../store/discord.js';
import { LeaseStore } from '../../store/leases.js';
import { catchUp, catchUpChannels } from './catchup.js';
import { fromMessage, Gateway } from './gateway.js';
import { Intake, type IntakeMetrics } from './intake.js';
import { onInteraction, slashCommands } from './interactions.js';
import { watchStaleSessions } from './sessions.js';
import { statusInfo, type DiscordStatusInfo } from './status-info.js';

export const GATEWAY_DUTY = 'discord:gateway';

export interface StartDiscordOptions {
  engine: Engine;
  config: ResolvedConfig;
  log: Logger;
  /** The daemon's Prometheus registry (src/http/metrics.ts): inbound messages, tasks made, commands. */
  registry?: Registry;
  now?: () => number;
  /** A command's reply was queued in a channel's outbox: wake its deliverer (discord-out's `wake`). */
  onOutbox?: (channelId: string) => void;
  /** Decide a waiting workflow human gate from its Discord buttons (the workflow runner's `decide`). */
  decideGate?: (runId: string, stepId: string, kind: 'approve' | 'reject', by: string) => void;
}

export interface DiscordHandle {
  status(): DiscordStatusInfo;
  /** SIGHUP: channels, routes and options apply at once, without dropping the connection; a new token reconnects. */
  reload(config: ResolvedConfig): void;
  stop(): Promise<void>;
  /** Tests and shutdown: every message handed in so far is handled. */
  idle(): Promise<void>;
}

function metricsOn(registry: Registry | undefined): IntakeMetrics | undefined {
  if (!registry) return undefined;
  // A reload that turns the bot off and on again finds its counters registered: they go on counting.
  const counter = (name: string, help: string, label: string) =>
    (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames: [label], registers: [registry] });
  return {
    inbound: counter('tetora_discord_inbound_messages_total', 'Discord messages received, by what they made (task, command, ignored, duplicate).', 'outcome') as Counter<'outcome'>,
    tasks: counter('tetora_discord_tasks_total', 'Tasks made from Discord messages and slash commands, by channel kind (channel, thread, dm).', 'channel_kind') as Counter<'channel_kind'>,
    commands: counter('tetora_discord_commands_total', 'Discord ! commands received, by command.', 'command') as Counter<'command'>,
  };
}

export function startDiscord(o: StartDiscordOptions): DiscordHandle {
  const { engine, log } = o;
  const now = o.now ?? Date.now;
  let config = o.config;
  const dc = (): DiscordConfig => config.discord as DiscordConfig;
  const store = new DiscordStore(engine.db);
  let botId: string | undefined;
  const metrics = metricsOn(o.registry);
  // The channels whose catch-up has finished in this gateway session. Until then a live message is handled
  // but does not move its channel's cursor: a crash before the catch-up ends must not skip what was posted
  // while the daemon was away (found by npm run chaos once a restarted daemon reconnected at once).
  const caughtUp = new Set<string>();
  const intake = new Intake({ engine, store, config: () => config, log, botId: () => botId, now, mayAdvance: (ch, via) => via === 'catchup' || caughtUp.has(ch), ...(metrics ? { metrics } : {}), ...(o.onOutbox ? { onOutbox: o.onOutbox } : {}) });
  /** What a catch-up of `client`'s session needs: the intake, and the end of each channel's catch-up. */
  const catchUpDeps = (client: Client<true>) => ({
    store,
    log,
    now,
    handle: (m: Message) => intake.handle(fromMessage(m, client.user.id), 'catchup'),
    done: (id: string) => {
      caughtUp.add(id);
      intake.release(id);
    },
  });
  const interactionDeps = { engine, store, intake, log, config: () => config, now, ...(o.decideGate ? { decideGate: o.decideGate } : {}) };

  const onReady = async (client: Client<true>) => {
    // The catch-up reads each channel after its cursor AS IT IS AT READY, taken before anything awaits: a
    // message handled live meanwhile (during the command registration below, or another channel's fetch)
    // moves its channel's cursor past what was posted while the daemon was away, which the catch-up must
    // still read (found by the chaos suite). A message both fetched and live makes one task (the intake).
    const channels = catchUpChannels(dc());
    const cursors = new Map(channels.map((id) => [id, store.channel(id)?.lastMessageId ?? null] as const));
    caughtUp.clear();
    botId = client.user.id;
    const guildId = dc().guildId;
    if (guildId) {
      try {
        await client.rest.put(Routes.applicationGuildCommands(client.application.id, guildId), { body: slashCommands() });
        log.info({ guildId }, 'discord: slash commands registered in the guild');
      } catch (err) {
        log.warn({ guildId, err: messageOf(err) }, 'discord: could not register the slash commands (the bot needs the applications.commands scope in that guild); ! commands still work');
      }
    }
    const r = await catchUp(client, channels, { ...catchUpDeps(client), cursors });
    if (r.handled || r.started.length) log.info({ handled: r.handled, newChannels: r.started }, 'discord: catch-up done');
  };

  let gateway: Gateway | undefined;
  const makeGateway = () =>
    new Gateway({
      token: dc().botToken,
      apiBaseUrl: dc().apiBaseUrl,
      ...(dc().guildId ? { guildId: dc().guildId as string } : {}),
      log,
      now,
      onReady,
      onMessage: (m) => {
        if (botId) void intake.handle(fromMessage(m, botId), 'live');
      },
      onInteraction: (i) => void onInteraction(i as Interaction, interactionDeps),
    });

  const keeper = new DutyKeeper({
    duty: GATEWAY_DUTY,
    owner: engine.instanceId,
    leases: new LeaseStore(engine.db),
    log,
    now,
    onGain: () => {
      if (!dc().botToken) {
        log.error({}, 'discord: discord.enabled is true but discord.botToken is empty; set it (e.g. "$DISCORD_BOT_TOKEN") and `kill -HUP` the daemon');
      }
      gateway = makeGateway();
      gateway.start();
    },
    onLose: async (reason, stopping) => {
      if (stopping) log.info({ reason }, 'discord: disconnecting from the gateway');
      else log.warn({ reason }, 'discord: the gateway duty was lost; disconnecting');
      const g = gateway;
      gateway = undefined;
      await g?.stop();
    },
  });
  // A gateway lease left by a crashed daemon of this host (engine.start() recorded it stopped) would hold the
  // bot offline until it expires (30 s); its process is gone, and so is its connection.
  new LeaseStore(engine.db).releaseStopped(GATEWAY_DUTY);
  keeper.start();
  const offStale = watchStaleSessions(engine, log);
  log.info({ channels: dc().channelIds.length, mentionChannels: dc().mentionChannelIds.length, apiBaseUrl: dc().apiBaseUrl }, 'discord: starting');

  return {
    status() {
      let outbox = { pending: 0, dead: 0 };
      try {
        outbox = store.outboxCounts();
      } catch {
        /* see /api/health's store */
      }
      return statusInfo(dc(), gateway?.status(), keeper.held, outbox);
    },
    reload(next) {
      const before = dc();
      config = next;
      const after = next.discord as DiscordConfig;
      gateway?.update({ token: after.botToken, apiBaseUrl: after.apiBaseUrl, ...(after.guildId ? { guildId: after.guildId } : {}) });
      // Channels added by the reload start from now (their history is not answered).
      const client = gateway?.client;
      const added = catchUpChannels(after).filter((c) => !catchUpChannels(before).includes(c));
      if (added.length && client?.isReady() && after.botToken === before.botToken) {
        void catchUp(client, added, catchUpDeps(client));
      }
      log.info({ channels: after.channelIds.length, mentionChannels: after.mentionChannelIds.length, routes: Object.keys(after.routes).length }, 'discord: config reloaded');
    },
    async stop() {
      offStale();
      await keeper.stop();
      await intake.idle();
    },
    idle: () => intake.idle(),
  };
}
