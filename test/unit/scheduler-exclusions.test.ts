import { describe, expect, it } from 'vitest';
import type { ResolvedAgent, ResolvedConfig, ResolvedProvider } from '../../src/config/types.js';
import type { Ledger } from '../../src/engine/ledger.js';
import { silentLogger } from '../../src/engine/logger.js';
import type { ActiveRun } from '../../src/engine/runner.js';
import { exclusions, Scheduler } from '../../src/engine/scheduler.js';
import type { TaskRow, TaskStore } from '../../src/store/tasks.js';

function agent(name: string, over: Partial<ResolvedAgent> = {}): ResolvedAgent {
  return {
    name,
    provider: 'claude',
    description: '',
    keywords: [],
    permissionMode: 'acceptEdits',
    fallbackProviders: [],
    worktree: false,
    worktreeCleanup: 'keep',
    allowedTools: [],
    addDirs: [],
    ...over,
  };
}

function provider(name: string, over: Partial<ResolvedProvider> = {}): ResolvedProvider {
  return { name, type: 'command', args: [], env: {}, transientPatterns: [], rateLimitPatterns: [], ...over };
}

function config(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    configPath: '/tmp/tetora/config.json',
    home: '/tmp/tetora',
    dbPath: '/tmp/tetora/tetora.db',
    listenAddr: '127.0.0.1:8991',
    listenHost: '127.0.0.1',
    listenPort: 8991,
    maxConcurrent: 8,
    defaultModel: 'sonnet',
    defaultProvider: 'claude',
    defaultTimeoutMs: 3_600_000,
    defaultBudget: 0,
    defaultPermissionMode: 'acceptEdits',
    claudePath: 'claude',
    providers: {},
    fallbackProviders: [],
    agents: {},
    retry: { baseMs: 2000, capMs: 300_000, maxAttempts: 3, rateLimitWaitMs: 60_000, maxParkMs: 21_600_000, maxInterruptions: 5 },
    drainTimeoutMs: 30_000,
    noOutputTimeoutMs: 600_000,
    maxOutputBytes: 10 * 1024 * 1024,
    worktreePruneIntervalMs: 3_600_000,
    workflowTriggers: [],
    jobsFile: '/tmp/tetora/jobs.json',
    env: {},
    workflowDir: '/tmp/tetora/workflows',
    workflowEnv: [],
    skills: {},
    agentComm: { maxChildrenPerTask: 3, maxDepth: 2 },
    retention: { eventsDays: 0, outputsDays: 0, runsDays: 0 },
    logFile: { enabled: true, path: '/tmp/tetora/logs/tetora.log', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 },
    ...over,
  };
}

type Slot = Pick<TaskRow, 'agent' | 'provider' | 'sessionKey'>;
const run = (agent: string | null, provider: string | null = null, sessionKey: string | null = null): Slot => ({ agent, provider, sessionKey });

const sorted = (r: { agents: string[]; providers: string[]; sessions: string[] }) => ({
  agents: [...r.agents].sort(),
  providers: [...r.providers].sort(),
  sessions: [...r.sessions].sort(),
});

