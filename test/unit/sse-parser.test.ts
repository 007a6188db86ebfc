import { describe, expect, it } from 'vitest';
import { SseParser, type SseMessage } from '../../src/cli/client.js';

/** What the daemon writes (see src/http/sse.ts): comment on connect, frames, heartbeats. */
const frame1 = 'id: 1\nevent: queued\ndata: {"seq":1,"type":"queued"}\n\n';
const frame2 = 'id: 2\nevent: running\ndata: {"seq":2,"type":"running"}\n\n';
const stream = `: connected\n\n${frame1}: heartbeat 2026-01-01T00:00:00.000Z\n\n${frame2}`;
const expected: SseMessage[] = [
  { id: '1', event: 'queued', data: '{"seq":1,"type":"queued"}' },
  { id: '2', event: 'running', data: '{"seq":2,"type":"running"}' },
];

function feedAll(parts: string[]): SseMessage[] {
  const p = new SseParser();
  return parts.flatMap((part) => p.feed(part));
}

describe('SseParser', () => {
  it('handles CRLF line ends split across chunks at every position, and bare CR line ends', () => {
    const crlf = 'id: 1\r\ndata: one\r\n\r\nid: 2\r\ndata: two\r\n\r\n';
    for (let i = 0; i <= crlf.length; i++) {
      const p = new SseParser();
      const got = [...p.feed(crlf.slice(0, i)), ...p.feed(crlf.slice(i))];
      expect(got.map((m) => [m.id, m.data])).toEqual([
        ['1', 'one'],
        ['2', 'two'],
      ]);
    }
    const p = new SseParser();
    // Two CRs end the message at once, whether or not an LF follows the second one in the next chunk.
    expect(p.feed('data: x\r\r').map((m) => m.data)).toEqual(['x']);
    expect(p.feed('\ndata: y\r\r').map((m) => m.data)).toEqual(['y']);
    expect(p.feed('\n\r\ndata: z\n\n').map((m) => m.data)).toEqual(['z']);
  });

  it('parses a whole stream fed at once, skipping comments and heartbeats', () => {
    expect(feedAll([stream])).toEqual(expected);
  });

  it('gives the same messages for a split at every position', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(feedAll([stream.slice(0, i), stream.slice(i)]), `split at ${i}`).toEqual(expected);
    }
  });

  it('gives the same messages when fed one character at a time', () => {
    expect(feedAll([...stream])).toEqual(expected);
  });

  it('gives the same messages for every split into three parts', () => {
    for (let i = 0; i <= stream.length; i += 3) {
      for (let j = i; j <= stream.length; j += 5) {
        expect(feedAll([stream.slice(0, i), stream.slice(i, j), stream.slice(j)])).toEqual(expected);
      }
    }
  });

  it('returns a message only once its blank line arrives', () => {
    const p = new SseParser();
    expect(p.feed('id: 7\ndata: hello\n')).toEqual([]);
    expect(p.feed('\n')).toEqual([{ id: '7', event: 'message', data: 'hello' }]);
    expect(p.feed('')).toEqual([]);
  });

  it('keeps a partial message across feeds and returns several at once', () => {
    const p = new SseParser();
    expect(p.feed('data: a\n\ndata: b\n\ndata: c')).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
    expect(p.feed('\n\n')).toEqual([{ event: 'message', data: 'c' }]);
  });

  it('understands CRLF line endings when each CRLF arrives in one chunk', () => {
    const crlf = stream.replace(/\n/g, '\r\n');
    expect(feedAll([crlf])).toEqual(expected);
    const parts = crlf.split(/(?<=\r\n)/); // split after every CRLF
    expect(parts.length).toBeGreaterThan(5);
    expect(feedAll(parts)).toEqual(expected);
  });

  it('mixed LF and CRLF', () => {
    expect(feedAll(['id: 3\r\nevent: x\ndata: y\r\n\n'])).toEqual([{ id: '3', event: 'x', data: 'y' }]);
  });

  it('joins multi-line data with newlines', () => {
    expect(feedAll(['data: line one\ndata: line two\ndata:\ndata: line four\n\n'])).toEqual([
      { event: 'message', data: 'line one\nline two\n\nline four' },
    ]);
  });

  it('removes exactly one leading space from a value', () => {
    expect(feedAll(['data:  two spaces\n\n', 'data:none\n\n'])).toEqual([
      { event: 'message', data: ' two spaces' },
      { event: 'message', data: 'none' },
    ]);
  });

  it('keeps colons inside the value', () => {
    expect(feedAll(['data: {"a":"b:c"}\n\n'])).toEqual([{ event: 'message', data: '{"a":"b:c"}' }]);
  });

  it('a field name without a colon has an empty value', () => {
    expect(feedAll(['data\n\n'])).toEqual([{ event: 'message', data: '' }]);
  });

  it('the event type defaults to "message"', () => {
    expect(feedAll(['data: x\n\n'])).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('emits a message with only an id (data empty)', () => {
    expect(feedAll(['id: 42\n\n'])).toEqual([{ id: '42', event: 'message', data: '' }]);
  });

  it('drops a block with neither data nor id', () => {
    expect(feedAll(['event: ping\n\n', ': only a comment\n\n', 'retry: 3000\n\n', 'unknown: field\n\n'])).toEqual([]);
  });

  it('ignores unknown fields and retry inside a message', () => {
    expect(feedAll(['retry: 100\nfoo: bar\ndata: x\n\n'])).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('the last id and event in a block win', () => {
    expect(feedAll(['id: 1\nid: 2\nevent: a\nevent: b\ndata: x\n\n'])).toEqual([{ id: '2', event: 'b', data: 'x' }]);
  });

  it('an empty id is kept as the empty string', () => {
    expect(feedAll(['id:\ndata: x\n\n'])).toEqual([{ id: '', event: 'message', data: 'x' }]);
  });

  it('ignores extra blank lines between messages', () => {
    expect(feedAll(['\n\n\n\ndata: a\n\n\n\n\ndata: b\n\n'])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
  });

  it('a comment line inside a message does not end it', () => {
    expect(feedAll(['data: a\n: keepalive\ndata: b\n\n'])).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('does not share state between parsers', () => {
    const a = new SseParser();
    const b = new SseParser();
    expect(a.feed('data: from a')).toEqual([]);
    expect(b.feed('data: from b\n\n')).toEqual([{ event: 'message', data: 'from b' }]);
    expect(a.feed('\n\n')).toEqual([{ event: 'message', data: 'from a' }]);
  });

  it('keeps unicode intact', () => {
    expect(feedAll(['data: héllo ✓ 🚀\n', '\n'])).toEqual([{ event: 'message', data: 'héllo ✓ 🚀' }]);
  });
});

/**
 * The characters string and array methods touch while `fn` runs: searches count what they scan, copies
 * (slice, substring, join) what they produce, and whole-string operations (replace, split, match, …)
 * the whole string. A parser that re-reads or copies its buffer on every chunk counts far more than its
 * input; a linear one a small multiple of it.
 */
function charsTouched(fn: () => void): number {
  const sp = String.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const ap = Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved: Array<[Record<string, (...a: unknown[]) => unknown>, string, (...a: unknown[]) => unknown]> = [];
  let n = 0;
  const wrap = (proto: typeof sp, name: string, cost: (self: string, args: unknown[], result: unknown) => number) => {
    const orig = proto[name] as (...a: unknown[]) => unknown;
    saved.push([proto, name, orig]);
    proto[name] = function (this: string, ...args: unknown[]) {
      const result = orig.apply(this, args);
      n += cost(this, args, result);
      return result;
    };
  };
  const scan = (self: string, args: unknown[], result: unknown) => {
    const from = Math.max(0, Number(args[1] ?? 0) || 0);
    return typeof result === 'number' && result >= 0 ? result - from + String(args[0]).length : self.length - from;
  };
  for (const name of ['indexOf', 'includes']) wrap(sp, name, scan);
  wrap(sp, 'lastIndexOf', (self) => self.length);
  for (const name of ['slice', 'substring', 'substr', 'concat']) wrap(sp, name, (_s, _a, r) => String(r).length);
  for (const name of ['replace', 'replaceAll', 'split', 'match', 'matchAll', 'search', 'trim', 'trimStart', 'trimEnd', 'normalize']) wrap(sp, name, (self) => self.length);
  wrap(ap, 'join', (_s, _a, r) => String(r).length);
  try {
    fn();
  } finally {
    for (const [proto, name, orig] of saved.reverse()) proto[name] = orig;
  }
  return n;
}

describe('SseParser work is linear in its input', () => {
  it('a 512 KiB data line fed in 512-byte chunks is scanned and copied a bounded number of times', () => {
    const payload = JSON.stringify({ seq: 1, type: 'provider.text', data: { text: 'x'.repeat(512 * 1024) } });
    const input = `: connected\n\nid: 1\nevent: provider.text\ndata: ${payload}\n\n`;
    const chunks: string[] = [];
    for (let i = 0; i < input.length; i += 512) chunks.push(input.slice(i, i + 512));
    const p = new SseParser();
    const got: SseMessage[] = [];
    const work = charsTouched(() => {
      for (const c of chunks) got.push(...p.feed(c));
    });
    expect(got).toEqual([{ id: '1', event: 'provider.text', data: payload }]);
    expect(work).toBeLessThan(10 * input.length);
  });

  it('20 000 short messages in one chunk are parsed without re-reading the rest of the chunk for each', () => {
    const input = Array.from({ length: 20_000 }, (_, i) => `id: ${i + 1}\ndata: {"n":${i}}\n\n`).join('');
    const p = new SseParser();
    let got: SseMessage[] = [];
    const work = charsTouched(() => {
      got = p.feed(input);
    });
    expect(got).toHaveLength(20_000);
    expect(got[19_999]).toEqual({ id: '20000', event: 'message', data: '{"n":19999}' });
    expect(work).toBeLessThan(10 * input.length);
  });
});

describe('SseParser on big lines', () => {
  const big = `${'é✓🚀 line '.repeat(600)}end`;
  const stream = `: connected\n\nid: 1\r\nevent: a\r\ndata: ${big}\r\n\r\nid: 2\rdata: ${big}\rdata: second\r\rid: 3\ndata: small\n\n`;
  const want: SseMessage[] = [
    { id: '1', event: 'a', data: big },
    { id: '2', event: 'message', data: `${big}\nsecond` },
    { id: '3', event: 'message', data: 'small' },
  ];

  it('gives the same messages for a split at every position of a stream with lines of several thousand characters', () => {
    expect(feedAll([stream])).toEqual(want);
    for (let i = 0; i <= stream.length; i++) {
      const got = feedAll([stream.slice(0, i), stream.slice(i)]);
      if (got.length !== 3 || got[0]?.data !== big || got[1]?.data !== want[1]?.data || got[2]?.id !== '3') {
        expect(got, `split at ${i}`).toEqual(want);
      }
    }
  });

  it('gives the same messages for chunks of every size from 1 to 97 characters', () => {
    for (let size = 1; size <= 97; size++) {
      const parts: string[] = [];
      for (let i = 0; i < stream.length; i += size) parts.push(stream.slice(i, i + size));
      expect(feedAll(parts), `chunks of ${size}`).toEqual(want);
    }
  });
});
