import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openFenceAtEnd, planReply, splitMessage, type Piece } from '../../src/channels/discord/chunk.js';
import { chunkNonce, statusNonce } from '../../src/channels/discord/nonce.js';

const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Every grapheme boundary of `text` (code-unit offsets, 0 and the length included). */
function boundaries(text: string): Set<number> {
  const b = new Set<number>([0]);
  for (const s of seg.segment(text)) b.add(s.index + s.segment.length);
  return b;
}

/** What must hold for every split: size, balance, no split grapheme, reassembly. */
function check(text: string, pieces: Piece[], limit = 2000): void {
  const b = boundaries(text);
  let at = 0;
  for (const p of pieces) {
    expect(p.content.length).toBeLessThanOrEqual(limit);
    expect(p.content).toBe(p.prefix + p.body + p.suffix);
    expect(openFenceAtEnd(p.content)).toBeNull();
    // Added lines are only fence lines.
    if (p.prefix) expect(p.prefix).toMatch(/^ {0,3}`{3,}[^`\n]*\n$/);
    if (p.suffix) expect(p.suffix).toMatch(/^\n?`{3,}$/);
    expect(p.body.length).toBeGreaterThan(0);
    at += p.body.length;
    expect(b.has(at)).toBe(true);
  }
  expect(pieces.map((p) => p.body).join('')).toBe(text);
}

const words = ['the', 'quick', 'fox', 'async', 'function', '東京', '日本語のテキスト', '한국어', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇯🇵', 'e\u0301', 'n\u0303\u0323', '𝒳', '👍🏽', 'x'.repeat(40)];
const token = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...words).map((w) => w + ' ') },
  { weight: 4, arbitrary: fc.constant('\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n```ts\n', '\n```\n', '\n````python\n', '\n```js\n') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{1,300}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
);
const texts = fc.array(token, { maxLength: 900 }).map((t) => t.join(''));

describe('chunk: splitting replies for Discord', () => {
  it('every chunk ≤ limit, fences balanced, no grapheme split, bodies reassemble (property)', () => {
    fc.assert(
      fc.property(texts, fc.integer({ min: 40, max: 2000 }), (text, limit) => {
        check(text, splitMessage(text, limit), limit);
      }),
      { numRuns: 300 },
    );
  });

  it('a 5,000-character answer with a fence across the cut, CJK and joined emoji: ≤ 3 balanced chunks that reassemble', () => {
    const prose = Array.from({ length: 20 }, (_, i) => `第${i}行: 日本語と English mixed 👩‍💻 text, flag 🇫🇷 and é with accents.`).join('\n');
    const code = ['```ts', ...Array.from({ length: 50 }, (_, i) => `const value${i} = compute(${i}); // 計算 👨‍👩‍👧`), '```'].join('\n');
    let text = `${prose}\n\n${code}\n\n${prose}`;
    while (text.length < 5000) text += ' 🧑🏽‍🚀 end';
    expect(text.length).toBeGreaterThanOrEqual(5000);
    expect(text.length).toBeLessThan(5020);
    const pieces = splitMessage(text);
    check(text, pieces);
    expect(pieces.length).toBeLessThanOrEqual(3);
    // The fence really crosses a cut: some chunk reopens it with its language.
    expect(pieces.some((p) => p.prefix === '```ts\n')).toBe(true);
    expect(pieces.some((p) => p.suffix !== '')).toBe(true);
  });

  it('cuts at a line break when there is one, else at a space', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'w'.repeat(30)}`).join('\n');
    for (const p of splitMessage(lines).slice(0, -1)) expect(p.body.endsWith('\n')).toBe(true);
    const spaced = Array.from({ length: 800 }, () => 'word').join(' ');
    for (const p of splitMessage(spaced).slice(0, -1)) expect(p.body.endsWith(' ')).toBe(true);
  });

  it('never splits a surrogate pair or a joined emoji even without spaces', () => {
    const text = '👨‍👩‍👧‍👦'.repeat(700); // 11 code units each, no space or line break
    const pieces = splitMessage(text);
    check(text, pieces);
    for (const p of pieces) expect(p.body.length % 11).toBe(0);
  });

  it('closes a fence the text left open', () => {
    const pieces = splitMessage('```py\nprint(1)');
    expect(pieces).toHaveLength(1);
    expect(pieces[0]?.content).toBe('```py\nprint(1)\n```');
  });

  // Found by the fuzz suite (test/fuzz/discord.test.ts): a reopened fence line as long as the limit left no
  // room, and every following chunk went over it (Discord refuses those messages).
  it('a fence line longer than the limit: every chunk stays within it, and the next chunks reopen the fence with its backticks', () => {
    const text = `\n\`\`\`${'i'.repeat(2500)}\n${'code line\n'.repeat(300)}`;
    const pieces = splitMessage(text);
    for (const p of pieces) expect(p.content.length).toBeLessThanOrEqual(2000);
    expect(pieces.map((p) => p.body).join('')).toBe(text);
    expect(pieces.at(-1)?.prefix).toBe('```\n');
    const small = splitMessage('\n```iiiiiiiiiiiiiiiiiiiiiiiiiiiiii\n👨‍👩‍👧‍👦', 40);
    for (const p of small) expect(p.content.length).toBeLessThanOrEqual(40);
  });

  it('a fence of more backticks than fit twice in a chunk is carried as text, within the limit', () => {
    const text = `\n${'`'.repeat(300)}\n${'x '.repeat(200)}`;
    const pieces = splitMessage(text, 400);
    for (const p of pieces) expect(p.content.length).toBeLessThanOrEqual(400);
    expect(pieces.map((p) => p.body).join('')).toBe(text);
  });

  it('more than maxChunks: the first chunk, the full length, the whole text attached', () => {
    const text = Array.from({ length: 2500 }, (_, i) => `row ${i} of the answer`).join('\n');
    expect(text.length).toBeGreaterThan(50_000);
    const plan = planReply(text, { maxChunks: 3, fileName: 'answer-abcdef12.md' });
    expect(plan).toHaveLength(1);
    expect(plan[0]?.attachment).toBe('answer-abcdef12.md');
    expect(plan[0]?.content.length).toBeLessThanOrEqual(2000);
    expect(plan[0]?.content).toContain(`${text.length.toLocaleString('en-US')} characters`);
    expect(plan[0]?.content.startsWith('row 0 of the answer\n')).toBe(true);
    expect(planReply('short', { maxChunks: 3, fileName: 'x.md' })).toEqual([{ content: 'short', attachment: null }]);
    expect(planReply('  ', { maxChunks: 3, fileName: 'x.md' })[0]?.content).toMatch(/empty/);
  });
});

describe('nonce', () => {
  it('is deterministic and at most 25 characters', () => {
    expect(statusNonce('task-1')).toBe(statusNonce('task-1'));
    expect(statusNonce('task-1')).not.toBe(statusNonce('task-2'));
    expect(statusNonce('t'.repeat(100))).toHaveLength(25);
    expect(chunkNonce(42, 1)).toBe('o42c1');
    expect(chunkNonce(Number.MAX_SAFE_INTEGER, 1234567).length).toBeLessThanOrEqual(25);
    expect(() => chunkNonce(Number.MAX_SAFE_INTEGER, 12345678)).toThrow(/25/);
  });
});
