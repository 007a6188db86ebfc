/**
 * Inbound Discord messages, the pure part: whether a message is answered, what it asks (a command or a
 * task), which agent takes it, and the prompt it becomes (text attachments appended, others listed).
 * No I/O here: `handler.ts` fetches attachments and writes the rows; these functions decide.
 */
import type { DiscordConfig } from '../../config/types.js';

/** A message as the decisions need it (from a discord.js Message, live or fetched by the catch-up). */
export interface InboundMessage {
  id: string;
  channelId: string;
  guildId: string | null;
  /** The parent channel when the message is in a thread. */
  parentChannelId: string | null;
  /** A direct message (no guild). */
  isDM: boolean;
  authorId: string;
  authorIsBot: boolean;
  content: string;
  /** The message @mentions the bot (a user mention, not @everyone). */
  mentionsBot: boolean;
  attachments: InboundAttachment[];
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export interface InboundAttachment {
  name: string;
  url: string;
  contentType: string | null;
  size: number;
}

/** How a channel is watched: every message, only @mentions, or not at all. */
export type ChannelMode = 'all' | 'mention' | 'none';

/** The part of the config the decisions read. */
export type InboundConfig = Pick<DiscordConfig, 'channelIds' | 'mentionChannelIds' | 'routes' | 'allowDMs' | 'allowedUserIds' | 'guildId'>;

/**
 * How the channel of a message is watched. A thread inherits its parent's mode (the thread itself may be
 * listed too: then its own). A DM is answered in full when `allowDMs`.
 */
export function channelMode(m: Pick<InboundMessage, 'channelId' | 'parentChannelId' | 'isDM'>, cfg: InboundConfig): ChannelMode {
  if (m.isDM) return cfg.allowDMs ? 'all' : 'none';
  const own = modeOf(m.channelId, cfg);
  if (own !== 'none' || !m.parentChannelId) return own;
  return modeOf(m.parentChannelId, cfg);
}

function modeOf(channelId: string, cfg: InboundConfig): ChannelMode {
  if (cfg.channelIds.includes(channelId)) return 'all';
  if (cfg.mentionChannelIds.includes(channelId)) return 'mention';
  return 'none';
}

/** The bot's mention (`<@id>` or the nickname form `<@!id>`) removed wherever it is, whitespace tidied. */
export function stripMention(content: string, botId: string): string {
  return content
    .replace(new RegExp(`<@!?${botId}>`, 'g'), ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^\s+|\s+$/g, '');
}

export const COMMANDS = ['help', 'status', 'cancel', 'new', 'chat', 'end', 'ask', 'agents', 'retry'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type Command = { name: CommandName; arg: string } | { name: 'unknown'; word: string };

/**
 * A `!command` (case-insensitive), or undefined when the text is no command. `!` alone, or `!` followed by
 * a space or punctuation, is plain text ("! important").
 */
export function parseCommand(text: string): Command | undefined {
  const m = /^!([A-Za-z][\w-]*)(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return undefined;
  const word = (m[1] as string).toLowerCase();
  const arg = (m[2] ?? '').trim();
  return (COMMANDS as readonly string[]).includes(word) ? { name: word as CommandName, arg } : { name: 'unknown', word };
}

export type Decision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'command'; command: Command; text: string }
  | { kind: 'task'; text: string };

/**
 * What to make of a message: ignored (bots, the bot itself, users outside the allow-list, unwatched
 * channels, no @mention where one is needed, other guilds, nothing to say), a command, or a task.
 */
export function decide(m: InboundMessage, cfg: InboundConfig, botId: string): Decision {
  if (m.authorId === botId) return { kind: 'ignore', reason: 'the bot itself' };
  if (m.authorIsBot) return { kind: 'ignore', reason: 'another bot' };
  if (cfg.allowedUserIds && cfg.allowedUserIds.length > 0 && !cfg.allowedUserIds.includes(m.authorId)) return { kind: 'ignore', reason: 'user not in allowedUserIDs' };
  if (!m.isDM && cfg.guildId && m.guildId && m.guildId !== cfg.guildId) return { kind: 'ignore', reason: 'another guild' };
  const mode = channelMode(m, cfg);
  if (mode === 'none') return { kind: 'ignore', reason: m.isDM ? 'direct messages are off (allowDMs)' : 'channel not watched' };
  if (mode === 'mention' && !m.mentionsBot) return { kind: 'ignore', reason: 'no @mention' };
  const text = stripMention(m.content, botId);
  const command = parseCommand(text);
  if (command) return { kind: 'command', command, text };
  if (text.length === 0 && m.attachments.length === 0) return { kind: 'ignore', reason: 'empty message' };
  return { kind: 'task', text };
}

/**
 * The agent for a channel: `routes[channel]`, else the parent's route (a thread), else the `!chat` lock,
 * else `defaultAgent`; undefined when none is set.
 */
export function chooseAgent(
  m: Pick<InboundMessage, 'channelId' | 'parentChannelId'>,
  routes: Record<string, string>,
  chatLock: string | null | undefined,
  defaultAgent: string | undefined,
): { agent: string; how: 'route' | 'parent route' | 'chat lock' | 'default' } | undefined {
  const own = Object.hasOwn(routes, m.channelId) ? routes[m.channelId] : undefined;
  if (own) return { agent: own, how: 'route' };
  const parent = m.parentChannelId && Object.hasOwn(routes, m.parentChannelId) ? routes[m.parentChannelId] : undefined;
  if (parent) return { agent: parent, how: 'parent route' };
  if (chatLock) return { agent: chatLock, how: 'chat lock' };
  if (defaultAgent) return { agent: defaultAgent, how: 'default' };
  return undefined;
}

/**
 * Whether smart dispatch chooses the agent of a channel's message: it is enabled and the channel has no
 * route of its own, no parent route (a thread) and no `!chat` lock — those name the agent themselves.
 */
export function smartDispatched(
  m: Pick<InboundMessage, 'channelId' | 'parentChannelId'>,
  routes: Record<string, string>,
  chatLock: string | null | undefined,
  smartDispatchEnabled: boolean,
): boolean {
  if (!smartDispatchEnabled || chatLock) return false;
  if (Object.hasOwn(routes, m.channelId)) return false;
  return !(m.parentChannelId && Object.hasOwn(routes, m.parentChannelId));
}

/** The one-line answer when no agent takes a channel's messages. */
export function noAgentReply(channelId: string): string {
  return `No agent answers in this channel: set \`discord.routes["${channelId}"]\` to an agent (or \`defaultAgent\`) in config.json and reload (\`kill -HUP\`), or lock one here with \`!chat <agent>\`.`;
}

/** Text attachments up to this size are read into the prompt. */
export const MAX_TEXT_ATTACHMENT = 1024 * 1024;

/** Whether an attachment is read into the prompt (text/*, at most 1 MB) or only listed. */
export function isTextAttachment(a: InboundAttachment): boolean {
  const type = (a.contentType ?? '').toLowerCase();
  return type.startsWith('text/') && a.size <= MAX_TEXT_ATTACHMENT;
}

/**
 * The prompt of a message: its text, then each text attachment read (`read[name]`, in order), then the
 * others by name and URL. An attachment that could not be read is listed with why.
 */
export function composePrompt(text: string, attachments: InboundAttachment[], read: ReadonlyMap<string, { text: string } | { error: string }>): string {
  const parts: string[] = text ? [text] : [];
  const listed: string[] = [];
  for (const a of attachments) {
    const r = read.get(a.url);
    if (r && 'text' in r) parts.push(`--- attachment ${a.name} ---\n${r.text}${r.text.endsWith('\n') ? '' : '\n'}--- end of ${a.name} ---`);
    else if (r && 'error' in r) listed.push(`- ${a.name}: ${a.url} (could not be read: ${r.error})`);
    else listed.push(`- ${a.name}${a.contentType ? ` (${a.contentType}, ${a.size} bytes)` : ` (${a.size} bytes)`}: ${a.url}`);
  }
  if (listed.length) parts.push(`Attachments (not included):\n${listed.join('\n')}`);
  return parts.join('\n\n');
}

/** The session key of a channel's chat (a thread or a DM is its own channel). */
export function sessionKeyOf(channelId: string): string {
  return `discord:${channelId}`;
}

/** The channel a session key belongs to, or undefined for keys of other sources. */
export function channelOfSessionKey(key: string | null | undefined): string | undefined {
  return key?.startsWith('discord:') ? key.slice('discord:'.length) : undefined;
}

/** Compare two snowflakes (decimal strings) as numbers. */
export function compareSnowflakes(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
