import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { createStream } from 'rotating-file-stream';
import { TetoraError } from '../errors.js';
import { ensurePrivateDir } from '../util/fsx.js';

/**
 * The daemon's log file: `$TETORA_HOME/logs/tetora.log` (JSON lines, as pino writes them), rotated by size
 * the classical way (tetora.log → tetora.log.1 → … → tetora.log.N, the oldest dropped). Folder 0700, files
 * 0600. rotating-file-stream does the rotation: it renames the file only after the last write to it has
 * been flushed, and opens the new file with our mode, which pino's sonic-boom would need us to redo.
 */
export interface LogFile {
  stream: Writable;
  /** Flush and close (the daemon's last lines included). */
  close(): Promise<void>;
}

export function openLogFile(opts: { path: string; maxSizeBytes: number; maxFiles: number }): LogFile {
  const dir = dirname(opts.path);
  const name = basename(opts.path);
  ensurePrivateDir(dir);
  const kib = Math.max(1, Math.floor(opts.maxSizeBytes / 1024));
  // With `rotate`, the generator gets the rotation's index (null: the live file's name).
  const stream = createStream((index: number | Date | null) => (typeof index === 'number' && index > 0 ? `${name}.${index}` : name), {
    path: dir,
    size: `${kib}K`,
    rotate: opts.maxFiles,
    mode: 0o600,
  });
  // A log file that cannot be written must not take the daemon down: stderr still has every line.
  stream.on('error', (err) => process.stderr.write(`tetora: the log file ${opts.path} cannot be written (${err.message}); logging on stderr only.\n`));
  return {
    stream,
    close: () =>
      new Promise<void>((resolve) => {
        if (stream.destroyed || stream.writableEnded) return resolve();
        stream.end(() => resolve());
        setTimeout(resolve, 2000).unref();
      }),
  };
}

/** The log files of `path`, oldest first (tetora.log.N … tetora.log.1, tetora.log). */
export function logFiles(path: string, maxScan = 100): string[] {
  const out: string[] = [];
  for (let i = maxScan; i >= 1; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`);
  if (existsSync(path)) out.push(path);
  return out;
}

export const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export interface LogFilter {
  /** The lowest level shown (pino's number). */
  minLevel: number;
  /** Epoch ms; lines before it are left out. */
  since?: number;
}

/** `--level L` → pino's number, or TET_ERR_USAGE. Pure. */
export function parseLevel(s: string): number {
  const n = LEVELS[s.toLowerCase()];
  if (n === undefined) throw new TetoraError('TET_ERR_USAGE', `--level "${s}" is not a log level; use one of ${Object.keys(LEVELS).join(', ')}.`, { level: s });
  return n;
}

/**
 * `--since T`: a duration back from `now` ("90s", "15m", "2h", "3d") or a date/time ("2026-12-01",
 * "2026-12-01T10:00:00Z") → epoch ms, or TET_ERR_USAGE. Pure.
 */
export function parseSince(s: string, now: number, flag = '--since'): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(s.trim());
  if (m) return now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as 's'];
  const t = /^\d{4}-\d{2}-\d{2}/.test(s.trim()) ? Date.parse(s.trim()) : NaN;
  if (Number.isFinite(t)) return t;
  throw new TetoraError('TET_ERR_USAGE', `${flag} "${s}" is neither a duration back from now (such as 30m, 2h, 7d) nor a date (such as 2026-12-01 or 2026-12-01T10:00:00Z).`, { since: s });
}

export interface LogRecord {
  level: number;
  time: number;
  msg: string;
  [k: string]: unknown;
}

/** One line of the file → a record (undefined for a line that is not a pino JSON object). Pure. */
export function parseLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (typeof r.level !== 'number' || typeof r.time !== 'number') return undefined;
    return { ...r, msg: typeof r.msg === 'string' ? r.msg : '' } as LogRecord;
  } catch {
    return undefined;
  }
}

export function keep(r: LogRecord, f: LogFilter): boolean {
  return r.level >= f.minLevel && (f.since === undefined || r.time >= f.since);
}

const NAMES = Object.fromEntries(Object.entries(LEVELS).map(([k, v]) => [v, k.toUpperCase()]));
const QUIET = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** A record as one human line: `2026-12-01T10:00:00.000Z INFO  message key=value …`. Pure. */
export function formatRecord(r: LogRecord): string {
  const extra = Object.entries(r)
    .filter(([k]) => !QUIET.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${new Date(r.time).toISOString()} ${(NAMES[r.level] ?? String(r.level)).padEnd(5)} ${r.msg}${extra ? ` ${extra}` : ''}`;
}

/** Every complete line of `file` from byte `from`; returns them and the offset after the last newline. */
export function readLinesFrom(file: string | number, from: number): { lines: string[]; next: number } {
  const fd = typeof file === 'number' ? file : openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= from) return { lines: [], next: from };
    const buf = Buffer.alloc(size - from);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const text = buf.subarray(0, got);
    const last = text.lastIndexOf(10);
    if (last < 0) return { lines: [], next: from };
    return { lines: text.subarray(0, last).toString('utf8').split('\n'), next: from + last + 1 };
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}

/**
 * Follow `path` as `tail -F` does: print what is appended; when the file is rotated (its inode changes,
 * or it shrank), read what is left of the old one, then follow the new one from its start. Resolves when
 * `signal` aborts.
 */
export async function follow(path: string, start: number, onLine: (line: string) => void, signal: AbortSignal, everyMs = 200): Promise<void> {
  let fd: number | undefined;
  let ino = -1;
  let pos = start;
  const open = () => {
    if (!existsSync(path)) return;
    fd = openSync(path, 'r');
    ino = fstatSync(fd).ino;
  };
  open();
  while (!signal.aborted) {
    if (fd !== undefined) {
      const r = readLinesFrom(fd, pos);
      pos = r.next;
      for (const l of r.lines) onLine(l);
    }
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (st && (fd === undefined || st.ino !== ino || st.size < pos)) {
      if (fd !== undefined) {
        // The rest of the rotated file first (it may have got lines since the read above).
        if (st.ino !== ino) for (const l of readLinesFrom(fd, pos).lines) onLine(l);
        closeSync(fd);
        fd = undefined;
      }
      pos = 0;
      open();
      continue;
    }
    await new Promise<void>((r) => {
      const onAbort = () => {
        clearTimeout(t);
        r();
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        r();
      }, everyMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  if (fd !== undefined) closeSync(fd);
}

export function logPathOf(home: string): string {
  return join(home, 'logs', 'tetora.log');
}
