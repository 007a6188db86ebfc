import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants as fsc, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { RunSpool } from '../engine/provider.js';
import { RUN_MARKER, launcherAlive, processStartedAt, stopRun } from '../util/procgroup.js';
import { readExitStatus, spoolPath } from '../util/spool.js';
import { reaper } from './reaper.js';

/**
 * Every agent process runs detached from the daemon, spooled to files, so that it outlives a daemon crash
 * and a restarted daemon can re-attach to it:
 *
 * 1. A small launcher (`/bin/sh`, the script below) starts in its own session and process group with the
 *    run's marker in its environment, and waits for a go on its stdin.
 * 2. The run's record (launcher pid = pgid, spool folder, deadline) is committed (`spool.launched`); only
 *    then does the launcher get its go — so no agent ever runs without its record. A daemon that dies
 *    before the go closes the pipe, and the launcher exits without starting anything.
 * 3. The launcher runs the agent with the prompt file on stdin and stdout/stderr appended to spool files,
 *    waits for it and writes its exit status to the `exit` file.
 * 4. The daemon follows the spool files (never holding a whole output in memory) and hands each line to
 *    the adapter; it ends when the exit status is written (or the launcher died without one).
 *
 * Abort (cancel, timeout, budget, shutdown) kills the group and every process carrying the run's marker —
 * unless the agent already ended: an exit recorded before the abort stands. At the end of every run the
 * reaper kills whatever the run left behind (background and `setsid` grandchildren included).
 */
export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** The prompt, given to the agent as its stdin. Undefined: stdin is /dev/null. */
  stdin?: string;
  signal: AbortSignal;
  /** @default 3000 */
  graceMs?: number;
  /** A line of stdout (without its newline); `bytes` is its whole length when it was cut to `maxLineBytes`. */
  onStdoutLine?(line: string, cut?: { bytes: number }): void;
  onStderrLine?(line: string, cut?: { bytes: number }): void;
  /** Lines longer than this are cut (the spool keeps them whole). @default MAX_LINE_BYTES */
  maxLineBytes?: number;
  /** Bytes of stderr kept for error messages (the tail). @default 64 KiB */
  stderrKeep?: number;
  /** Return stdout in the result (adapters that parse it line by line turn this off). @default true */
  keepStdout?: boolean;
  /** The run's spool (from the RunRequest). Without one, a private temporary spool is used and removed. */
  spool?: RunSpool;
}

export interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /**
   * Full stdout exactly as the agent wrote it ('' when `keepStdout` is false); only its head when it is
   * larger than the spool's `maxOutputBytes` (then `stdoutFile` refers to the whole).
   */
  stdout: string;
  stdoutFile?: { path: string; bytes: number };
  /** The last `stderrKeep` bytes of stderr. */
  stderrTail: string;
  /** True when the run ended because `signal` aborted. */
  aborted: boolean;
  /** The agent could not be started (ENOENT, EACCES): the error message. */
  spawnError?: string;
}

export { groupAlive, killGroup, terminateGroup } from '../util/procgroup.js';

/** The launcher: `sh -c LAUNCHER tetora-launcher <spoolDir> <command> [args...]`. */
export const LAUNCHER = [
  // Its own variables have names no environment uses: an agent's variables reach it unchanged.
  '__tetora_dir=$1; shift',
  // The go comes once the daemon has recorded the run; end of input (the daemon died first): never start.
  'IFS= read -r __tetora_go || exit 0',
  '[ "$__tetora_go" = go ] || exit 0',
  'exec 0</dev/null',
  'unset __tetora_go',
  // From here on the agent may have started: a restarted daemon adopts the run only if this file exists.
  ': >"$__tetora_dir/started"',
  '__tetora_in=/dev/null; [ -e "$__tetora_dir/stdin" ] && __tetora_in="$__tetora_dir/stdin"',
  // A signal to the group reaches the agent too; the launcher waits for the agent, then records its status.
  "trap ':' TERM INT HUP",
  // The command is an absolute path (never a shell builtin of the same name).
  '"$@" <"$__tetora_in" >>"$__tetora_dir/stdout" 2>>"$__tetora_dir/stderr"',
  'printf "%s\\n" "$?" >"$__tetora_dir/exit"',
].join('\n');

/** The longest line handed to an adapter; the rest of a longer line is dropped (the spool keeps it). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
/** What the result keeps of an output left in its spool file. */
const HEAD_BYTES = 64 * 1024;
/**
 * What one read of a spool file takes. Every line of it becomes an event in the same turn of the event
 * loop, so this bounds the work of a turn (many short lines) and keeps the daemon answering.
 */
const CHUNK = 32 * 1024;

/**
 * The executable `command` names, resolved as execvp would (PATH, relative to `cwd`): its absolute path, or
 * why it cannot be run (ENOENT, EACCES).
 */
