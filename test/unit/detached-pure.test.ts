import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSpool } from '../../src/doctor/checks.js';
import { spoolFact } from '../../src/doctor/gather.js';
import { missingNames, waitingReason } from '../../src/engine/availability.js';
import { shortenEventData } from '../../src/engine/shorten.js';
import { SpoolReader } from '../../src/providers/spawn.js';
import { isStoreUnavailable } from '../../src/store/errors.js';
import { parseExitStatus } from '../../src/util/spool.js';

describe('the launcher exit file', () => {
  it('reads a whole status line; a line still being written is not a status; 129–192 is death by signal', () => {
    expect(parseExitStatus('0\n')).toEqual({ code: 0, signal: null });
    expect(parseExitStatus('3\n')).toEqual({ code: 3, signal: null });
    expect(parseExitStatus('143\n')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(parseExitStatus('137\n')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(parseExitStatus('')).toBeUndefined();
    expect(parseExitStatus('14')).toBeUndefined();
    expect(parseExitStatus('x\n')).toBeUndefined();
  });
});

describe('progress events of huge lines', () => {
  it('cuts long strings to the head, says by how much, copies instead of slicing, and leaves short data alone', () => {
    const data = { text: 'a'.repeat(100), id: 7 };
    expect(shortenEventData(data, 200)).toBe(data);
    const cut = shortenEventData({ text: 'b'.repeat(300), other: 'c' }, 200);
    expect(cut).toEqual({ text: `${'b'.repeat(200)}…`, other: 'c', truncated: { text: 300 } });
    // An adapter that already cut a line says so; it is not cut again.
    const pre = { text: `${'d'.repeat(200)}…`, truncated: { text: 5000 } };
    expect(shortenEventData(pre, 200)).toBe(pre);
  });
});

describe('tasks of a removed agent or provider', () => {
  const cfg = { agents: { a: {} }, providers: { p: {} }, configPath: '/h/config.json' } as never;
  it('wait with a reason that names what is missing and what to do', () => {
    expect(waitingReason({ agent: 'a', provider: 'p' }, cfg)).toBeUndefined();
    expect(waitingReason({ agent: 'gone', provider: 'p' }, cfg)).toMatch(/agent "gone" is not in the config \(\/h\/config.json\); the task waits until it is added back/);
    expect(waitingReason({ agent: 'a', provider: 'old' }, cfg)).toMatch(/provider "old" is not in the config/);
    expect(waitingReason({ agent: 'toString', provider: null }, cfg)).toMatch(/agent "toString"/);
    expect(missingNames({ agents: ['a', 'gone'], providers: ['p', 'old'] }, cfg)).toEqual({ agents: ['gone'], providers: ['old'] });
  });
});

describe('store errors', () => {
  it('tells a store that refuses writes for now from a bug', () => {
    expect(isStoreUnavailable(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('readonly'), { code: 'SQLITE_READONLY' }))).toBe(true);
    expect(isStoreUnavailable(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(false);
    expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
  });
});

describe('following a spool file', () => {
  async function lines(content: Buffer, opts: { quietUntil?: number; maxLine?: number; chunkEnds?: number[] } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-spool-'));
    const path = join(dir, 'stdout');
    writeFileSync(path, '');
    const got: Array<{ line: string; replay: boolean; cut?: number }> = [];
    const r = new SpoolReader(path, opts.quietUntil ?? 0, opts.maxLine ?? 1024, (line, replay, cut) => got.push({ line, replay, ...(cut ? { cut: cut.bytes } : {}) }));
    await r.open();
    // Written in pieces, as an agent would: the reader sees partial lines.
    let at = 0;
    for (const end of [...(opts.chunkEnds ?? []), content.length]) {
      writeFileSync(path, content.subarray(at, end), { flag: 'a' });
      at = end;
      while ((await r.pump()) > 0);
    }
    r.finish();
    await r.close();
    return { got, consumed: r.consumed };
  }

  it('hands out whole lines across reads, strips CR before LF, and a last line without newline at the end', async () => {
    const { got, consumed } = await lines(Buffer.from('one\r\ntw'), { chunkEnds: [2, 6] });
    expect(got.map((g) => g.line)).toEqual(['one', 'tw']);
    expect(consumed).toBe(7);
    const multi = await lines(Buffer.from('ä€😀\nsecond\n'), { chunkEnds: [1, 3, 5] });
    expect(multi.got.map((g) => g.line)).toEqual(['ä€😀', 'second']);
  });

  it('marks lines already recorded (before quietUntil) as replays', async () => {
    const { got } = await lines(Buffer.from('a\nb\nc\n'), { quietUntil: 4 });
    expect(got).toEqual([
      { line: 'a', replay: true },
      { line: 'b', replay: true },
      { line: 'c', replay: false },
    ]);
  });

  it('cuts a line longer than the limit, saying how long it was, and goes on with the next', async () => {
    const { got } = await lines(Buffer.from(`${'x'.repeat(5000)}\nnext\n`), { maxLine: 100, chunkEnds: [1000, 3000] });
    expect(got).toEqual([
      { line: 'x'.repeat(100), replay: false, cut: 5000 },
      { line: 'next', replay: false },
    ]);
  });
});

describe('doctor: run spools', () => {
  it('counts run folders and bytes, and a missing root is empty', () => {
    const root = mkdtempSync(join(tmpdir(), 'tetora-runs-'));
    expect(spoolFact(join(root, 'none'))).toEqual({ path: join(root, 'none'), runs: 0, bytes: 0 });
    const run = join(root, 'task-1', '1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'stdout'), 'x'.repeat(2048));
    expect(spoolFact(root)).toEqual({ path: root, runs: 1, bytes: 2048 });
    expect(checkSpool({ path: root, runs: 1, bytes: 2048 })).toMatchObject({ ok: true, detail: expect.stringContaining('1 run folder(s), 2.0 KiB') });
    expect(checkSpool({ path: root, error: 'EACCES' })).toMatchObject({ ok: false, fix: expect.stringContaining('readable and writable') });
  });
});

