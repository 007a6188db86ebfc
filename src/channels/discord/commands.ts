/**
 * The `!` commands (and the slash commands, which run the same code): help, status, cancel, new,
 * chat/end, ask, agents, retry. A command either answers with text (queued in the outbox by the caller,
 * in the same transaction as the message's inbound record) or asks for a task (ask, retry), which the
 * caller enqueues in that transaction; the task's reply then comes like any other.
 */
import type { ResolvedConfig } from '../../config/types.js';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import { messageOf } from '../../errors.js';
import type { DiscordStore } from '../../store/discord.js';
import { FRESH_SESSION_MARK } from '../../store/routing.js';
import { chooseAgent, noAgentReply, sessionKeyOf, type Command } from './inbound.js';

export interface CommandDeps {
  engine: Engine;
  store: DiscordStore;
  config(): ResolvedConfig;
  log: Logger;
  now(): number;
}

/** Where a command was given. */
export interface CommandPlace {
  channelId: string;
  parentChannelId: string | null;
  /** The message (or interaction) id. */
  messageId: string;
}

export type CommandOutcome =
  | { kind: 'reply'; body: string }
  // No agent: smart dispatch routes the task (see inbound.ts smartDispatched).
  | { kind: 'task'; agent?: string; prompt: string; sessionKey: string | null; note: string };

/** Statuses of a task not yet ended. */
export const OPEN_STATUSES = ['queued', 'routing', 'running', 'retry_wait', 'rate_limited', 'interrupted', 'waiting'] as const;

export const HELP = [
  '**Tetora commands**',
  '`!help` — this list',
  '`!status` — the daemon and this channel\'s queue',
  '`!cancel` — cancel this channel\'s running and queued tasks',
  '`!new` — start a fresh session in this channel (the agent forgets the conversation)',
  '`!chat <agent>` / `!end` — answer this channel with that agent / release it',
  '`!ask <prompt>` — a one-shot question (no session)',
  '`!agents` — the configured agents',
  '`!retry` — run this channel\'s last failed message again',
  'Anything else is a message to the channel\'s agent. Slash commands: /ask, /status, /cancel, /new, /agents.',
].join('\n');

const short = (s: string, n = 60) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};