export function resolveExecutable(command: string, path: string | undefined, cwd: string): { path: string } | { error: string } {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd, command)] : (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(Boolean).map((d) => join(resolve(cwd, d), command));
  let denied = false;
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
    } catch {
      continue;
    }
    try {
      accessSync(c, fsc.X_OK);
      return { path: c };
    } catch {
      denied = true;
    }
  }
  return { error: `spawn ${command} ${denied ? 'EACCES' : 'ENOENT'}` };
}

/** A temporary spool for a run without one (doctor probes, adapter tests); removed after the run. */
function temporarySpool(): RunSpool {
  return {
    dir: mkdtempSync(join(tmpdir(), 'tetora-run-')),
    marker: `tmp/${randomUUID()}/1`,
    seen: { out: 0, err: 0 },
    replaying: false,
    maxOutputBytes: Number.MAX_SAFE_INTEGER,
    launched: () => {},
    advanced: () => {},
  };
}

export async function spawnGroup(opts: SpawnOptions): Promise<SpawnResult> {
  if (opts.spool) return runSpooled(opts, opts.spool);
  const spool = temporarySpool();
  try {
    return await runSpooled(opts, spool);
  } finally {
    rmSync(spool.dir, { recursive: true, force: true });
  }
}

async function runSpooled(opts: SpawnOptions, spool: RunSpool): Promise<SpawnResult> {
  const grace = opts.graceMs ?? 3000;
  const empty = (extra: Partial<SpawnResult>): SpawnResult => ({ code: null, signal: null, stdout: '', stderrTail: '', aborted: false, ...extra });
  let child: ChildProcess | undefined;
  let leaderExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let wake: () => void = () => {};
  let pid: number;
  if (spool.adopt) {
    pid = spool.adopt.pid;
  } else {
    if (opts.signal.aborted) return empty({ aborted: true });
    const exe = resolveExecutable(opts.command, opts.env.PATH, opts.cwd);
    if ('error' in exe) return empty({ spawnError: `cannot run ${opts.command}: ${exe.error}` });
    mkdirSync(spool.dir, { recursive: true, mode: 0o700 });
    for (const f of ['stdout', 'stderr'] as const) closeSync(openSync(spoolPath(spool.dir, f), 'w', 0o600));
    if (opts.stdin !== undefined) writeFileSync(spoolPath(spool.dir, 'stdin'), opts.stdin, { mode: 0o600 });
    const started = spawn('/bin/sh', ['-c', LAUNCHER, 'tetora-launcher', spool.dir, exe.path, ...opts.args], {
      cwd: opts.cwd,
      env: { ...opts.env, [RUN_MARKER]: spool.marker },
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child = started;
    if (started.pid === undefined) {
      const err = await new Promise<Error>((r) => started.once('error', r));
      return empty({ spawnError: `cannot run ${opts.command}: ${err.message}` });
    }
    started.on('error', () => {});
    started.stdin!.on('error', () => {});
    started.on('exit', (code, signal) => {
      leaderExit = { code, signal };
      wake();
    });
    pid = started.pid;
    try {
      spool.launched({ pid, pidStartedAt: processStartedAt(pid) ?? null });
    } catch (err) {
      // Not recorded: the launcher never gets its go and exits without starting the agent.
      started.stdin!.destroy();
      throw err;
    }
    started.stdin!.end('go\n');
  }
  const leaderGone = () => (child ? leaderExit !== undefined : !launcherAlive(pid, spool.marker));

  let aborted = false;
  let stopping: Promise<unknown> | undefined;
  const onAbort = () => {
    // A run whose agent already ended keeps its outcome, whatever arrives after (a deadline passed while
    // the daemon was paused, a cancel racing the exit).
    if (readExitStatus(spool.dir)) return;
    aborted = true;
    stopping = stopRun(pid, spool.marker, grace).finally(() => wake());
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) onAbort();

  const keep = opts.stderrKeep ?? 64 * 1024;
  let stderr = '';
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const out = new SpoolReader(spoolPath(spool.dir, 'stdout'), spool.seen.out, maxLine, (line, replay, cut) => {
    spool.replaying = replay;
    opts.onStdoutLine?.(line, cut);
  });
  const err = new SpoolReader(spoolPath(spool.dir, 'stderr'), spool.seen.err, maxLine, (line, replay, cut) => {
    spool.replaying = replay;
    stderr += `${line}\n`;
    if (stderr.length > keep * 2) stderr = stderr.slice(-keep);
    opts.onStderrLine?.(line, cut);
  });
  try {
    await out.open();
    await err.open();
    let idle = 0;
    let endAt: { out: number; err: number } | undefined;
    for (;;) {
      // Read what is there; once the run has ended, only up to the sizes seen then (a grandchild that
      // keeps writing cannot hold the run open).
      if (!endAt && (readExitStatus(spool.dir) || leaderGone())) endAt = { out: await out.size(), err: await err.size() };
      const n = (await out.pump(endAt?.out)) + (await err.pump(endAt?.err));
      spool.replaying = false;
      if (n > 0) {
        spool.advanced(out.consumed, err.consumed);
        idle = 0;
        continue;
      }
      if (endAt) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(5 * 2 ** idle, 100));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = () => {};
      idle++;
    }
    out.finish();
    err.finish();
    spool.replaying = false;
    spool.advanced(out.consumed, err.consumed);
  } catch (e) {
    // Following the run failed (an adapter threw on a line, the spool vanished): the run must not go on
    // unwatched. The caller fails the task with the reason.
    await stopRun(pid, spool.marker, grace).catch(() => {});
    throw e;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    await out.close();
    await err.close();
  }
  if (stopping) await stopping;
  // Whatever the run left behind (background or setsid grandchildren) goes now.
  reaper.reap(pid, spool.marker, grace);

  const status = readExitStatus(spool.dir);
  const result: SpawnResult = {
    code: status ? status.code : null,
    signal: status ? status.signal : (leaderExit?.signal ?? 'SIGKILL'),
    stdout: '',
    stderrTail: stderr.slice(-keep),
    aborted,
  };
  if (opts.keepStdout ?? true) {
    const path = spoolPath(spool.dir, 'stdout');
    const bytes = statSync(path).size;
    // Exactly the bytes there were when the run ended (a leftover child may still be writing).
    if (bytes <= spool.maxOutputBytes) result.stdout = readHead(path, bytes);
    else {
      // A character cut at the end of the head is dropped rather than shown as U+FFFD.
      result.stdout = readHead(path, HEAD_BYTES).replace(/\uFFFD$/, '');
      result.stdoutFile = { path, bytes };
    }
  }
  return result;
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows one spool file: reads it in chunks from where it stopped and hands out whole lines (without
 * their `\n` or a `\r` before it). Lines ending at or before `quietUntil` are replays of lines whose events
 * are already recorded (a re-attached run). Lines longer than MAX_LINE_BYTES are cut. Linear in the
 * input: a partial line is kept as a list of chunks and joined once its end arrives.
 */
export class SpoolReader {
  #fh: FileHandle | undefined;
  #pos = 0;
  #parts: Buffer[] = [];
  #partLen = 0;
  #cut = false;
  #lineBytes = 0;
  /** Offset just past the last whole line handed out. */
  consumed = 0;
  readonly #buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    readonly path: string,
    readonly quietUntil: number,
    readonly maxLine: number,
    readonly onLine: (line: string, replay: boolean, cut?: { bytes: number }) => void,
  ) {}

  async open(): Promise<void> {
    this.#fh = await open(this.path, 'r');
  }

  async size(): Promise<number> {
    return (await this.#fh!.stat()).size;
  }

  /** Read one chunk (not past `limit`); returns the bytes read. */
  async pump(limit?: number): Promise<number> {
    const want = limit === undefined ? CHUNK : Math.min(CHUNK, limit - this.#pos);
    if (want <= 0) return 0;
    const { bytesRead } = await this.#fh!.read(this.#buf, 0, want, this.#pos);
    if (bytesRead === 0) return 0;
    const start = this.#pos;
    this.#pos += bytesRead;
    this.#take(this.#buf, bytesRead, start);
    return bytesRead;
  }

  #take(buf: Buffer, n: number, fileOffset: number): void {
    let from = 0;
    for (;;) {
      const nl = buf.indexOf(10, from);
      if (nl < 0 || nl >= n) break;
      if (this.#partLen === 0 && !this.#cut && nl - from <= this.maxLine) {
        // A whole line inside this chunk: decoded straight from it.
        const end = nl > from && buf[nl - 1] === 13 ? nl - 1 : nl;
        this.consumed = fileOffset + nl + 1;
        this.onLine(buf.toString('utf8', from, end), this.consumed <= this.quietUntil);
      } else {
        this.#keep(buf, from, nl);
        this.#emit(fileOffset + nl + 1);
      }
      from = nl + 1;
    }
    if (from < n) this.#keep(buf, from, n);
  }

  #keep(buf: Buffer, from: number, to: number): void {
    this.#lineBytes += to - from;
    if (this.#cut) return;
    const room = this.maxLine - this.#partLen;
    const len = Math.min(to - from, room);
    if (len > 0) {
      this.#parts.push(Buffer.from(buf.subarray(from, from + len)));
      this.#partLen += len;
    }
    if (to - from > room) this.#cut = true;
  }

  #emit(end: number): void {
    const whole = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#partLen);
    let len = whole.length;
    if (len > 0 && whole[len - 1] === 13) len--;
    const line = whole.toString('utf8', 0, len);
    const cut = this.#cut ? { bytes: this.#lineBytes } : undefined;
    this.#parts = [];
    this.#partLen = 0;
    this.#lineBytes = 0;
    this.#cut = false;
    this.consumed = end;
    this.onLine(line, end <= this.quietUntil, cut);
  }

  /** The run ended: a last line without its newline is handed out too. */
  finish(): void {
    if (this.#partLen > 0 || this.#cut) this.#emit(this.#pos);
  }

  async close(): Promise<void> {
    await this.#fh?.close();
    this.#fh = undefined;
  }
}
