/**
 * What the engine needs from the worktrees module: a folder for a task to run in, a heartbeat while it
 * runs, and a release afterwards. Declared here (the consumer), implemented in src/worktrees/.
 */
export interface WorkspaceTask {
  id: string;
  agent?: string;
  prompt: string;
  /** The repository (for a worktree) or plain folder the task asked for. */
  workdir: string;
  baseBranch?: string;
  /** 'keep' (default) or 'remove-if-integrated'. */
  cleanup: 'keep' | 'remove-if-integrated';
  /**
   * A restarted daemon re-attaching to the task's run: the lease that instance (now dead: this daemon holds
   * the home lock) took for this task is taken over instead of being treated as another live session.
   */
  takeOverFrom?: string;
}

export interface WorktreeSummary {
  path: string;
  branch: string;
  baseBranch: string;
  commits: number;
  dirty: boolean;
  removed: boolean;
}

export interface Lease {
  /** Where the provider runs. */
  workdir: string;
  /** Called by the runner on a timer while the task runs. */
  heartbeat(): void;
  /** Called once when the run ends (any outcome); releases the lock and applies the cleanup policy. */
  release(): Promise<WorktreeSummary>;
}

export interface WorkspaceManager {
  /** Create (or reuse, for a retry of the same task) the task's worktree and lock it for this run. */
  acquire(task: WorkspaceTask, instanceId: string): Promise<Lease>;
  /** At boot: release locks of tasks that are no longer running, reconcile rows whose folder is gone. */
  reconcile(runningTaskIds: ReadonlySet<string>): Promise<void>;
}
