/**
 * Fuzzing the Discord channel's pure parts: the chunker (splitMessage, planReply) and the inbound decisions
 * (decide, parseCommand, stripMention, composePrompt, chooseAgent, fromMessage). Properties, not examples.
 */
import fc from 'fast-check';
import { ChannelType, type Message } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { DISCORD_MESSAGE_LIMIT, openFenceAtEnd, planReply, splitMessage } from '../../src/channels/discord/chunk.js';
import { chooseAgent, composePrompt, decide, parseCommand, stripMention, COMMANDS, type InboundConfig, type InboundMessage } from '../../src/channels/discord/inbound.js';
import { fromMessage } from '../../src/channels/discord/gateway.js';
import { runs } from './fc.js';

const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
function graphemeEnds(text: string): Set<number> {
  const b = new Set<number>([0]);
  for (const s of seg.segment(text)) b.add(s.index + s.segment.length);
  return b;
}
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Text built from the pieces that make chunking hard: fences (indented, CRLF, long ticks, info strings), joined emoji, flags, combining marks, CJK, long words, lone surrogates. */
const hardToken = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('word ', 'a ', 'lorem ipsum ', '\t', '\n', '\r\n', '  ') },
  { weight: 3, arbitrary: fc.constantFrom('\n```\n', '\n```ts\n', '\n````\n', '\n   ```py\n', '\n```\r\n', '\n~~~\n', '```', '\n`````js x\n', '\n``` \n') },
  { weight: 3, arbitrary: fc.constantFrom('👨‍👩‍👧‍👦', '🇯🇵', '🏳️‍🌈', 'é', 'e\u0301\u0301', '漢字かな', '😀', '\u200d', '\uD83D', '\uDE00', 'ก้', 'नि') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((n) => 'e' + '\u0301'.repeat(n)) },
  // Fence lines longer than a chunk, and fences of many backticks.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 3, max: 8 }), fc.integer({ min: 0, max: 2500 })).map(([t, n]) => `\n${'`'.repeat(t)}${'i'.repeat(n)}\n`) },
  { weight: 1, arbitrary: fc.integer({ min: 3, max: 300 }).map((t) => `\n${'`'.repeat(t)}\n`) },
);
const hardText = fc.array(hardToken, { maxLength: 200 }).map((t) => t.join(''));

/** The checks every split must pass. */
function checkSplit(text: string, limit: number): void {
  const pieces = splitMessage(text, limit);
  if (text === '') return void expect(pieces).toEqual([]);
  const ends = graphemeEnds(text);
  const widest = Math.max(0, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  let at = 0;
  for (const p of pieces) {
    expect(p.content).toBe(p.prefix + p.body + p.suffix);
    expect(p.body.length).toBeGreaterThan(0);
    expect(p.content.length).toBeLessThanOrEqual(limit);
    // Fences closed in every chunk (but a fence wider than half a chunk, which cannot be); what is added is only a fence line.
    if (2 * widest + 3 <= limit) expect(openFenceAtEnd(p.content)).toBeNull();
    if (p.prefix) expect(p.prefix).toMatch(/^ {0,3}`{3,}[^`\n]*\n$/);
    if (p.suffix) expect(p.suffix).toMatch(/^\n?`{3,}$/);
    const start = at;
    at += p.body.length;
    // Never inside a surrogate pair (of the original text).
    if (at < text.length) expect(isHigh(text.charCodeAt(at - 1)) && isLow(text.charCodeAt(at))).toBe(false);
    // At a grapheme boundary, unless one grapheme alone is longer than the chunk could hold.
    if (!ends.has(at)) {
      const grapheme = [...seg.segment(text.slice(start))][0]?.segment ?? '';
      expect(grapheme.length).toBeGreaterThanOrEqual(limit - p.prefix.length - p.suffix.length);
    }
  }
  expect(pieces.map((p) => p.body).join('')).toBe(text);
}

describe('fuzz: Discord chunker', () => {
  it('splitMessage at the Discord limit: exact reassembly, every chunk ≤ 2000, fences closed and reopened, no split pair or grapheme', () => {
    fc.assert(fc.property(hardText, (text) => checkSplit(text, DISCORD_MESSAGE_LIMIT)), runs(60));
  });

  it('splitMessage at small limits (40–400): the same properties', () => {
    fc.assert(fc.property(hardText, fc.integer({ min: 40, max: 400 }), (text, limit) => checkSplit(text, limit)), runs(150));
  });

  it('a fence line is reopened in the next chunk with its info string', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{0,10}$/), fc.integer({ min: 3, max: 6 }), fc.integer({ min: 100, max: 400 }), (lang, ticks, n) => {
        const fence = '`'.repeat(ticks) + lang;
        const text = `intro\n${fence}\n${'code line\n'.repeat(n)}${'`'.repeat(ticks)}\nafter`;
        const pieces = splitMessage(text, 500);
        for (const p of pieces.slice(1)) if (p.prefix) expect(p.prefix).toBe(`${fence}\n`);
        checkSplit(text, 500);
      }),
      runs(30),
    );
  });

  it('planReply: at most maxChunks messages each ≤ the limit; a longer reply is one message with the whole text attached', () => {
    fc.assert(
      fc.property(hardText, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 300, max: 2000 }), (text, maxChunks, limit) => {
        const plan = planReply(text, { maxChunks, fileName: 'answer-x.md', limit });
        expect(plan.length).toBeGreaterThan(0);
        expect(plan.length).toBeLessThanOrEqual(Math.max(1, maxChunks));
        for (const c of plan) expect(c.content.length).toBeLessThanOrEqual(limit);
        if (text.trim() === '') expect(plan).toEqual([{ content: '(the reply is empty)', attachment: null }]);
        else if (plan.some((c) => c.attachment !== null)) expect(plan).toHaveLength(1);
        else expect(splitMessage(text, limit).map((p) => p.content)).toEqual(plan.map((c) => c.content));
      }),
      runs(100),
    );
  });
});

