import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/types.js';
import type { WorkspaceManager } from '../engine/workspace.js';

/** The worktree manager the daemon gives its engine; wired to src/worktrees once it lands. */
export function workspaceFactory(_config: ResolvedConfig, _log: Logger): WorkspaceManager | undefined {
  return undefined;
}
