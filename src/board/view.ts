import type { Ticket, TicketComment } from '../store/board.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * A ticket as the API and `--json` give it. Lists leave the finding out (it may be megabytes; `findingBytes`
 * says how large it is); one ticket's view holds it whole. Pure.
 */
export function ticketJson(t: Ticket, opts: { finding?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: t.id,
    project: t.project,
    title: t.title,
    description: t.description,
    status: t.status,
    statusReason: t.statusReason,
    assignee: t.assignee,
    priority: t.priority,
    dependsOn: t.dependsOn,
    workdir: t.workdir,
    worktree: t.worktree,
    currentTask: t.currentTask,
    currentKind: t.currentKind,
    executions: t.executions,
    executionsCounted: t.executions - t.executionBase,
    retries: t.retries,
    findingTask: t.findingTask,
    findingBytes: t.finding === null ? 0 : Buffer.byteLength(t.finding, 'utf8'),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    completedAt: iso(t.completedAt),
  };
  if (opts.finding) out.finding = t.finding;
  return out;
}

export function commentJson(c: TicketComment): Record<string, unknown> {
  return { id: c.id, author: c.author, kind: c.kind, body: c.body, taskId: c.taskId, createdAt: iso(c.createdAt) };
}
