/** The worktrees module: per-task git worktrees with a session lock, safe prune, and read-only views. */
export { GitWorktreeManager, type WorktreeManagerOptions } from './manager.js';
export { pruneWorktrees, type PruneEntry, type PruneOptions, type PruneReport } from './prune.js';
export { listWorktrees, showWorktree, findWorktree, type WorktreeDetail, type WorktreeView, type WorktreeState } from './list.js';
export { DEFAULT_HEARTBEAT_WINDOW_MS, LOCK_FILE, pidAlive } from './lock.js';
export type { Liveness } from './inspect.js';
