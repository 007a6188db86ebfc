import { flagWords, parseQuery, taskListQuery, type TaskListQuery } from '../../http/query.js';

/**
 * The flags of `tetora task list`, checked as the daemon checks its query (the same schema), but named
 * as flags: `--limit "0" must be a whole number from 1 to 1000.` — with or without a daemon. Pure.
 */
export function taskListFlags(opts: { status?: string; agent?: string; source?: string; limit?: string; cursor?: string }): TaskListQuery {
  const given = Object.fromEntries(Object.entries({ status: opts.status, agent: opts.agent, source: opts.source, limit: opts.limit, cursor: opts.cursor }).filter(([, v]) => v !== undefined));
  return parseQuery(taskListQuery, given, flagWords);
}

/** The query string of GET /api/tasks for checked flags. Pure. */
export function taskListSearch(q: TaskListQuery): URLSearchParams {
  const out = new URLSearchParams();
  if (q.status?.length) out.set('status', q.status.join(','));
  if (q.agent?.length) out.set('agent', q.agent.join(','));
  if (q.source !== undefined) out.set('source', q.source);
  if (q.limit !== undefined) out.set('limit', String(q.limit));
  if (q.cursor !== undefined) out.set('cursor', String(q.cursor));
  return out;
}