const snowflake = fc.stringMatching(/^[1-9]\d{0,3}$/);
const inboundCfg: fc.Arbitrary<InboundConfig> = fc.record(
  {
    channelIds: fc.array(snowflake, { maxLength: 3 }),
    mentionChannelIds: fc.array(snowflake, { maxLength: 3 }),
    routes: fc.dictionary(fc.oneof(snowflake, fc.constantFrom('__proto__', 'constructor')), fc.constantFrom('a', 'b'), { maxKeys: 3 }),
    allowDMs: fc.boolean(),
    allowedUserIds: fc.array(snowflake, { maxLength: 2 }),
    guildId: snowflake,
  },
  { requiredKeys: ['channelIds', 'mentionChannelIds', 'routes', 'allowDMs'] },
);
const content = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constantFrom('!', '! important', '!help', '!CANCEL abc', '!chat coder', '!unknown-cmd x', '<@1>', '<@!1> hi', '<@1>!status', ' \n\t', '!!', '!a\u0000'),
  fc.tuple(fc.constantFrom('<@1> ', '<@!1>', ''), fc.string({ maxLength: 30 })).map(([a, b]) => a + b),
);
const attachment = fc.record({ name: fc.string({ maxLength: 10 }), url: fc.webUrl(), contentType: fc.option(fc.constantFrom('text/plain', 'TEXT/markdown', 'image/png', '')), size: fc.integer({ min: 0, max: 2 * 1024 * 1024 }) });
const inbound: fc.Arbitrary<InboundMessage> = fc.record({
  id: snowflake,
  channelId: fc.oneof(snowflake, fc.constantFrom('__proto__', 'constructor')),
  guildId: fc.option(snowflake),
  parentChannelId: fc.option(snowflake),
  isDM: fc.boolean(),
  authorId: snowflake,
  authorIsBot: fc.boolean(),
  content,
  mentionsBot: fc.boolean(),
  attachments: fc.array(attachment, { maxLength: 2 }),
  createdAt: fc.integer({ min: 0 }),
});

