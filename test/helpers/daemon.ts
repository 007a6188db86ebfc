import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import { SseParser } from '../../src/cli/client.js';
import { markedProcesses } from '../../src/util/procgroup.js';
import { binPath, freePort, runCli as runTetora, type CliResult } from './cli.js';
import { Harness } from './engine-harness.js';

export const TOKEN = 'test-token-0123456789abcdef';
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

export interface TaskJson {
  id: string;
  status: string;
  attempt: number;
  runs: number;
  output?: string | null;
  error: { class: string | null; message: string } | null;
  [k: string]: unknown;
}

/**
 * The real daemon (`tetora serve`) as a child process on a temp TETORA_HOME whose agents run the fake
 * agent through the `command` provider (see engine-harness.ts). Logs (JSON lines) are collected.
 */
export class DaemonHarness extends Harness {
  child: ChildProcess | undefined;
  port = 0;
  logs: Array<Record<string, unknown>> = [];
  #exit: Promise<number | null> | undefined;

  static async create(raw: Record<string, unknown> = {}): Promise<DaemonHarness> {
    const port = await freePort();
    return new DaemonHarness(port, raw);
  }

  private constructor(port: number, readonly raw: Record<string, unknown>) {
    super({ listenAddr: `127.0.0.1:${port}`, apiToken: TOKEN, ...raw });
    this.port = port;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  #started = false;

  /**
   * Starts `tetora serve` and resolves once it listens. The first start lets the kernel pick the port
   * (no window for another test to take it) and records it in the config for the CLI; a restart reuses it.
   * `port` asks for that port instead (the first start rejects when it is taken); `env` adds to its environment.
   */
  start(opts: { port?: number; env?: Record<string, string>; entry?: string } = {}): Promise<void> {
    const listen = `127.0.0.1:${opts.port ?? (this.#started ? this.port : 0)}`;
    // `entry`: another script taking the same arguments (e.g. serve-recording.mjs, a daemon with a recording workflow starter).
    const child = spawn(process.execPath, [opts.entry ?? binPath, '--config', this.configPath, 'serve', '--log-format', 'json', '--listen', listen], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env, TETORA_ANNOUNCE: '1', TETORA_HOME: this.home },
    });
    this.child = child;
    this.#exit = new Promise((r) => child.once('exit', (code) => r(code)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ msg: line });
      }
    });
    return new Promise((res, rej) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.startsWith('LISTENING ')) return;
        this.port = Number(line.slice(10));
        if (!this.#started) {
          this.#started = true;
          this.writeConfig({ ...(JSON.parse(readFileSync(this.configPath, 'utf8')) as Record<string, unknown>), listenAddr: `127.0.0.1:${this.port}` });
        }
        res();
      });
      child.once('exit', (code) => rej(new Error(`daemon exited early with ${code}: ${this.logs.map((l) => l.msg).join(' | ')}`)));
    });
  }

  /** Resolves to the exit code once the daemon has exited. */
  exited(): Promise<number | null> {
    return this.#exit ?? Promise.resolve(null);
  }

  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  hasLog(msg: string): boolean {
    return this.logs.some((l) => typeof l.msg === 'string' && l.msg.includes(msg));
  }

  fetch(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? TOKEN : init.token;
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${this.base}${path}`, { ...init, headers });
  }

  async json<T = Record<string, unknown>>(path: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await this.fetch(path, init);
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  }

  async dispatch(tasks: unknown, query = ''): Promise<{ status: number; body: { id?: string; tasks: TaskJson[] } }> {
    return this.json(`/api/dispatch${query}`, { method: 'POST', body: JSON.stringify(tasks) });
  }

  task(id: string): Promise<TaskJson> {
    return this.json<TaskJson>(`/api/tasks/${id}`).then((r) => r.body);
  }

  /** Polls the API until every task is terminal (fails the test after the deadline). */
  async waitTerminal(ids: string[], deadlineMs = 45_000): Promise<TaskJson[]> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const tasks = await Promise.all(ids.map((id) => this.task(id)));
      if (tasks.every((t) => TERMINAL.has(t.status))) return tasks;
      if (Date.now() > end) throw new Error(`tasks not terminal within ${deadlineMs} ms: ${tasks.map((t) => `${t.id}=${t.status}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs the CLI against this daemon's config; resolves with code, stdout and stderr. */
  cli(args: string[], input?: string): Promise<CliResult> {
    return runCli(['--config', this.configPath, ...args], { TETORA_HOME: this.home }, input);
  }

  /** Rows of a read-only query on this home's store (a connection of its own, closed after; safe while the daemon runs). */
  query<T>(sql: string, ...args: unknown[]): T[] {
    const db = new Database(join(this.home, 'tetora.db'), { readonly: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  }

  /** This home's id, from its store (the first part of every run marker). */
  homeId(): string {
    return (this.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'home_id'`)[0] as { value: string }).value;
  }

  /** Live processes carrying one of this home's run markers (read from /proc). */
  markedPids(): number[] {
    const prefix = `${this.homeId()}/`;
    return markedProcesses((m) => m.startsWith(prefix)).map((p) => p.pid);
  }

  /** Kill whatever this home's runs left (agents and launchers), so a failed test leaves nothing behind. */
  killMarked(): void {
    if (!existsSync(join(this.home, 'tetora.db'))) return;
    for (const pid of this.markedPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited();
    }
  }
}

/** Runs `tetora <args>` with this process's environment plus `env`. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  return runTetora(args, { ...base, ...env }, input === undefined ? {} : { input });
}

/** Reads a Server-Sent Events stream to its end (or until `stop` says so); returns the parsed events. */
export async function readSse(res: Response, stop?: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const m of parser.feed(decoder.decode(chunk, { stream: true }))) {
      const e: SseEvent = { event: m.event, data: JSON.parse(m.data) as Record<string, unknown>, ...(m.id ? { id: m.id } : {}) };
      out.push(e);
      if (stop?.(e)) return out;
    }
  }
  return out;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * Daemons of a test file, killed after each test: `start(raw)` creates one on a temp home and starts it;
 * `track(d)` adds one the test created itself.
 */
export function daemonPool(): { start(raw?: Record<string, unknown>): Promise<DaemonHarness>; track(d: DaemonHarness): DaemonHarness } {
  const daemons: DaemonHarness[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
  });
  return {
    async start(raw = {}) {
      const d = await DaemonHarness.create(raw);
      daemons.push(d);
      await d.start();
      return d;
    },
    track(d) {
      daemons.push(d);
      return d;
    },
  };
}
