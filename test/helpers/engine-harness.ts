import { afterEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { Engine } from '../../src/engine/engine.js';
import type { TaskEvent, TaskRow } from '../../src/store/tasks.js';
import { ProviderRegistry } from '../../src/providers/registry.js';

export const FAKE_AGENT = resolve(import.meta.dirname, 'fake-agent.mjs');

export interface FakeStep {
  sleepMs?: number;
  out?: string;
  exit?: number;
  stderr?: string;
  resetInMs?: number;
  grandchild?: boolean | 'deaf';
  ignoreTerm?: boolean;
  silent?: boolean;
  setsidChild?: boolean;
  killDaemon?: boolean;
  bigOutput?: number;
  lineBytes?: number;
  inputBytes?: boolean;
}

export interface LogLine {
  event: string;
  taskId: string;
  attempt: number;
  run: number;
  pid: number;
  ppid?: number;
  t: number;
  grandchildPid?: number;
  session?: string | null;
  cwd?: string;
}

/** A temporary TETORA_HOME with a config whose agents run the fake agent through the `command` provider. */
export class Harness {
  readonly home: string;
  readonly logPath: string;
  readonly stateDir: string;
  readonly configPath: string;

  constructor(raw: Record<string, unknown> = {}) {
    this.home = mkdtempSync(join(tmpdir(), 'tetora-engine-'));
    this.logPath = join(this.home, 'agent-log.jsonl');
    this.stateDir = join(this.home, 'agent-state');
    this.configPath = join(this.home, 'config.json');
    const config = {
      maxConcurrent: 8,
      defaultProvider: 'fake',
      defaultWorkdir: this.home,
      retry: { base: 20, cap: 200, maxAttempts: 3 },
      providers: {
        fake: {
          type: 'command',
          path: process.execPath,
          args: [FAKE_AGENT],
          transientPatterns: ['temporarily unavailable'],
          rateLimitPatterns: ['RATE LIMITED'],
        },
      },
      agents: { a: { provider: 'fake' }, b: { provider: 'fake' } },
      ...raw,
    };
    this.writeConfig(config);
  }

  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(this.configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  }

  config(): ResolvedConfig {
    return loadConfig({ configPath: this.configPath, env: { HOME: process.env.HOME, PATH: process.env.PATH } }).config;
  }

  engine(opts: { now?: () => number; instanceId?: string } = {}): Engine {
    const config = this.config();
    return new Engine({ config, providers: new ProviderRegistry(config), killGraceMs: 500, ...opts });
  }

  /** The prompt that makes the fake agent follow `steps`. */
  prompt(...steps: FakeStep[]): string {
    return JSON.stringify({ log: this.logPath, state: this.stateDir, steps });
  }

  log(): LogLine[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogLine);
  }
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** Resolves when every task is terminal (event-driven, with a safety deadline that fails the test). */
export function waitTerminal(engine: Engine, ids: string[], deadlineMs = 30_000): Promise<TaskRow[]> {
  return waitFor(engine, () => ids.every((id) => TERMINAL.has(engine.get(id)?.status ?? '')), deadlineMs).then(() =>
    ids.map((id) => engine.get(id) as TaskRow),
  );
}

/** Resolves when `pred` holds, re-checked on every engine event. */
export function waitFor(engine: Engine, pred: () => boolean, deadlineMs = 30_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    if (pred()) return resolvePromise();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`condition not reached within ${deadlineMs} ms`));
    }, deadlineMs);
    const off = engine.subscribe((_e: TaskEvent) => {
      if (pred()) {
        clearTimeout(timer);
        off();
        resolvePromise();
      }
    });
  });
}

/** Is the process alive and not a zombie? */
/** The parent pid of a process (from /proc), e.g. an agent's launcher. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Intervals [start, end] of each run, from the fake agent's log. */
export function intervals(lines: LogLine[]): Array<{ taskId: string; run: number; start: number; end: number | undefined; pid: number }> {
  const out = new Map<string, { taskId: string; run: number; start: number; end: number | undefined; pid: number }>();
  for (const l of lines) {
    const key = `${l.taskId}#${l.pid}`;
    if (l.event === 'start') out.set(key, { taskId: l.taskId, run: l.run, start: l.t, end: undefined, pid: l.pid });
    if (l.event === 'end') {
      const i = out.get(key);
      if (i) i.end = l.t;
    }
  }
  return [...out.values()];
}

/** Polls `pred` (for conditions outside the engine: files, processes) until it holds or the deadline passes. */
export async function waitUntil(pred: () => boolean, deadlineMs = 30_000, everyMs = 50): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`condition not reached within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The engines a test file starts, stopped after each of its tests: `started(h)` builds one on the
 * harness's config and starts it; `track(e)` adds one the test built itself.
 */
export function engineLifecycle(): { started(h: Harness): Promise<Engine>; track(e: Engine): Engine } {
  const engines: Engine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
  });
  const track = (e: Engine) => {
    engines.push(e);
    return e;
  };
  return {
    track,
    async started(h) {
      const e = track(h.engine());
      await e.start();
      return e;
    },
  };
}
