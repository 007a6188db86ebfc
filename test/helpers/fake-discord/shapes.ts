/**
 * Discord API object shapes (v10) built by the fake: users, channels, guilds, messages, and the error
 * bodies Discord answers with. Pure functions of their inputs plus the snowflake counter.
 */

/** Discord's epoch (2015-01-01T00:00:00Z) in ms. */
const DISCORD_EPOCH = 1_420_070_400_000n;
let lastSnowflake = 0n;

/** A new snowflake: a numeric string, strictly greater than every one made before in this process. */
export function snowflake(): string {
  let next = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
  if (next <= lastSnowflake) next = lastSnowflake + 1n;
  lastSnowflake = next;
  return next.toString();
}

/** Compare two snowflakes numerically (they may differ in length). */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export interface FakeUserSpec {
  id: string;
  username: string;
  bot?: boolean;
}

export type ChannelKind = 0 | 1 | 5 | 11 | 12;

export interface FakeChannelSpec {
  id: string;
  name?: string;
  /** 0 guild text (default), 5 announcement, 11 public thread, 12 private thread. */
  type?: 0 | 5 | 11 | 12;
  /** The parent text channel of a thread. */
  parentId?: string;
}

export interface FakeGuildSpec {
  id: string;
  name: string;
  channels: FakeChannelSpec[];
}

export interface FakeDmSpec {
  /** The DM channel's id. */
  id: string;
  /** The user on the other side. */
  user: FakeUserSpec;
}

/** What the fake knows about a channel. */
export interface ChannelRecord {
  id: string;
  name: string;
  type: ChannelKind;
  guildId?: string;
  parentId?: string;
  recipient?: FakeUserSpec;
}

export type ApiObject = Record<string, unknown>;

export function apiUser(u: FakeUserSpec): ApiObject {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: null,
    avatar: null,
    bot: u.bot ?? false,
    flags: 0,
    public_flags: 0,
  };
}

export const isThread = (type: ChannelKind): boolean => type === 11 || type === 12;

export function apiChannel(c: ChannelRecord, lastMessageId: string | null): ApiObject {
  if (c.type === 1) {
    return { id: c.id, type: 1, last_message_id: lastMessageId, flags: 0, recipients: c.recipient ? [apiUser(c.recipient)] : [] };
  }
  const base: ApiObject = {
    id: c.id,
    type: c.type,
    guild_id: c.guildId,
    name: c.name,
    position: 0,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: lastMessageId,
    rate_limit_per_user: 0,
    parent_id: c.parentId ?? null,
    flags: 0,
  };
  if (isThread(c.type)) {
    base.owner_id = '0';
    base.message_count = 0;
    base.member_count = 1;
    base.thread_metadata = {
      archived: false,
      auto_archive_duration: 1440,
      archive_timestamp: new Date().toISOString(),
      locked: false,
    };
  }
  return base;
}

/** The everything-allowed permission string the fake hands out (all bits of a bot with Administrator). */
export const ALL_PERMISSIONS = '2251799813685247';

export function apiGuildCreate(
  guild: { id: string; name: string },
  channels: ChannelRecord[],
  bot: FakeUserSpec,
  lastMessageId: (channelId: string) => string | null,
): ApiObject {
  const now = new Date().toISOString();
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    owner_id: '1',
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    system_channel_id: null,
    system_channel_flags: 0,
    premium_tier: 0,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    features: [],
    emojis: [],
    stickers: [],
    roles: [
      { id: guild.id, name: '@everyone', color: 0, hoist: false, position: 0, permissions: ALL_PERMISSIONS, managed: false, mentionable: false, flags: 0 },
    ],
    joined_at: now,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [{ user: apiUser(bot), roles: [], joined_at: now, deaf: false, mute: false, flags: 0 }],
    channels: channels.filter((c) => !isThread(c.type)).map((c) => apiChannel(c, lastMessageId(c.id))),
    threads: channels.filter((c) => isThread(c.type)).map((c) => apiChannel(c, lastMessageId(c.id))),
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

export interface AttachmentRecord {
  id: string;
  filename: string;
  contentType: string;
  data: Buffer;
  url: string;
}

export function apiAttachment(a: AttachmentRecord): ApiObject {
  return {
    id: a.id,
    filename: a.filename,
    size: a.data.length,
    url: a.url,
    proxy_url: a.url,
    content_type: a.contentType,
  };
}

/** Discord's "Invalid Form Body" (400, code 50035) for one field. */
export function invalidFormBody(field: string, code: string, message: string): ApiObject {
  return { message: 'Invalid Form Body', code: 50035, errors: { [field]: { _errors: [{ code, message }] } } };
}

/** The generic error bodies Discord sends per status when a script gives no code. */
export function errorBody(status: number, code?: number, message?: string): ApiObject {
  const defaults: Record<number, [number, string]> = {
    400: [50035, 'Invalid Form Body'],
    401: [0, '401: Unauthorized'],
    403: [50013, 'Missing Permissions'],
    404: [10003, 'Unknown Channel'],
    405: [0, '405: Method Not Allowed'],
    500: [0, '500: Internal Server Error'],
    502: [0, '502: Bad Gateway'],
    503: [0, '503: Service Unavailable'],
    504: [0, '504: Gateway Timeout'],
  };
  const [c, m] = defaults[status] ?? [0, `${status}: Error`];
  return { message: message ?? m, code: code ?? c };
}
