import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { groupAlive, terminateGroup } from '../util/procgroup.js';

/**
 * Spawn a child in its own process group (pgid == pid) and kill the whole group — grandchildren too —
 * on abort: SIGTERM, then SIGKILL after a grace period. Output arrives line by line.
 */
export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, which is then closed. Undefined: stdin is /dev/null. */
  stdin?: string;
  signal: AbortSignal;
  /** @default 3000 */
  graceMs?: number;
  onSpawn?(pgid: number): void;
  onStdoutLine?(line: string): void;
  onStderrLine?(line: string): void;
  /** Bytes of stderr kept for error messages (the tail). @default 64 KiB */
  stderrKeep?: number;
  /** Collect stdout into the result (adapters that parse it line by line turn this off). @default true */
  keepStdout?: boolean;
}

export interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Full stdout exactly as the child wrote it ('' when `keepStdout` is false). */
  stdout: string;
  /** The last `stderrKeep` bytes of stderr. */
  stderrTail: string;
  /** True when the run ended because `signal` aborted. */
  aborted: boolean;
  /** Spawn failed (ENOENT, EACCES): the error message. */
  spawnError?: string;
}

export { groupAlive, killGroup, terminateGroup } from '../util/procgroup.js';

export function spawnGroup(opts: SpawnOptions): Promise<SpawnResult> {
  const keep = opts.stderrKeep ?? 64 * 1024;
  return new Promise((resolve) => {
    if (opts.signal.aborted) {
      resolve({ code: null, signal: null, stdout: '', stderrTail: '', aborted: true });
      return;
    }
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let aborted = false;
    let spawnError: string | undefined;
    const pgid = child.pid;

    const onAbort = () => {
      aborted = true;
      if (pgid !== undefined) void terminateGroup(pgid, opts.graceMs ?? 3000);
    };
    if (pgid !== undefined) {
      opts.onSpawn?.(pgid);
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.stdin);
    }
    const keepStdout = opts.keepStdout ?? true;
    // The result keeps the raw text (CRs, blank lines, no final newline as written); readline is for the
    // line callbacks only.
    const outDecoder = new StringDecoder('utf8');
    if (keepStdout) child.stdout!.on('data', (chunk: Buffer) => (stdout += outDecoder.write(chunk)));
    const outLines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
    outLines.on('line', (line) => opts.onStdoutLine?.(line));
    const errLines = createInterface({ input: child.stderr!, crlfDelay: Infinity });
    errLines.on('line', (line) => {
      stderr += `${line}\n`;
      if (stderr.length > keep * 2) stderr = stderr.slice(-keep);
      opts.onStderrLine?.(line);
    });
    let outClosed = false;
    let errClosed = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (!exit || !outClosed || !errClosed) return;
      opts.signal.removeEventListener('abort', onAbort);
      if (keepStdout) stdout += outDecoder.end();
      const result: SpawnResult = { ...exit, stdout, stderrTail: stderr.slice(-keep), aborted };
      if (spawnError !== undefined) result.spawnError = spawnError;
      resolve(result);
    };
    outLines.on('close', () => {
      outClosed = true;
      finish();
    });
    errLines.on('close', () => {
      errClosed = true;
      finish();
    });
    child.on('error', (err) => {
      spawnError = `cannot run ${opts.command}: ${err.message}`;
      exit ??= { code: null, signal: null };
      outClosed = true;
      errClosed = true;
      finish();
    });
    // A grandchild that keeps stdout open would hold 'close' back for ever: once the leader has exited,
    // give the group a moment, then end it.
    child.on('exit', () => {
      if (pgid === undefined) return;
      setTimeout(() => {
        if (groupAlive(pgid)) void terminateGroup(pgid, opts.graceMs ?? 3000);
      }, 500).unref();
    });
    child.on('close', (code, signal) => {
      exit = { code, signal };
      finish();
    });
  });
}
