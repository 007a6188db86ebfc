import { describe, expect, it } from 'vitest';
import { catchUpChannels, snowflakeAt } from '../../src/channels/discord/catchup.js';
import { backoffMs, loginFailure, TOKEN_RETRY_MS } from '../../src/channels/discord/gateway.js';
import {
  channelMode,
  channelOfSessionKey,
  chooseAgent,
  compareSnowflakes,
  composePrompt,
  decide,
  isTextAttachment,
  parseCommand,
  sessionKeyOf,
  stripMention,
  type InboundConfig,
  type InboundMessage,
} from '../../src/channels/discord/inbound.js';
import { cancelTarget, mayCancel, slashCommands } from '../../src/channels/discord/interactions.js';
import { staleSessionLine } from '../../src/channels/discord/sessions.js';
import { formatStatus, statusInfo, statusLine } from '../../src/channels/discord/status-info.js';
import { checkDiscordToken } from '../../src/doctor/checks.js';
import type { DiscordConfig } from '../../src/config/types.js';

const BOT = '100000000000000001';
const cfg: InboundConfig = { channelIds: ['200'], mentionChannelIds: ['300'], routes: { '200': 'coder' }, allowDMs: false, guildId: '900' };

function msg(p: Partial<InboundMessage> = {}): InboundMessage {
  return { id: '5000', channelId: '200', guildId: '900', parentChannelId: null, isDM: false, authorId: '42', authorIsBot: false, content: 'hello', mentionsBot: false, attachments: [], createdAt: 0, ...p };
}

describe('channelMode', () => {
  it('every message, mention only, or none; a thread inherits its parent; DMs by allowDMs', () => {
    expect(channelMode(msg(), cfg)).toBe('all');
    expect(channelMode(msg({ channelId: '300' }), cfg)).toBe('mention');
    expect(channelMode(msg({ channelId: '400' }), cfg)).toBe('none');
    expect(channelMode(msg({ channelId: '777', parentChannelId: '200' }), cfg)).toBe('all');
    expect(channelMode(msg({ channelId: '777', parentChannelId: '300' }), cfg)).toBe('mention');
    expect(channelMode(msg({ channelId: '777', parentChannelId: '400' }), cfg)).toBe('none');
    expect(channelMode(msg({ isDM: true, channelId: '888', guildId: null }), cfg)).toBe('none');
    expect(channelMode(msg({ isDM: true, channelId: '888', guildId: null }), { ...cfg, allowDMs: true })).toBe('all');
  });
});