describe('fuzz: inbound Discord messages', () => {
  it('decide never throws and answers one of its three kinds, consistently with the config', () => {
    fc.assert(
      fc.property(inbound, inboundCfg, fc.constantFrom('1', '2'), (m, cfg, botId) => {
        const d = decide(m, cfg, botId);
        expect(['ignore', 'command', 'task']).toContain(d.kind);
        if (d.kind === 'ignore') expect(d.reason.length).toBeGreaterThan(0);
        else {
          // Answered: never the bot itself or another bot, never a user outside a non-empty allow-list.
          expect(m.authorId).not.toBe(botId);
          expect(m.authorIsBot).toBe(false);
          if (cfg.allowedUserIds?.length) expect(cfg.allowedUserIds).toContain(m.authorId);
          if (m.isDM) expect(cfg.allowDMs).toBe(true);
          // The text holds no mention of the bot and no outer whitespace.
          expect(d.text).not.toMatch(new RegExp(`<@!?${botId}>`));
          expect(d.text).toBe(d.text.trim());
          if (d.kind === 'task') expect(d.text.length + m.attachments.length).toBeGreaterThan(0);
        }
      }),
      runs(300),
    );
  });

  it('parseCommand: a known word gives that command with its argument trimmed; text not starting with !<letter> is no command', () => {
    fc.assert(
      fc.property(content, (text) => {
        const c = parseCommand(text);
        if (!/^!\p{L}/u.test(text.trim()) && !/^![A-Za-z]/.test(text.trim())) expect(c).toBeUndefined();
        if (c && c.name !== 'unknown') {
          expect(COMMANDS).toContain(c.name);
          expect(c.arg).toBe(c.arg.trim());
        }
      }),
      runs(200),
    );
    fc.assert(
      fc.property(fc.constantFrom(...COMMANDS), fc.string({ maxLength: 20 }), fc.boolean(), (name, arg, upper) => {
        const word = upper ? name.toUpperCase() : name;
        const c = parseCommand(`!${word} ${arg}`);
        expect(c).toEqual({ name, arg: arg.trim() });
      }),
      runs(100),
    );
  });

  it('stripMention removes every mention of the bot and keeps everything else', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('<@7>', '<@!7>', '<@8>'), fc.stringMatching(/^[^<>\s]{1,8}$/)), { maxLength: 8 }), (parts) => {
        const out = stripMention(parts.join(' '), '7');
        expect(out).not.toMatch(/<@!?7>/);
        expect(out).toBe(parts.filter((p) => p !== '<@7>' && p !== '<@!7>').join(' '));
      }),
      runs(100),
    );
  });

  it('composePrompt keeps the text and names every attachment; chooseAgent only returns a configured agent, a lock or the default', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.array(attachment, { maxLength: 3 }), fc.boolean(), (text, atts, readAll) => {
        const read = new Map<string, { text: string } | { error: string }>();
        if (readAll) for (const a of atts) read.set(a.url, { text: `body of ${a.name}` });
        const prompt = composePrompt(text, atts, read);
        if (text) expect(prompt.startsWith(text)).toBe(true);
        for (const a of atts) expect(prompt).toContain(a.name);
      }),
      runs(100),
    );
    fc.assert(
      fc.property(inbound, inboundCfg, fc.option(fc.constantFrom('lock')), fc.option(fc.constantFrom('dflt'), { nil: undefined }), (m, cfg, lock, dflt) => {
        const c = chooseAgent(m, cfg.routes, lock, dflt);
        if (c) expect([...Object.values(cfg.routes), 'lock', 'dflt']).toContain(c.agent);
        else expect(lock ?? dflt).toBeFalsy();
      }),
      runs(150),
    );
  });

  it('fromMessage (gateway payload → InboundMessage) never throws for the shapes discord.js gives, and is what decide reads', () => {
    const payload = fc.record({
      id: snowflake,
      channelId: snowflake,
      guildId: fc.option(snowflake),
      channel: fc.option(
        fc.record({ type: fc.constantFrom(ChannelType.GuildText, ChannelType.DM, ChannelType.PublicThread), thread: fc.boolean(), parentId: fc.option(snowflake, { nil: undefined }) }),
      ),
      author: fc.record({ id: snowflake, bot: fc.option(fc.boolean(), { nil: undefined }) }),
      content: fc.option(fc.string({ maxLength: 20 })),
      mentioned: fc.array(snowflake, { maxLength: 2 }),
      attachments: fc.array(fc.record({ name: fc.string({ maxLength: 5 }), url: fc.webUrl(), contentType: fc.option(fc.constant('text/plain')), size: fc.nat() }), { maxLength: 2 }),
      createdTimestamp: fc.nat(),
    });
    fc.assert(
      fc.property(payload, inboundCfg, (p, cfg) => {
        const ch = p.channel ? { type: p.channel.type, isThread: () => p.channel!.thread, parentId: p.channel.parentId } : null;
        const msg = {
          ...p,
          channel: ch,
          mentions: { users: new Map(p.mentioned.map((id) => [id, {}])) },
          attachments: new Map(p.attachments.map((a, i) => [String(i), { ...a, contentType: a.contentType ?? undefined }])),
        } as unknown as Message;
        const m = fromMessage(msg, '1');
        expect(m.content).toBe(p.content ?? '');
        expect(m.isDM).toBe(!p.guildId || p.channel?.type === ChannelType.DM);
        expect(m.parentChannelId === null || p.channel?.thread === true).toBe(true);
        expect(m.attachments).toHaveLength(p.attachments.length);
        expect(() => decide(m, cfg, '1')).not.toThrow();
      }),
      runs(150),
    );
  });
});
