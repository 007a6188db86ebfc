/**
 * The CLI's large outputs, as a child process against the real daemon (and against the store once the
 * daemon is gone): stdout backpressure reaches the daemon's event stream (or the store's paging) instead of
 * the CLI's memory, a reader that goes away (`| head`) is a normal end, and `dispatch --wait` prints an
 * output larger than the task row keeps in full.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binPath } from '../helpers/cli.js';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';

/** The fake agent prints LINES lines of LINE_BYTES bytes: one `provider.text` event each. */
const LINES = 60_000;
const LINE_BYTES = 1200;
/** The CLI runs with a V8 heap this small: holding the event stream (about 80 MB of JSON lines) in memory cannot fit. */
const HEAP_MB = 40;
/** How much resident memory the CLI may reach while its reader holds back (node itself takes about 50-70 MB). */
const MAX_RSS_KB = 150 * 1024;
/** How long the reader holds back before it reads. */
const HOLD_MS = 8000;

let d: DaemonHarness;
let id: string;

beforeAll(async () => {
  d = await DaemonHarness.create();
  await d.start();
  const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ bigOutput: LINES * LINE_BYTES, lineBytes: LINE_BYTES, silent: true }) }, '?wait=true&timeout=5m');
  expect(res.body.tasks[0]?.status).toBe('succeeded');
  id = res.body.id!;
}, 180_000);

afterAll(async () => {
  await d?.stop();
});

const procStatus = (pid: number, field: string): number | undefined => {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // gone
  }
};

/** Does process `pid` hold a TCP connection to 127.0.0.1:`port`? (/proc/net/tcp and the process's socket fds) */
function holdsConnectionTo(pid: number, port: number): boolean {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length > 9 && Number.parseInt((f[2] ?? '').split(':')[1] ?? '', 16) === port && f[3] === '01') // ESTABLISHED
        .map((f) => f[9] as string),
    );
  } catch {
    return false;
  }
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1] as string);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

interface Held {
  child: ChildProcess;
  /** Peak resident memory (kB) when the reader started to read. */
  peakKb: number | undefined;
  /** Whether the CLI still held its connection to the daemon then. */
  connected: boolean;
  /** Everything it printed, read after the hold. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Runs `tetora <args>` with a small heap and a reader that reads nothing for HOLD_MS (or until the CLI
 * exits, or drops its connection to the daemon, or passes MAX_RSS_KB), then reads everything.
 */
async function holdThenRead(args: string[], opts: { online: boolean }): Promise<Held> {
  const child = spawn(process.execPath, [binPath, '--config', d.configPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TETORA_HOME: d.home, NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const pid = child.pid!;
  // The hold counts from the CLI's connection to the daemon (a loaded machine may take seconds to start it).
  let end = Date.now() + (opts.online ? 30_000 : HOLD_MS);
  let sawConnection = false;
  let connected = false;
  while (Date.now() < end && !gone) {
    const rss = procStatus(pid, 'VmHWM');
    if (rss !== undefined && rss > MAX_RSS_KB) break;
    if (opts.online) {
      connected = holdsConnectionTo(pid, d.port);
      if (connected && !sawConnection) end = Date.now() + HOLD_MS;
      if (connected) sawConnection = true;
      else if (sawConnection) break; // it read the whole stream
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const peakKb = procStatus(pid, 'VmHWM');
  if (opts.online) connected = holdsConnectionTo(pid, d.port);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const done = exited.then((code) => ({ code, stdout: Buffer.concat(chunks).toString('utf8'), stderr }));
  return { child, peakKb, connected, done };
}

function checkEvents(stdout: string): void {
  const lines = stdout.split('\n');
  expect(lines.pop()).toBe('');
  const events = lines.map((l) => JSON.parse(l) as { seq: number; type: string; data: { text?: string } });
  expect(events.filter((e) => e.type === 'provider.text')).toHaveLength(LINES);
  expect(events.at(-1)?.type).toBe('succeeded');
  for (let i = 1; i < events.length; i++) expect(events[i]!.seq).toBeGreaterThan(events[i - 1]!.seq);
}

describe('CLI: stdout backpressure', () => {
  it('`task logs --json` into a reader that holds back: the daemon waits (the connection stays open), memory stays small, every event arrives', async () => {
    const held = await holdThenRead(['task', 'logs', id, '--json'], { online: true });
    const r = await held.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(held.connected).toBe(true);
    expect(held.peakKb).toBeLessThan(MAX_RSS_KB);
    checkEvents(r.stdout);
  }, 120_000);

  it('`| head` ends the command normally: exit 0, nothing on stderr (task logs, task show, task output)', async () => {
    for (const [args, take, lines] of [
      [['task', 'logs', id, '--json'], 'head -2', 2],
      [['task', 'logs', id], 'head -2', 2],
      [['task', 'show', id, '--json'], 'head -1', 1],
      [['task', 'output', id], 'head -3', 3],
    ] as const) {
      const r = await headPipe([...args], take);
      expect(r, args.join(' ')).toEqual({ status: 0, stderr: '', lines });
    }
  }, 120_000);

  it('without a daemon, `task logs --json` reads the store a page at a time as the reader takes it; `| head` ends it normally', async () => {
    const drained = await d.cli(['drain']);
    expect(drained.code).toBe(0);
    await d.exited();
    const held = await holdThenRead(['task', 'logs', id, '--json'], { online: false });
    const r = await held.done;
    expect(r.stderr).toContain('reading the store');
    expect(r.code).toBe(0);
    expect(held.peakKb).toBeLessThan(MAX_RSS_KB);
    checkEvents(r.stdout);

    expect(await headPipe(['task', 'logs', id, '--json'], 'head -2')).toMatchObject({ status: 0, lines: 2 });
  }, 120_000);
});

/** `tetora <args> | <take>` in bash: the CLI's exit status, its stderr (offline notes removed) and the number of lines `take` printed. */
function headPipe(args: string[], take: string): Promise<{ status: number; stderr: string; lines: number }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cli = [process.execPath, binPath, '--config', d.configPath, ...args].map(quote).join(' ');
  const script = `${cli} 2>"$ERRFILE" | ${take} | wc -l; echo "status=\${PIPESTATUS[0]}"; cat "$ERRFILE"`;
  return new Promise((resolve, reject) => {
    const errFile = `${d.home}/head-stderr.txt`;
    const child = spawn('bash', ['-c', script], { env: { ...process.env, TETORA_HOME: d.home, ERRFILE: errFile }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', () => {
      const [count, status, ...rest] = out.split('\n');
      resolve({
        lines: Number(count?.trim()),
        status: Number(status?.replace('status=', '')),
        stderr: rest.join('\n').replace(/^tetora: no daemon answers at .*\n/m, ''),
      });
    });
  });
}

const pool = daemonPool();

describe('CLI: dispatch --wait and an output larger than the task row keeps', () => {
  it('prints the whole output (streamed from the spool), not the head the row keeps', async () => {
    const small = await pool.start({ maxOutputBytes: 1000 });
    // Larger than the head a task row keeps of an output beyond maxOutputBytes (64 KiB).
    const text = Array.from({ length: 4000 }, (_, i) => `line ${String(i).padStart(4, '0')} of a long answer`).join('\n');
    const r = await small.cli(['dispatch', '-', '--agent', 'a', '--wait'], small.prompt({ out: text }));
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(text.length + 1);
    expect(r.stdout).toBe(`${text}\n`);
    const json = await small.cli(['dispatch', '-', '--agent', 'a', '--wait', '--json'], small.prompt({ out: text }));
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'succeeded', outputTruncated: true, outputBytes: Buffer.byteLength(text) });
  });
});