describe('exclusions', () => {
  it('excludes nothing when nothing runs', () => {
    expect(exclusions([], config({ maxTasksPerAgent: 1 }))).toEqual({ agents: [], providers: [], sessions: [] });
  });

  it('excludes nothing without caps, however much runs', () => {
    const running = [run('a', 'p'), run('a', 'p'), run('a', 'p'), run('b', 'q')];
    expect(exclusions(running, config({ agents: { a: agent('a') }, providers: { p: provider('p') } }))).toEqual({ agents: [], providers: [], sessions: [] });
  });

  it('uses the global maxTasksPerAgent default for agents without their own cap', () => {
    const cfg = config({ maxTasksPerAgent: 2 });
    expect(exclusions([run('a')], cfg).agents).toEqual([]);
    expect(exclusions([run('a'), run('a')], cfg).agents).toEqual(['a']);
    expect(exclusions([run('a'), run('a'), run('a')], cfg).agents).toEqual(['a']);
  });

  it("an agent's own cap wins over the global default, both ways", () => {
    const cfg = config({
      maxTasksPerAgent: 2,
      agents: { tight: agent('tight', { maxTasksPerAgent: 1 }), loose: agent('loose', { maxTasksPerAgent: 5 }), plain: agent('plain') },
    });
    const running = [run('tight'), run('loose'), run('loose'), run('loose'), run('plain'), run('plain')];
    expect(sorted(exclusions(running, cfg)).agents).toEqual(['plain', 'tight']);
    const five = [run('loose'), run('loose'), run('loose'), run('loose'), run('loose')];
    expect(exclusions(five, cfg).agents).toEqual(['loose']);
  });

  it('a capped agent excludes only itself: other agents stay schedulable', () => {
    const cfg = config({ agents: { busy: agent('busy', { maxTasksPerAgent: 1 }), idle: agent('idle', { maxTasksPerAgent: 1 }), other: agent('other') } });
    const r = exclusions([run('busy', 'claude'), run('other', 'claude'), run('other', 'claude')], cfg);
    expect(r.agents).toEqual(['busy']);
    expect(r.providers).toEqual([]);
    expect(r.sessions).toEqual([]);
  });

  it('ignores tasks with no agent for the per-agent count', () => {
    const r = exclusions([run(null), run(null), run(null)], config({ maxTasksPerAgent: 1 }));
    expect(r.agents).toEqual([]);
  });

  it('caps providers by their maxConcurrent', () => {
    const cfg = config({ providers: { p: provider('p', { maxConcurrent: 2 }), q: provider('q', { maxConcurrent: 3 }), free: provider('free') } });
    const running = [run('a', 'p'), run('b', 'p'), run('a', 'q'), run('b', 'q'), run('c', 'free'), run('c', 'free'), run('c', 'free')];
    expect(exclusions(running, cfg).providers).toEqual(['p']);
    expect(sorted(exclusions([...running, run('d', 'q')], cfg)).providers).toEqual(['p', 'q']);
  });

  it('a provider not in the config has no cap', () => {
    expect(exclusions([run('a', 'ghost'), run('a', 'ghost')], config()).providers).toEqual([]);
  });

  it('the per-agent default does not apply to providers', () => {
    const r = exclusions([run('a', 'p'), run('b', 'p')], config({ maxTasksPerAgent: 1, providers: { p: provider('p') } }));
    expect(r.providers).toEqual([]);
    expect(sorted(r).agents).toEqual(['a', 'b']);
  });

  it('one running task per session key', () => {
    const r = exclusions([run('a', 'p', 's1'), run('b', 'p', 's2'), run('c', 'p', null)], config());
    expect(sorted(r).sessions).toEqual(['s1', 's2']);
  });

  it('lists a session once even if (wrongly) two runs share it', () => {
    expect(exclusions([run('a', null, 's'), run('b', null, 's')], config()).sessions).toEqual(['s']);
  });

  it('empty strings are not names', () => {
    const r = exclusions([run('', '', ''), run('', '', '')], config({ maxTasksPerAgent: 1 }));
    expect(r).toEqual({ agents: [], providers: [], sessions: [] });
  });

  it('accepts any iterable (a generator over the running map)', () => {
    function* gen(): Generator<Slot> {
      yield run('a', 'p', 'k');
      yield run('a', 'p', null);
    }
    const r = exclusions(gen(), config({ maxTasksPerAgent: 2, providers: { p: provider('p', { maxConcurrent: 2 }) } }));
    expect(r).toEqual({ agents: ['a'], providers: ['p'], sessions: ['k'] });
  });

  it('combines all three caps at once', () => {
    const cfg = config({
      maxTasksPerAgent: 3,
      agents: { coder: agent('coder', { maxTasksPerAgent: 1 }) },
      providers: { codex: provider('codex', { maxConcurrent: 1 }) },
    });
    const r = exclusions([run('coder', 'claude', 'chat-1'), run('writer', 'codex', null)], cfg);
    expect(r).toEqual({ agents: ['coder'], providers: ['codex'], sessions: ['chat-1'] });
  });
});

/**
 * A queue in memory with the store's candidate rule (priority then arrival, minus exclusions). Every agent
 * and provider the tasks name is configured (with no cap) unless the config names it already, or
 * `configureAll` is false.
 */
