import type { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/logger.js';
import type { SseLimits } from './sse.js';
import type { WorkflowRunner } from '../workflows/runner.js';
import type { ScheduleService } from '../schedules/service.js';
import type { DiscordStatusInfo } from '../channels/discord/status-info.js';
import type { BoardService } from '../board/service.js';
import type { GitWorktreeManager } from '../worktrees/manager.js';

/** What the HTTP app needs from the daemon. Routes import this file, never app.ts (no cycle inside http/). */
export interface AppDeps {
  engine: Engine;
  version: string;
  /** The commit this Tetora was built from ('' when unknown); /healthz and /api/health report it. */
  commit?: string;
  /** Read on every request, so a reload takes effect at once. */
  apiToken(): string | undefined;
  /** Starts a drain of the whole daemon (the same as SIGTERM). */
  requestDrain(): void;
  /**
   * Restarts the daemon on the installed version (`tetora upgrade`): `handover` leaves running agents to
   * the next daemon, `drain` lets them finish first. Says who starts the next daemon. None: 404.
   */
  requestRestart?(mode: 'handover' | 'drain'): { restart: 'self' | 'manager' };
  /** True once a drain started: new work gets 503. */
  draining(): boolean;
  /** Aborted when the daemon closes: long-lived answers (SSE streams, ?wait) end at once. */
  shutdown?: AbortSignal;
  /** @default 10 MiB */
  bodyLimit?: number;
  /** The daemon's logger: every 500 is logged here with its request id. @default silent */
  log?: Logger;
  /** SSE limits (see sse.ts); the daemon reads them from TETORA_SSE_LIMITS (for tests and the bench). */
  sse?: Partial<SseLimits>;
  /** The workflow runner: its run routes are registered when it is given. */
  workflows?: WorkflowRunner;
  /** Cron jobs and workflow triggers (routes /api/jobs, /api/triggers); none: those routes do not exist. */
  schedules?: ScheduleService;
  /** The Discord bot's state (GET /api/discord/status, /api/health). */
  discord?: () => DiscordStatusInfo;
  /** Discord delivery runs: tell it a channel's outbox has something to send (a retried dead letter). */
  discordWake?: (channelId: string) => void;
  /** The task board (routes /api/board…); none: those routes do not exist. */
  board?: BoardService;
  /** The folder of the dashboard's built files (index.html, app.js, …). @default dist/dashboard/ (or the executable's assets) */
  dashboardDir?: string;
  /** The daemon's worktree manager (GET /api/worktrees, POST /api/worktrees/prune); none: one on the engine's store. */
  worktrees?: GitWorktreeManager;
}