/** Run a command. Side effects (cancel, archive, lock) happen here; the caller records its outcome. */
export async function runCommand(cmd: Command, place: CommandPlace, d: CommandDeps): Promise<CommandOutcome> {
  const reply = (body: string): CommandOutcome => ({ kind: 'reply', body });
  const cfg = d.config();
  if (cmd.name === 'unknown') return reply(`Unknown command \`!${cmd.word}\`; \`!help\` lists the commands.`);
  const key = sessionKeyOf(place.channelId);
  switch (cmd.name) {
    case 'help':
      return reply(HELP);
    case 'status': {
      const stats = d.engine.stats();
      const open = d.store.channelTasks(place.channelId, OPEN_STATUSES);
      const lock = d.store.channel(place.channelId)?.chatAgent ?? null;
      const agent = chooseAgent(place, cfg.discord?.routes ?? {}, lock, cfg.defaultAgent);
      const session = d.engine.sessions.active(key);
      const lines = [
        `**Tetora** ${d.engine.state}: ${stats.running} running (max ${cfg.maxConcurrent}), ${stats.queued} queued in all.`,
        `This channel: agent ${agent ? `**${agent.agent}** (${agent.how})` : 'none'}; session ${session ? `${session.provider}${session.model ? `/${session.model}` : ''} since ${new Date(session.createdAt).toISOString()}` : 'none (the next message starts one)'}.`,
        open.length === 0 ? 'Nothing running or queued here.' : `${open.length} open here:`,
        ...open.slice(0, 10).map((t, i) => `${i + 1}. \`${t.id.slice(0, 8)}\` ${t.status} ${t.agent ?? ''} — ${short(t.prompt)}`),
        ...(open.length > 10 ? [`… and ${open.length - 10} more`] : []),
      ];
      return reply(lines.join('\n'));
    }
    case 'cancel': {
      const open = d.store.channelTasks(place.channelId, OPEN_STATUSES);
      if (open.length === 0) return reply('Nothing to cancel in this channel.');
      const done: string[] = [];
      const failed: string[] = [];
      // Queued ones first: a running one's end must not start the next of this channel.
      for (const t of [...open].sort((a, b) => (a.status === 'running' ? 1 : 0) - (b.status === 'running' ? 1 : 0))) {
        try {
          await d.engine.cancel(t.id, 'a !cancel in Discord');
          done.push(t.id);
        } catch (err) {
          failed.push(`\`${t.id.slice(0, 8)}\`: ${messageOf(err)}`);
        }
      }
      const lines = [`Cancelled ${done.length} task(s) of this channel${done.length ? `: ${done.map((id) => `\`${id.slice(0, 8)}\``).join(', ')}` : ''}.`];
      if (failed.length) lines.push(`Not cancelled: ${failed.join('; ')}`);
      return reply(lines.join('\n'));
    }
    case 'new': {
      const had = d.engine.sessions.archive(key, `a fresh session was asked for ${FRESH_SESSION_MARK}`);
      return reply(had ? 'Started a fresh session: the next message begins a new conversation.' : 'There was no session here; the next message begins a new conversation.');
    }
    case 'chat': {
      const name = cmd.arg.split(/\s+/)[0] ?? '';
      if (!name) return reply('Usage: `!chat <agent>`; `!agents` lists them.');
      if (!Object.hasOwn(cfg.agents, name)) return reply(`No agent \`${name}\` is configured; \`!agents\` lists them.`);
      d.store.setChatAgent(place.channelId, name, d.now());
      const route = cfg.discord?.routes[place.channelId] ?? (place.parentChannelId ? cfg.discord?.routes[place.parentChannelId] : undefined);
      return reply(route ? `Locked to **${name}**, but this channel's route sends messages to **${route}** first; change \`discord.routes\` to let the lock decide.` : `This channel now talks to **${name}**; \`!end\` releases it.`);
    }
    case 'end': {
      const had = d.store.channel(place.channelId)?.chatAgent;
      d.store.setChatAgent(place.channelId, null, d.now());
      return reply(had ? `Released **${had}**; messages here go to the channel's route or the default agent again.` : 'This channel was not locked to an agent.');
    }
    case 'agents': {
      const names = Object.keys(cfg.agents);
      if (names.length === 0) return reply('No agents are configured (add some under `agents` in config.json).');
      const lock = d.store.channel(place.channelId)?.chatAgent ?? null;
      const here = chooseAgent(place, cfg.discord?.routes ?? {}, lock, cfg.defaultAgent);
      return reply(
        [
          '**Agents**',
          ...names.map((n) => {
            const a = cfg.agents[n];
            const model = a?.model ?? cfg.providers[a?.provider ?? cfg.defaultProvider]?.model;
            return `- **${n}** (${a?.provider ?? cfg.defaultProvider}${model ? `/${model}` : ''})${a?.description ? ` — ${short(a.description, 80)}` : ''}${here?.agent === n ? ' ← answers here' : ''}`;
          }),
        ].join('\n'),
      );
    }
    case 'ask': {
      if (!cmd.arg) return reply('Usage: `!ask <prompt>` (a one-shot question, outside the channel\'s session).');
      const lock = d.store.channel(place.channelId)?.chatAgent ?? null;
      const agent = chooseAgent(place, cfg.discord?.routes ?? {}, lock, cfg.defaultAgent);
      if (!agent) return reply(noAgentReply(place.channelId));
      return { kind: 'task', agent: agent.agent, prompt: cmd.arg, sessionKey: null, note: 'ask' };
    }
    case 'retry': {
      const last = d.store.lastEndedChannelTask(place.channelId);
      if (!last || (last.status !== 'failed' && last.status !== 'timed_out')) return reply('Nothing to retry: the last message of this channel did not fail.');
      const lock = d.store.channel(place.channelId)?.chatAgent ?? null;
      const agent = last.agent && Object.hasOwn(cfg.agents, last.agent) ? { agent: last.agent } : chooseAgent(place, cfg.discord?.routes ?? {}, lock, cfg.defaultAgent);
      if (!agent) return reply(noAgentReply(place.channelId));
      return { kind: 'task', agent: agent.agent, prompt: last.prompt, sessionKey: last.sessionKey, note: `retry of ${last.id}` };
    }
  }
}
