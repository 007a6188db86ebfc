/**
 * A temporary TETORA_HOME, a real repository, the real store and a GitWorktreeManager, plus an Engine
 * that runs the worktree fake agent (test/helpers/worktree-agent.mjs) through the `command` provider.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { Engine } from '../../src/engine/engine.js';
import type { WorkspaceTask } from '../../src/engine/workspace.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { openDb, type Db } from '../../src/store/db.js';
import { WorktreeStore } from '../../src/store/worktrees.js';
import { GitWorktreeManager, type WorktreeManagerOptions } from '../../src/worktrees/index.js';
import { makeRepo } from './worktree-repo.js';

export const WORKTREE_AGENT = resolve(import.meta.dirname, 'worktree-agent.mjs');
/** A stand-in daemon that leases worktrees through the built dist/ and waits to be killed. */
export const WORKTREE_HOLDER = resolve(import.meta.dirname, 'worktree-holder.mjs');

export interface AgentSpec {
  ready?: string;
  waitFor?: string;
  commits?: number;
  untracked?: number;
}

export interface AgentLine {
  event: 'start' | 'shell' | 'end' | 'timeout';
  taskId: string;
  cwd: string;
  phase?: 'before' | 'after';
  ok?: boolean;
  out?: string;
  error?: string;
  status?: string;
  lockFile?: boolean;
}

export class WorktreeHarness {
  readonly home: string;
  readonly repo: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly #dbs: Db[] = [];
  readonly #engines: Engine[] = [];

  /** `agent`: extra settings of the `coder` agent; `top`: extra top-level config keys. */
  constructor(agent: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
    this.home = mkdtempSync(join(tmpdir(), 'tetora-wt-'));
    this.repo = makeRepo(join(this.home, 'repo'));
    this.configPath = join(this.home, 'config.json');
    this.logPath = join(this.home, 'agent-log.jsonl');
    const config = {
      maxConcurrent: 8,
      defaultProvider: 'fake',
      providers: {
        fake: { type: 'command', path: process.execPath, args: [WORKTREE_AGENT], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      },
      agents: { coder: { provider: 'fake', worktree: true, ...agent } },
      ...top,
    };
    writeFileSync(this.configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  }

  config(): ResolvedConfig {
    return loadConfig({ configPath: this.configPath, env: { HOME: process.env.HOME, PATH: process.env.PATH } }).config;
  }

  /** A new store on its own connection to the home's database (as the daemon and the CLI each have). */
  store(now?: () => number): WorktreeStore {
    const db = openDb(this.config().dbPath);
    this.#dbs.push(db);
    return new WorktreeStore(db, now);
  }

  manager(opts: Partial<WorktreeManagerOptions> = {}): GitWorktreeManager {
    return new GitWorktreeManager({ store: opts.store ?? this.store(opts.now), home: this.home, onWarning: () => {}, ...opts });
  }

  /** A started engine whose worktree tasks go through `manager`. */
  async engine(manager: GitWorktreeManager): Promise<Engine> {
    const config = this.config();
    const engine = new Engine({ config, providers: new ProviderRegistry(config), workspaces: manager, killGraceMs: 500 });
    this.#engines.push(engine);
    await engine.start();
    return engine;
  }

  /** A prompt with some words (for the branch slug) and the fake agent's instructions. */
  prompt(words: string, spec: AgentSpec = {}): string {
    return `${words} ${JSON.stringify({ log: this.logPath, ...spec })}`;
  }

  /** A task as the engine hands it to the manager. */
  task(id: string, prompt = 'fix the login bug', extra: Partial<WorkspaceTask> = {}): WorkspaceTask {
    return { id, agent: 'coder', prompt, workdir: this.repo, cleanup: 'keep', ...extra };
  }

  log(): AgentLine[] {
    if (!existsSync(this.logPath)) return [];
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AgentLine);
  }

  async close(): Promise<void> {
    for (const e of this.#engines) await e.stop().catch(() => {});
    for (const db of this.#dbs) db.close();
    rmSync(this.home, { recursive: true, force: true });
  }
}