describe('decide', () => {
  it('answers every message in channelIDs', () => {
    expect(decide(msg(), cfg, BOT)).toEqual({ kind: 'task', text: 'hello' });
  });
  it('ignores the bot itself, other bots, users outside the allow-list and other guilds', () => {
    expect(decide(msg({ authorId: BOT, authorIsBot: true }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'the bot itself' });
    expect(decide(msg({ authorIsBot: true }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'another bot' });
    expect(decide(msg(), { ...cfg, allowedUserIds: ['7'] }, BOT).kind).toBe('ignore');
    expect(decide(msg({ authorId: '7' }), { ...cfg, allowedUserIds: ['7'] }, BOT).kind).toBe('task');
    expect(decide(msg({ guildId: '901' }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'another guild' });
  });
  it('needs an @mention in mentionChannelIDs, and strips it', () => {
    expect(decide(msg({ channelId: '300', content: 'hi there' }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'no @mention' });
    expect(decide(msg({ channelId: '300', content: `<@${BOT}> hi there`, mentionsBot: true }), cfg, BOT)).toEqual({ kind: 'task', text: 'hi there' });
    expect(decide(msg({ channelId: '300', content: `hi <@!${BOT}> there`, mentionsBot: true }), cfg, BOT)).toEqual({ kind: 'task', text: 'hi there' });
  });
  it('ignores unwatched channels and DMs unless allowDMs', () => {
    expect(decide(msg({ channelId: '400' }), cfg, BOT).kind).toBe('ignore');
    expect(decide(msg({ isDM: true, guildId: null, channelId: '888' }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'direct messages are off (allowDMs)' });
    expect(decide(msg({ isDM: true, guildId: null, channelId: '888' }), { ...cfg, allowDMs: true }, BOT).kind).toBe('task');
  });
  it('commands after the mention; an empty message without attachments is nothing', () => {
    expect(decide(msg({ content: '!Cancel' }), cfg, BOT)).toEqual({ kind: 'command', command: { name: 'cancel', arg: '' }, text: '!Cancel' });
    expect(decide(msg({ channelId: '300', content: `<@${BOT}> !ask what time`, mentionsBot: true }), cfg, BOT)).toMatchObject({ kind: 'command', command: { name: 'ask', arg: 'what time' } });
    expect(decide(msg({ content: `<@${BOT}>` }), cfg, BOT)).toEqual({ kind: 'ignore', reason: 'empty message' });
    expect(decide(msg({ content: '', attachments: [{ name: 'a.txt', url: 'u', contentType: 'text/plain', size: 1 }] }), cfg, BOT).kind).toBe('task');
  });
});

describe('parseCommand', () => {
  it('reads the known commands case-insensitively, with their argument', () => {
    expect(parseCommand('!help')).toEqual({ name: 'help', arg: '' });
    expect(parseCommand('!STATUS')).toEqual({ name: 'status', arg: '' });
    expect(parseCommand('!chat  coder ')).toEqual({ name: 'chat', arg: 'coder' });
    expect(parseCommand('!ask what is\nthis')).toEqual({ name: 'ask', arg: 'what is\nthis' });
    for (const n of ['cancel', 'new', 'end', 'agents', 'retry']) expect(parseCommand(`!${n}`)).toEqual({ name: n, arg: '' });
  });
  it('an unknown !word is unknown; text that is no command is undefined', () => {
    expect(parseCommand('!frobnicate now')).toEqual({ name: 'unknown', word: 'frobnicate' });
    expect(parseCommand('! important')).toBeUndefined();
    expect(parseCommand('hello !help')).toBeUndefined();
    expect(parseCommand('!!')).toBeUndefined();
  });
});

describe('stripMention', () => {
  it('removes both mention forms anywhere and tidies spaces', () => {
    expect(stripMention(`<@${BOT}>  do   it <@!${BOT}>`, BOT)).toBe('do it');
    expect(stripMention('<@123> keep others', BOT)).toBe('<@123> keep others');
  });
});

describe('chooseAgent', () => {
  const routes = { '200': 'coder', '300': 'writer' };
  it('route, then the parent route, then the !chat lock, then defaultAgent', () => {
    expect(chooseAgent({ channelId: '200', parentChannelId: null }, routes, 'x', 'd')).toEqual({ agent: 'coder', how: 'route' });
    expect(chooseAgent({ channelId: '777', parentChannelId: '300' }, routes, 'x', 'd')).toEqual({ agent: 'writer', how: 'parent route' });
    expect(chooseAgent({ channelId: '400', parentChannelId: null }, routes, 'x', 'd')).toEqual({ agent: 'x', how: 'chat lock' });
    expect(chooseAgent({ channelId: '400', parentChannelId: null }, routes, null, 'd')).toEqual({ agent: 'd', how: 'default' });
    expect(chooseAgent({ channelId: '400', parentChannelId: null }, routes, null, undefined)).toBeUndefined();
    expect(chooseAgent({ channelId: 'constructor', parentChannelId: null }, {}, null, undefined)).toBeUndefined();
  });
});

describe('attachments', () => {
  const txt = { name: 'notes.txt', url: 'http://x/notes.txt', contentType: 'text/plain; charset=utf-8', size: 10 };
  const big = { name: 'big.log', url: 'http://x/big.log', contentType: 'text/plain', size: 2 * 1024 * 1024 };
  const png = { name: 'pic.png', url: 'http://x/pic.png', contentType: 'image/png', size: 500 };
  it('text/* up to 1 MB is read; others are listed', () => {
    expect(isTextAttachment(txt)).toBe(true);
    expect(isTextAttachment(big)).toBe(false);
    expect(isTextAttachment(png)).toBe(false);
    expect(isTextAttachment({ ...txt, contentType: null })).toBe(false);
  });
  it('the prompt: text, read attachments in full, then the others by name and URL', () => {
    const read = new Map([[txt.url, { text: 'line 1\nline 2' }]]);
    const p = composePrompt('look', [txt, png, big], read);
    expect(p).toBe(
      'look\n\n--- attachment notes.txt ---\nline 1\nline 2\n--- end of notes.txt ---\n\nAttachments (not included):\n- pic.png (image/png, 500 bytes): http://x/pic.png\n- big.log (text/plain, 2097152 bytes): http://x/big.log',
    );
    expect(composePrompt('', [txt], new Map([[txt.url, { error: 'HTTP 404' }]]))).toBe('Attachments (not included):\n- notes.txt: http://x/notes.txt (could not be read: HTTP 404)');
  });
});

describe('sessions and snowflakes', () => {
  it('a channel is its own session key', () => {
    expect(sessionKeyOf('200')).toBe('discord:200');
    expect(channelOfSessionKey('discord:200')).toBe('200');
    expect(channelOfSessionKey('chat-1')).toBeUndefined();
  });
  it('snowflakes compare as numbers; a moment has its smallest snowflake', () => {
    expect(compareSnowflakes('99', '100')).toBeLessThan(0);
    expect(compareSnowflakes('200', '100')).toBeGreaterThan(0);
    expect(snowflakeAt(1420070400000)).toBe('0');
    expect(snowflakeAt(1420070400001)).toBe(String(1 << 22));
    expect(catchUpChannels({ channelIds: ['1', '2'], mentionChannelIds: ['2', '3'] })).toEqual(['1', '2', '3']);
  });
  it('the stale-session log line', () => {
    expect(staleSessionLine('coder', '200', 'provider or model changed', true)).toBe('discord: stale session for agent coder in channel 200 (provider or model changed) — recovered');
    expect(staleSessionLine('coder', '200', 'x', false, 'boom')).toBe('discord: stale session for agent coder in channel 200 (x) — not recovered: boom');
  });
});

describe('gateway login failures', () => {
  it('a refused token waits minutes (or a SIGHUP) and says how to fix it', () => {
    const err = Object.assign(new Error('An invalid token was provided.'), { code: 'TokenInvalid' });
    const f = loginFailure(err, 'http://127.0.0.1:1/api');
    expect(f.tokenRefused).toBe(true);
    expect(f.retryMs).toBe(TOKEN_RETRY_MS);
    expect(f.reason).toContain('Discord refused the bot token');
    expect(f.fix).toContain('discord.botToken');
  });
  it('other failures back off from 1 s to 5 min', () => {
    const f = loginFailure(new Error('connect ECONNREFUSED'), 'http://127.0.0.1:1/api');
    expect(f.tokenRefused).toBe(false);
    expect(f.retryMs).toBeNull();
    expect([1, 2, 3, 10, 30].map(backoffMs)).toEqual([1000, 2000, 4000, 300_000, 300_000]);
  });
});

describe('interactions', () => {
  it('the Cancel button names its task, and cancels only a task of its own channel', () => {
    expect(cancelTarget('tetora:cancel:abc')).toBe('abc');
    expect(cancelTarget('tetora:cancel:')).toBeUndefined();
    expect(cancelTarget('other')).toBeUndefined();
    expect(mayCancel(JSON.stringify({ channelId: '200' }), '200')).toBe(true);
    expect(mayCancel(JSON.stringify({ channelId: '200' }), '300')).toBe(false);
    expect(mayCancel(null, '200')).toBe(false);
    expect(mayCancel('not json', '200')).toBe(false);
  });
  it('five slash commands, /ask with a required prompt', () => {
    const cmds = slashCommands() as Array<{ name: string; options?: Array<{ name: string; required?: boolean }> }>;
    expect(cmds.map((c) => c.name)).toEqual(['ask', 'status', 'cancel', 'new', 'agents']);
    expect(cmds[0]?.options?.[0]).toMatchObject({ name: 'prompt', required: true });
  });
});

describe('status info', () => {
  const dc = { enabled: true, botToken: 't', channelIds: ['200'], mentionChannelIds: [], routes: {}, showProgress: true, threadBindings: { enabled: false, ttlHours: 24 }, reactions: { enabled: false, emojis: {} }, apiBaseUrl: 'http://x/api', allowDMs: false, maxChunks: 3, sendRetry: { baseMs: 1, capMs: 2, maxAttempts: 3 } } satisfies DiscordConfig;
  const gw = { state: 'down' as const, reason: 'Discord refused the bot token', fix: 'copy it again', since: 1000, retryAt: 2000, botUser: null, guild: null, readies: 0, resumes: 0 };
  it('down says why and what to do', () => {
    const s = statusInfo(dc, gw, true, { pending: 2, dead: 1 });
    expect(s).toMatchObject({ enabled: true, connected: false, state: 'down', reason: 'Discord refused the bot token', outbox: { pending: 2, dead: 1 } });
    expect(statusLine(s)).toBe('DOWN: Discord refused the bot token; fix: copy it again');
    expect(formatStatus(s, 5000)).toContain('why       Discord refused the bot token');
  });
  it('disabled, standby (another daemon holds the lease) and connected', () => {
    expect(statusInfo(undefined, undefined, false, { pending: 0, dead: 0 }).state).toBe('disabled');
    expect(statusInfo(dc, undefined, false, { pending: 0, dead: 0 }).state).toBe('standby');
    const up = statusInfo(dc, { ...gw, state: 'connected', reason: null, fix: null, botUser: { id: BOT, username: 'fakebot' } }, true, { pending: 0, dead: 0 });
    expect(up.connected).toBe(true);
    expect(statusLine(up)).toBe('connected as fakebot; outbox 0 pending, 0 dead');
  });
});

describe('doctor: discord token', () => {
  it('passes on 200, fails on 401, an empty token and no answer, each with a fix', () => {
    expect(checkDiscordToken({ apiBaseUrl: 'http://x/api', status: 200, user: { id: BOT, username: 'fakebot' } })).toMatchObject({ ok: true });
    const refused = checkDiscordToken({ apiBaseUrl: 'http://x/api', status: 401, message: '401: Unauthorized' });
    expect(refused.ok).toBe(false);
    expect(refused.detail).toContain('Discord refused the bot token');
    expect(refused.fix).toContain('Reset Token');
    expect(checkDiscordToken({ apiBaseUrl: 'http://x/api', empty: true }).ok).toBe(false);
    expect(checkDiscordToken({ apiBaseUrl: 'http://x/api', error: 'connection refused' }).fix).toContain('apiBaseUrl');
  });
});
