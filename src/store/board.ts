import type { Db } from './db.js';

/** The board's own statuses (not a task's): see migration 011. */
export const ticketStatuses = ['backlog', 'todo', 'doing', 'review', 'done', 'failed'] as const;
export type TicketStatus = (typeof ticketStatuses)[number];
export const ticketPriorities = ['low', 'normal', 'high', 'urgent'] as const;
export type TicketPriority = (typeof ticketPriorities)[number];
export type CommentKind = 'comment' | 'system' | 'review';
/** What the engine task working on a ticket does: the ticket's run, or a reviewer's look at it. */
export type TicketTaskKind = 'run' | 'review';

export interface Ticket {
  id: string;
  project: string;
  title: string;
  description: string;
  status: TicketStatus;
  /** An agent of the config, or a person's name; null: `taskBoard.autoDispatch.defaultAgent` runs it. */
  assignee: string | null;
  priority: TicketPriority;
  dependsOn: string[];
  workdir: string | null;
  /** Run in a git worktree (null: the agent's own setting, or `taskBoard.gitWorktree`). */
  worktree: boolean | null;
  /** The FULL output of the ticket's last run. */
  finding: string | null;
  findingTask: string | null;
  currentTask: string | null;
  currentKind: TicketTaskKind | null;
  /** Runs started, for good: each run's idempotency key is `board:<id>:<executions>`. */
  executions: number;
  /** `executions` when a person last moved the ticket to todo or backlog: the maxExecutions guard counts from here. */
  executionBase: number;
  retries: number;
  statusReason: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface TicketComment {
  id: number;
  ticketId: string;
  author: string;
  body: string;
  kind: CommentKind;
  taskId: string | null;
  createdAt: number;
}

export type NewTicket = Pick<Ticket, 'title' | 'status' | 'priority' | 'dependsOn'> & Partial<Pick<Ticket, 'project' | 'description' | 'assignee' | 'workdir' | 'worktree'>>;

/** Fields a move or an edit may write (names are constants here; values are always bound parameters). */
const COLUMNS_OF = {
  project: 'project',
  title: 'title',
  description: 'description',
  assignee: 'assignee',
  priority: 'priority',
  dependsOn: 'depends_on',
  workdir: 'workdir',
  worktree: 'worktree',
  finding: 'finding',
  findingTask: 'finding_task',
  currentTask: 'current_task',
  currentKind: 'current_kind',
  executions: 'executions',
  executionBase: 'execution_base',
  retries: 'retries',
  statusReason: 'status_reason',
  completedAt: 'completed_at',
} as const;
export type TicketPatch = Partial<{ -readonly [K in keyof typeof COLUMNS_OF]: Ticket[K] }>;

const SELECT = `SELECT id, project, title, description, status, assignee, priority, depends_on AS dependsOn, workdir, worktree,
  finding, finding_task AS findingTask, current_task AS currentTask, current_kind AS currentKind, executions, execution_base AS executionBase, retries,
  status_reason AS statusReason, created_at AS createdAt, updated_at AS updatedAt, completed_at AS completedAt FROM board_tickets`;
/** urgent first, then high, normal, low; then the oldest. */
const PRIORITY_ORDER = `CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, num`;

type RawTicket = Omit<Ticket, 'dependsOn' | 'worktree'> & { dependsOn: string; worktree: number | null };

function parse(r: RawTicket | undefined): Ticket | undefined {
  if (!r) return undefined;
  return { ...r, dependsOn: JSON.parse(r.dependsOn) as string[], worktree: r.worktree === null ? null : r.worktree === 1 };
}

function bind(k: keyof TicketPatch, v: unknown): unknown {
  if (k === 'dependsOn') return JSON.stringify(v);
  if (k === 'worktree') return v === null || v === undefined ? null : v ? 1 : 0;
  return v ?? null;
}

export interface TicketFilter {
  status?: TicketStatus[];
  project?: string;
  assignee?: string;
}

/**
 * All SQL of the task board. Status changes are compare-and-set (`WHERE status = ?`, and for a ticket's
 * task `current_task = ?`): two daemons (or two scans) moving one ticket cannot both win. Callers join the
 * engine's transactions (`engine.atomically`) so a claim and its task commit together.
 */
export class BoardStore {
  readonly #s;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      insert: p(`INSERT INTO board_tickets (id, project, title, description, status, assignee, priority, depends_on, workdir, worktree, created_at, updated_at)
        VALUES ('T-' || (COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'board_tickets'), 0) + 1),
          @project, @title, @description, @status, @assignee, @priority, @dependsOn, @workdir, @worktree, @now, @now) RETURNING id`),
      get: p(`${SELECT} WHERE id = ?`),
      byTask: p(`${SELECT} WHERE current_task = ?`),
      withStatus: p(`${SELECT} WHERE status = ? ORDER BY ${PRIORITY_ORDER}`),
      count: p(`SELECT COUNT(*) AS n FROM board_tickets WHERE status = ?`),
      dependents: p(`SELECT id FROM board_tickets WHERE EXISTS (SELECT 1 FROM json_each(depends_on) WHERE value = ?) ORDER BY num`),
      comment: p(`INSERT INTO board_comments (ticket_id, author, body, kind, task_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
      comments: p(`SELECT id, ticket_id AS ticketId, author, body, kind, task_id AS taskId, created_at AS createdAt FROM board_comments WHERE ticket_id = ? ORDER BY id`),
      delComments: p(`DELETE FROM board_comments WHERE ticket_id = ?`),
      del: p(`DELETE FROM board_tickets WHERE id = ? AND status != 'doing'`),
      claim: p(`UPDATE board_tickets SET status = 'doing', executions = executions + 1, status_reason = NULL, current_task = NULL,
        current_kind = NULL, completed_at = NULL, updated_at = ? WHERE id = ? AND status = ?`),
      running: p(`SELECT COUNT(*) AS n FROM board_tickets WHERE status = 'doing' AND current_task IS NOT NULL`),
    };
  }

  insert(t: NewTicket, now: number): Ticket {
    const r = this.#s.insert.get({
      project: t.project ?? 'default',
      title: t.title,
      description: t.description ?? '',
      status: t.status,
      assignee: t.assignee ?? null,
      priority: t.priority,
      dependsOn: JSON.stringify(t.dependsOn),
      workdir: t.workdir ?? null,
      worktree: bind('worktree', t.worktree),
      now,
    }) as { id: string };
    return this.get(r.id) as Ticket;
  }

  get(id: string): Ticket | undefined {
    return parse(this.#s.get.get(id) as RawTicket | undefined);
  }

  /** The ticket a task works on (its run or its review), if any. */
  byTask(taskId: string): Ticket | undefined {
    return parse(this.#s.byTask.get(taskId) as RawTicket | undefined);
  }

  /** Tickets of a status in dispatch order: priority (urgent first), then age. */
  withStatus(status: TicketStatus): Ticket[] {
    return (this.#s.withStatus.all(status) as RawTicket[]).map((r) => parse(r) as Ticket);
  }

  count(status: TicketStatus): number {
    return (this.#s.count.get(status) as { n: number }).n;
  }

  list(f: TicketFilter = {}): Ticket[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.status?.length) (where.push('status IN (SELECT value FROM json_each(?))'), args.push(JSON.stringify(f.status)));
    if (f.project) (where.push('project = ?'), args.push(f.project));
    if (f.assignee) (where.push('assignee = ?'), args.push(f.assignee));
    const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${PRIORITY_ORDER}`;
    return (this.db.prepare(sql).all(...args) as RawTicket[]).map((r) => parse(r) as Ticket);
  }

  /** Ids of the tickets that depend on `id`. */
  dependents(id: string): string[] {
    return (this.#s.dependents.all(id) as Array<{ id: string }>).map((r) => r.id);
  }

  /**
   * Move a ticket from `from` to `to` writing `patch` — only if it is still in `from` (and, with
   * `task`, still worked on by that task). False: someone else moved it first; nothing was written.
   */
  move(id: string, from: TicketStatus, to: TicketStatus, patch: TicketPatch, now: number, task?: string): boolean {
    const sets = ['status = ?', 'updated_at = ?'];
    const args: unknown[] = [to, now];
    for (const [k, v] of Object.entries(patch)) {
      const col = COLUMNS_OF[k as keyof TicketPatch];
      if (!col) throw new Error(`BoardStore.move: ${k} is not a ticket column`);
      sets.push(`${col} = ?`);
      args.push(bind(k as keyof TicketPatch, v));
    }
    const guard = task === undefined ? '' : ' AND current_task = ?';
    const sql = `UPDATE board_tickets SET ${sets.join(', ')} WHERE id = ? AND status = ?${guard}`;
    return this.db.prepare(sql).run(...args, id, from, ...(task === undefined ? [] : [task])).changes === 1;
  }

  /**
   * The compare-and-set of a claim: `from` → `doing`, one more execution. A single write, so it is the first
   * statement of the claim's transaction: the write lock is taken before anything is read, and a second
   * connection claiming the same ticket waits, then finds it no longer in `from`. False: not claimed.
   */
  claim(id: string, from: TicketStatus, now: number): boolean {
    return this.#s.claim.run(now, id, from).changes === 1;
  }

  /** Tickets `doing` with a task on them (what `maxConcurrentTasks` counts). */
  running(): number {
    return (this.#s.running.get() as { n: number }).n;
  }

  /** Edit fields of a ticket whatever its status (title, description, assignee, …). False: no such ticket. */
  edit(id: string, patch: TicketPatch, now: number): boolean {
    const entries = Object.entries(patch);
    const sets = ['updated_at = ?', ...entries.map(([k]) => `${COLUMNS_OF[k as keyof TicketPatch]} = ?`)];
    const args = [now, ...entries.map(([k, v]) => bind(k as keyof TicketPatch, v))];
    return this.db.prepare(`UPDATE board_tickets SET ${sets.join(', ')} WHERE id = ?`).run(...args, id).changes === 1;
  }

  /** Delete a ticket and its comments; false when it is `doing` (its task still runs) or does not exist. */
  delete(id: string): boolean {
    return this.db.transaction(() => {
      const t = this.get(id);
      if (!t || t.status === 'doing') return false;
      this.#s.delComments.run(id);
      return this.#s.del.run(id).changes === 1;
    })();
  }

  addComment(c: Pick<TicketComment, 'ticketId' | 'author' | 'body' | 'kind'> & { taskId?: string | null }, now: number): TicketComment {
    const id = Number(this.#s.comment.run(c.ticketId, c.author, c.body, c.kind, c.taskId ?? null, now).lastInsertRowid);
    return { id, ticketId: c.ticketId, author: c.author, body: c.body, kind: c.kind, taskId: c.taskId ?? null, createdAt: now };
  }

  comments(ticketId: string): TicketComment[] {
    return this.#s.comments.all(ticketId) as TicketComment[];
  }
}
