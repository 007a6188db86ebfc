import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import { WorktreeStore } from '../../store/worktrees.js';
import { GitWorktreeManager, listWorktrees, type PruneEntry, type WorktreeView } from '../../worktrees/index.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

/** A worktree as the dashboard lists it: the `tetora worktree list --json` view plus what prune would do and why. */
export type WorktreeRowView = (WorktreeView | OrphanView) & { prune: { action: PruneEntry['action']; reason: string; reasons: string[]; error?: string } | null };

/** A folder under runtime/worktrees that no row names (prune reports it too). */
interface OrphanView {
  taskId: null;
  path: string;
  repo: string | null;
  branch: string | null;
  state: 'untracked';
  lockHolder: null;
  sizeBytes: null;
  note: string | null;
}

/**
 * Joins the list with a dry-run prune: each recorded worktree gets the decision for its task (or path),
 * and folders only prune knows (not in the store) are listed after them. Pure.
 */
export function withPruneDecisions(views: WorktreeView[], entries: PruneEntry[]): WorktreeRowView[] {
  const byTask = new Map(entries.filter((e) => e.taskId !== null).map((e) => [e.taskId as string, e]));
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const decision = (e: PruneEntry | undefined) => (e ? { action: e.action, reason: e.reasons.join('; '), reasons: e.reasons, ...(e.error ? { error: e.error } : {}) } : null);
  const listed = new Set<PruneEntry>();
  const rows: WorktreeRowView[] = views.map((v) => {
    const e = byTask.get(v.taskId) ?? byPath.get(v.path);
    if (e) listed.add(e);
    return { ...v, prune: decision(e) };
  });
  for (const e of entries) {
    if (listed.has(e) || e.taskId !== null) continue;
    rows.push({ taskId: null, path: e.path, repo: e.repo, branch: e.branch, state: 'untracked', lockHolder: null, sizeBytes: null, note: e.note ?? null, prune: decision(e) });
  }
  return rows;
}

/**
 * `GET /api/worktrees` (every worktree with state, lock holder, size, branch and what prune would do and
 * why: a dry run of the same decision `tetora worktree prune` makes) and `POST /api/worktrees/prune`
 * `{dryRun?}` (the report `tetora worktree prune --json` prints). The daemon's own manager is used when
 * given (its per-repository queue keeps a prune off a worktree being created).
 */
export function registerWorktreeRoutes(app: FastifyInstance, deps: AppDeps): void {
  let own: GitWorktreeManager | undefined;
  const manager = (): GitWorktreeManager =>
    deps.worktrees ?? (own ??= new GitWorktreeManager({ store: new WorktreeStore(deps.engine.db), home: deps.engine.config.home, onWarning: () => undefined }));

  app.get('/api/worktrees', async (req) => {
    parseQuery(noQuery, req.query);
    const m = manager();
    const views = listWorktrees(m.ctx.store, m.ctx.liveness);
    const report = await m.prune({ dryRun: true });
    return { worktrees: withPruneDecisions(views, report.entries) };
  });

  app.post('/api/worktrees/prune', async (req) => {
    parseQuery(noQuery, req.query);
    const body = req.body as unknown;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the body must be a JSON object such as {"dryRun": true}, or empty.', { field: '(body)' });
    }
    const extra = Object.keys((body ?? {}) as object).filter((k) => k !== 'dryRun');
    if (extra.length) throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `unknown field ${JSON.stringify(extra[0])}; the body takes only "dryRun" (true or false).`, { field: extra[0] });
    const dryRun = (body as { dryRun?: unknown } | undefined)?.dryRun;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `dryRun is ${JSON.stringify(dryRun)}: expected true or false.`, { field: 'dryRun' });
    return manager().prune({ dryRun: dryRun ?? false });
  });
}