function fakeDeps(tasks: TaskRow[], base: ResolvedConfig, opts: { configureAll?: boolean } = {}) {
  const cfg: ResolvedConfig = { ...base, agents: { ...base.agents }, providers: { ...base.providers } };
  for (const t of tasks) {
    if (opts.configureAll === false) break;
    if (t.agent && !cfg.agents[t.agent]) cfg.agents[t.agent] = agent(t.agent);
    if (t.provider && !cfg.providers[t.provider]) cfg.providers[t.provider] = provider(t.provider);
  }
  const queue = [...tasks];
  const running = new Map<string, ActiveRun>();
  const started: string[] = [];
  const store = {
    due: () => [],
    get: (id: string) => queue.find((t) => t.id === id),
    nextWakeAt: () => undefined,
    queuedNames: () => ({
      agents: [...new Set(queue.filter((t) => t.status === 'queued' && t.agent).map((t) => t.agent as string))],
      providers: [...new Set(queue.filter((t) => t.status === 'queued' && t.provider).map((t) => t.provider as string))],
    }),
    nextCandidate(ex: { agents: string[]; providers: string[]; sessions: string[] }) {
      return queue
        .filter((t) => t.status === 'queued')
        .filter((t) => !(t.agent && ex.agents.includes(t.agent)))
        .filter((t) => !(t.provider && ex.providers.includes(t.provider)))
        .filter((t) => !(t.sessionKey && ex.sessions.includes(t.sessionKey)))
        .sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
    },
    claim(id: string) {
      const t = queue.find((x) => x.id === id);
      if (!t || t.status !== 'queued') return undefined;
      t.status = 'running';
      return { task: t, event: { seq: 0, taskId: id, at: 0, type: 'running', data: {} } };
    },
  };
  const ledger = { bus: { emit: () => {} } };
  const scheduler = new Scheduler({
    store: store as unknown as TaskStore,
    ledger: ledger as unknown as Ledger,
    config: () => cfg,
    now: () => 1_000,
    log: silentLogger,
    instanceId: 'test',
    running,
    start(task: TaskRow): ActiveRun {
      started.push(task.id);
      return { task, controller: new AbortController(), abort: () => {}, done: new Promise<void>(() => {}) };
    },
  });
  return { scheduler, started, running };
}

let seq = 0;
function task(id: string, agentName: string | null, over: Partial<TaskRow> = {}): TaskRow {
  return { id, seq: ++seq, agent: agentName, provider: 'claude', sessionKey: null, priority: 0, status: 'queued', ...over } as TaskRow;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('Scheduler pass under the caps', () => {
  it('skips the queued tasks of an agent the config no longer has, without holding back the others', async () => {
    const tasks = [task('gone1', 'gone'), task('kept1', 'kept'), task('gone2', 'gone')];
    // The queue holds all three; only `kept` is configured.
    const { scheduler, started } = fakeDeps(tasks, config({ agents: { kept: agent('kept') }, providers: { claude: provider('claude') } }), { configureAll: false });
    scheduler.start();
    await tick();
    scheduler.stop();
    expect(started).toEqual(['kept1']);
  });

  it('never starts more than the global maxConcurrent', async () => {
    const tasks = Array.from({ length: 6 }, (_, i) => task(`t${i}`, `agent${i}`));
    const { scheduler, started, running } = fakeDeps(tasks, config({ maxConcurrent: 3 }));
    scheduler.start();
    await tick();
    await tick();
    scheduler.stop();
    expect(started).toEqual(['t0', 't1', 't2']);
    expect(running.size).toBe(3);
  });

  it('a capped agent does not hold back the tasks of other agents queued after it', async () => {
    const tasks = [task('a1', 'a'), task('a2', 'a'), task('a3', 'a'), task('b1', 'b'), task('c1', 'c')];
    const cfg = config({ maxConcurrent: 10, agents: { a: agent('a', { maxTasksPerAgent: 1 }) } });
    const { scheduler, started } = fakeDeps(tasks, cfg);
    scheduler.start();
    await tick();
    await tick();
    scheduler.stop();
    expect(started).toEqual(['a1', 'b1', 'c1']);
  });

  it('starts by priority, then arrival, and one task per session key', async () => {
    const tasks = [task('low', 'x', { priority: 0 }), task('s-first', 'y', { sessionKey: 'k', priority: 5 }), task('s-second', 'z', { sessionKey: 'k', priority: 5 }), task('high', 'w', { priority: 9 })];
    const { scheduler, started } = fakeDeps(tasks, config({ maxConcurrent: 10 }));
    scheduler.start();
    await tick();
    await tick();
    scheduler.stop();
    expect(started).toEqual(['high', 's-first', 'low']);
  });

  it('starts nothing before start() and nothing after stop()', async () => {
    const { scheduler, started } = fakeDeps([task('t', 'a')], config());
    scheduler.poke();
    await tick();
    expect(started).toEqual([]);
    scheduler.start();
    scheduler.stop();
    await tick();
    expect(started).toEqual([]);
  });
});
