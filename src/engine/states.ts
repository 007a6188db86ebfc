import { TetoraError } from '../errors.js';
import { sessionHoldingStatuses, taskStatuses, type TaskStatus } from '../model/status.js';

/** The task state machine. Pure: no I/O, no clock. The ledger calls `checkTransition` before every write. */
export { sessionHoldingStatuses, taskStatuses, type TaskStatus };

export const terminalStatuses: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
/** Not terminal and not running: waiting for the scheduler, a timer, or other tasks (a classifier, delegated children). */
export const waitingStatuses: ReadonlySet<TaskStatus> = new Set(['queued', 'routing', 'retry_wait', 'rate_limited', 'interrupted', 'waiting']);


export function isTerminal(s: TaskStatus): boolean {
  return terminalStatuses.has(s);
}

const legal: Record<TaskStatus, readonly TaskStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  // routing → queued once the classifier (or its fallback) named the agent.
  routing: ['queued', 'cancelled', 'failed'],
  // running → queued: a fresh-session retry or a drain that gives the task back without using an attempt.
  running: ['succeeded', 'failed', 'cancelled', 'timed_out', 'retry_wait', 'rate_limited', 'interrupted', 'queued', 'waiting'],
  retry_wait: ['queued', 'cancelled', 'failed'],
  rate_limited: ['queued', 'cancelled', 'failed'],
  interrupted: ['queued', 'failed', 'cancelled'],
  // waiting → succeeded with the parent's output followed by each child's; cancelled with its children.
  waiting: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return legal[from].includes(to);
}

export interface TransitionFacts {
  /** Required, non-empty, for failed / cancelled / timed_out. */
  message?: string | null;
  /** Required, non-empty after trimming, for succeeded. */
  output?: string | null;
  /** Required for retry_wait and rate_limited. */
  notBefore?: number | null;
}

/**
 * Throws TET_ERR_TASK_TRANSITION when `from → to` is not allowed or the facts a state needs are missing.
 * (A `succeeded` run with empty output is turned into `failed` by the policy before it gets here.)
 */
export function checkTransition(taskId: string, from: TaskStatus, to: TaskStatus, facts: TransitionFacts = {}): void {
  if (!canTransition(from, to)) {
    const why = isTerminal(from) ? `it already ended as ${from}` : `${from} → ${to} is not a legal move`;
    throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${taskId} cannot become ${to}: ${why}.`, { taskId, from, to });
  }
  if ((to === 'failed' || to === 'cancelled' || to === 'timed_out') && !facts.message?.trim()) {
    throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${taskId} cannot become ${to} without a message saying why.`, { taskId, from, to });
  }
  if (to === 'succeeded' && !facts.output?.trim()) {
    throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${taskId} cannot succeed with empty output.`, { taskId, from, to });
  }
  if ((to === 'retry_wait' || to === 'rate_limited') && typeof facts.notBefore !== 'number') {
    throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${taskId} cannot become ${to} without a time to wake.`, { taskId, from, to });
  }
}
