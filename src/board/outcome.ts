import type { TaskBoardConfig } from '../config/types.js';
import type { Ticket, TicketStatus } from '../store/board.js';

/**
 * What a board task's end does to its ticket. Pure: the task's terminal state and output, the ticket and the
 * config in, a decision out (the service writes it in the task's terminal transaction).
 */

export type TaskEnd = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export type Decision =
  /** Move the ticket; `comment` is a system comment written with it; `retry`: one automatic retry used. */
  | { kind: 'move'; to: TicketStatus; reason: string; comment?: string; retry?: boolean; escalate?: boolean }
  /** The run succeeded and a reviewer looks at it (the ticket stays `doing`). */
  | { kind: 'review' }
  /** The reviewer asked for a fix: one more run with the review as a comment. */
  | { kind: 'fix'; reason: string; comment: string };

/**
 * A line of the output starting with BLOCKED or NEEDS_CONTEXT (after list, quote or emphasis marks): the
 * agent says it cannot finish. Upper case, at the start of a line, so a finding that merely mentions the
 * word (in code, in prose) is not taken for it.
 */
export function blockedMarker(output: string): 'BLOCKED' | 'NEEDS_CONTEXT' | undefined {
  const m = /^[\s>*#_`-]*(BLOCKED|NEEDS_CONTEXT)\b/m.exec(output);
  return m ? (m[1] as 'BLOCKED' | 'NEEDS_CONTEXT') : undefined;
}

export type Verdict = 'approve' | 'fix' | 'escalate';

/**
 * A reviewer's verdict: the JSON object `{"verdict": …, "comment": …}` (`decision` accepted for `verdict`),
 * taken from the first `{` to the last `}`; else a line starting with APPROVE, FIX or ESCALATE. Anything else
 * is `escalate` — an unreadable review never approves (the original's bug, spec §12 item 2).
 */
export function parseVerdict(output: string): { verdict: Verdict; comment: string; understood: boolean } {
  const a = output.indexOf('{');
  const b = output.lastIndexOf('}');
  if (a >= 0 && b > a) {
    try {
      const o = JSON.parse(output.slice(a, b + 1)) as Record<string, unknown>;
      const v = String(o.verdict ?? o.decision ?? '').trim().toLowerCase();
      const comment = typeof o.comment === 'string' ? o.comment : typeof o.reason === 'string' ? o.reason : '';
      if (v === 'approve' || v === 'fix' || v === 'escalate') return { verdict: v, comment, understood: true };
    } catch {
      /* not JSON: try the words */
    }
  }
  const m = /^[\s>*#_`-]*(approve|approved|fix|escalate)\b/im.exec(output);
  if (m) {
    const w = (m[1] as string).toLowerCase();
    return { verdict: w.startsWith('approve') ? 'approve' : (w as Verdict), comment: output.trim(), understood: true };
  }
  return { verdict: 'escalate', comment: output.trim(), understood: false };
}

/** The ticket's next step after its run task ended. */
export function afterRun(end: TaskEnd, output: string, errorMessage: string | null, ticket: Pick<Ticket, 'retries'>, cfg: Pick<TaskBoardConfig, 'maxRetries' | 'reviewAgent'>, taskId: string): Decision {
  if (end === 'succeeded') {
    const marker = blockedMarker(output);
    if (marker) return { kind: 'move', to: 'review', reason: `the agent said ${marker} (task ${taskId}); a person looks at it`, escalate: true };
    if (cfg.reviewAgent) return { kind: 'review' };
    return { kind: 'move', to: 'done', reason: `task ${taskId} succeeded` };
  }
  const why = errorMessage ?? `the task ended ${end}`;
  if (end === 'cancelled') {
    return { kind: 'move', to: 'failed', reason: `task ${taskId} was cancelled: ${why}`, comment: `[auto-flag] Task ${taskId} was cancelled (${why}); the ticket is not retried automatically. Move it to todo or \`tetora board run\` it to try again.` };
  }
  if (ticket.retries < cfg.maxRetries) {
    const n = ticket.retries + 1;
    return { kind: 'move', to: 'todo', reason: `task ${taskId} ${end === 'timed_out' ? 'timed out' : 'failed'}; automatic retry ${n} of ${cfg.maxRetries}`, comment: `[auto-retry ${n}/${cfg.maxRetries}] Task ${taskId} ${end === 'timed_out' ? 'timed out' : 'failed'}: ${why}`, retry: true };
  }
  return { kind: 'move', to: 'failed', reason: `task ${taskId} ${end === 'timed_out' ? 'timed out' : 'failed'} and the ${cfg.maxRetries} automatic retries (taskBoard.maxRetries) are used: ${why}` };
}

/** The ticket's next step after its review task ended. */
export function afterReview(end: TaskEnd, output: string, errorMessage: string | null, ticket: Pick<Ticket, 'retries'>, cfg: Pick<TaskBoardConfig, 'maxRetries'>, taskId: string): Decision {
  if (end !== 'succeeded') {
    return { kind: 'move', to: 'review', reason: `the review task ${taskId} ended ${end} (${errorMessage ?? 'no message'}); a person decides`, escalate: true };
  }
  const v = parseVerdict(output);
  if (v.verdict === 'approve') return { kind: 'move', to: 'done', reason: `approved by the review (task ${taskId})` };
  if (v.verdict === 'escalate') {
    return { kind: 'move', to: 'review', reason: v.understood ? `the reviewer escalated (task ${taskId}): ${v.comment}` : `the review (task ${taskId}) gave no verdict a machine can read; a person decides`, escalate: true };
  }
  if (ticket.retries < cfg.maxRetries) {
    return { kind: 'fix', reason: `the reviewer asked for a fix (task ${taskId}); fix run ${ticket.retries + 1} of ${cfg.maxRetries}`, comment: v.comment || output };
  }
  return { kind: 'move', to: 'review', reason: `the reviewer asked for a fix (task ${taskId}) but the ${cfg.maxRetries} retries (taskBoard.maxRetries) are used; a person decides`, escalate: true };
}
