/**
 * What `tetora discord status`, `GET /api/discord/status`, `/api/health` and `tetora status` say about the
 * bot: connected or not and why, the bot user, the guild, the watched channels, the outbox. Pure.
 */
import type { DiscordConfig } from '../../config/types.js';
import type { GatewayStatus } from './gateway.js';

export interface DiscordStatusInfo {
  enabled: boolean;
  /** True only while the gateway is connected. */
  connected: boolean;
  /** disabled | standby (another daemon holds the gateway lease) | connecting | connected | reconnecting | down | stopped */
  state: string;
  reason: string | null;
  fix: string | null;
  since: number | null;
  retryAt: number | null;
  botUser: { id: string; username: string } | null;
  guild: { id: string; name: string | null } | null;
  channels: { all: string[]; mention: string[]; routes: Record<string, string>; allowDMs: boolean };
  outbox: { pending: number; dead: number };
  /** Whether this daemon holds the `discord:gateway` lease. */
  leaseHeld: boolean;
  readies: number;
  resumes: number;
}

export function statusInfo(
  cfg: DiscordConfig | undefined,
  gw: GatewayStatus | undefined,
  leaseHeld: boolean,
  outbox: { pending: number; dead: number },
): DiscordStatusInfo {
  const channels = { all: cfg?.channelIds ?? [], mention: cfg?.mentionChannelIds ?? [], routes: cfg?.routes ?? {}, allowDMs: cfg?.allowDMs ?? false };
  const common = { channels, outbox, leaseHeld, guild: gw?.guild ?? (cfg?.guildId ? { id: cfg.guildId, name: null } : null), botUser: gw?.botUser ?? null, readies: gw?.readies ?? 0, resumes: gw?.resumes ?? 0 };
  if (!cfg?.enabled) {
    return { enabled: false, connected: false, state: 'disabled', reason: 'discord.enabled is false (or there is no discord block) in the config', fix: 'set discord.enabled to true with a botToken, then restart or `kill -HUP` the daemon', since: null, retryAt: null, ...common };
  }
  if (!leaseHeld && (!gw || gw.state === 'stopped')) {
    return { enabled: true, connected: false, state: 'standby', reason: 'another daemon on this store holds the Discord gateway (lease discord:gateway)', fix: null, since: gw?.since ?? null, retryAt: null, ...common };
  }
  const state = gw?.state ?? 'connecting';
  return { enabled: true, connected: state === 'connected', state, reason: gw?.reason ?? null, fix: gw?.fix ?? null, since: gw?.since ?? null, retryAt: gw?.retryAt ?? null, ...common };
}

/** One line for `tetora status`. */
export function statusLine(s: DiscordStatusInfo): string {
  if (!s.enabled) return 'disabled';
  if (s.connected) return `connected as ${s.botUser?.username ?? '?'}${s.guild ? ` in ${s.guild.name ?? s.guild.id}` : ''}; outbox ${s.outbox.pending} pending, ${s.outbox.dead} dead`;
  return `${s.state.toUpperCase()}${s.reason ? `: ${s.reason}` : ''}${s.fix ? `; fix: ${s.fix}` : ''}`;
}

/** `tetora discord status`, human form. */
export function formatStatus(s: DiscordStatusInfo, now = Date.now()): string {
  const ago = (t: number | null) => (t === null ? '' : ` (since ${new Date(t).toISOString()}, ${Math.max(0, Math.round((now - t) / 1000))}s ago)`);
  const lines = [
    `discord   ${s.enabled ? (s.connected ? 'connected' : s.state) : 'disabled'}${s.enabled ? ago(s.since) : ''}`,
  ];
  if (s.reason && !s.connected) lines.push(`why       ${s.reason}`);
  if (s.fix && !s.connected) lines.push(`fix       ${s.fix}`);
  if (s.retryAt !== null && !s.connected) lines.push(`next try  ${new Date(s.retryAt).toISOString()} (or at once on SIGHUP)`);
  lines.push(`bot       ${s.botUser ? `${s.botUser.username} (${s.botUser.id})` : 'unknown (not connected yet)'}`);
  lines.push(`guild     ${s.guild ? `${s.guild.name ?? '?'} (${s.guild.id})` : 'none set'}`);
  lines.push(`channels  every message: ${s.channels.all.join(', ') || 'none'}; @mention only: ${s.channels.mention.join(', ') || 'none'}; DMs ${s.channels.allowDMs ? 'on' : 'off'}`);
  const routes = Object.entries(s.channels.routes);
  if (routes.length) lines.push(`routes    ${routes.map(([c, a]) => `${c} → ${a}`).join(', ')}`);
  lines.push(`outbox    ${s.outbox.pending} pending, ${s.outbox.dead} dead letter(s)${s.outbox.dead ? ' (`tetora discord outbox --dead`)' : ''}`);
  lines.push(`gateway   lease ${s.leaseHeld ? 'held by this daemon' : 'not held'}; ${s.readies} connect(s), ${s.resumes} resume(s)`);
  return `${lines.join('\n')}\n`;
}
