import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { TetoraError } from '../../errors.js';
import type { CostBy, CostRow, HistoryRow, HistoryStore } from '../../store/history.js';
import { loadForCommand, printJson } from '../context.js';

/**
 * `tetora history cost|list`: straight from the store, read-only (no migration, no home lock), with or
 * without a running daemon.
 */

async function withHistory<T>(cmd: Command, fn: (h: HistoryStore | undefined) => T): Promise<T> {
  const { migrationStatus, openDb } = await import('../../store/db.js');
  const { HistoryStore } = await import('../../store/history.js');
  const { config } = await loadForCommand(cmd);
  if (!existsSync(config.dbPath)) return fn(undefined);
  const db = openDb(config.dbPath, { readonly: true });
  try {
    const { current, latest } = migrationStatus(db);
    if (current < latest) {
      throw new TetoraError(
        'TET_ERR_STORE_MIGRATION',
        `the database ${config.dbPath} is at schema version ${current} and this Tetora reads version ${latest}; start the daemon once (\`tetora serve\`) to migrate it, then run this again.`,
        { path: config.dbPath, current, latest },
      );
    }
    return fn(new HistoryStore(db));
  } finally {
    db.close();
  }
}

const BY = ['agent', 'provider', 'day'] as const;
const usd = (n: number) => `$${n.toFixed(4)}`;

/** The cost table with a total line. Pure. */
export function costTable(by: CostBy, rows: CostRow[]): string {
  const total = rows.reduce((a, r) => ({ tasks: a.tasks + r.tasks, costUsd: a.costUsd + r.costUsd, tokensIn: a.tokensIn + r.tokensIn, tokensOut: a.tokensOut + r.tokensOut }), { tasks: 0, costUsd: 0, tokensIn: 0, tokensOut: 0 });
  const cells = [...rows.map((r) => [r.key, String(r.tasks), usd(r.costUsd), String(r.tokensIn), String(r.tokensOut)]), ['TOTAL', String(total.tasks), usd(total.costUsd), String(total.tokensIn), String(total.tokensOut)]];
  const head = [by.toUpperCase(), 'TASKS', 'COST', 'TOKENS IN', 'TOKENS OUT'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return [head, ...cells].map((c) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  ')).join('\n');
}

function listTable(rows: HistoryRow[]): string {
  const cells = rows.map((r) => [
    r.id.slice(0, 8),
    r.finishedAt ? new Date(r.finishedAt).toISOString().replace('T', ' ').slice(0, 19) : '-',
    r.status,
    r.agent ?? '-',
    usd(r.costUsd),
    r.startedAt && r.finishedAt ? `${((r.finishedAt - r.startedAt) / 1000).toFixed(1)}s` : '-',
    r.prompt.replace(/\s+/g, ' ').slice(0, 50),
  ]);
  const head = ['TASK', 'FINISHED', 'STATUS', 'AGENT', 'COST', 'TOOK', 'PROMPT'];
  const widths = head.slice(0, -1).map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return [head, ...cells].map((c) => c.map((x, i) => (i < widths.length ? x.padEnd(widths[i] as number) : x)).join('  ')).join('\n');
}

export function registerHistory(program: Command): void {
  const h = program.command('history').description('finished tasks and what they cost, read from the store (works with or without a daemon)');

  h.command('cost')
    .description('what tasks cost, by agent, provider or day (tasks that ended at or after --since; unfinished ones by their creation)')
    .option('--by <key>', `group by ${BY.join(', ')}`, 'agent')
    .option('--since <time>', 'a duration back from now (7d, 12h) or a date (2026-12-01)')
    .option('--json', 'print JSON')
    .action(async (opts: { by: string; since?: string; json?: boolean }, cmd: Command) => {
      const { parseSince } = await import('../../ops/logfile.js');
      if (!(BY as readonly string[]).includes(opts.by)) throw new TetoraError('TET_ERR_USAGE', `--by "${opts.by}" is not one of ${BY.join(', ')}.`, { by: opts.by });
      const since = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
      const by = opts.by as CostBy;
      const rows = await withHistory(cmd, (s) => s?.cost(by, since) ?? []);
      const total = rows.reduce((a, r) => a + r.costUsd, 0);
      if (opts.json) return printJson({ by, since: since ?? null, rows, total: { tasks: rows.reduce((a, r) => a + r.tasks, 0), costUsd: total } });
      process.stdout.write(`${costTable(by, rows)}\n`);
    });

  h.command('list')
    .description('finished tasks, newest first')
    .option('--since <time>', 'a duration back from now (7d, 12h) or a date (2026-12-01)')
    .option('--agent <name>', 'only this agent')
    .option('--status <status>', 'only this status (succeeded, failed, cancelled, timed_out)')
    .option('-n, --limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { since?: string; agent?: string; status?: string; limit: string; json?: boolean }, cmd: Command) => {
      const { parseSince } = await import('../../ops/logfile.js');
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new TetoraError('TET_ERR_USAGE', `--limit "${opts.limit}" is not a whole number above 0.`, { limit: opts.limit });
      if (opts.status !== undefined && !['succeeded', 'failed', 'cancelled', 'timed_out'].includes(opts.status)) {
        throw new TetoraError('TET_ERR_USAGE', `--status "${opts.status}" is not a finished status; use succeeded, failed, cancelled or timed_out.`, { status: opts.status });
      }
      const since = opts.since === undefined ? undefined : parseSince(opts.since, Date.now());
      const rows = await withHistory(cmd, (s) => s?.list({ ...(since !== undefined ? { since } : {}), ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.status ? { status: opts.status } : {}), limit }) ?? []);
      if (opts.json) return printJson({ tasks: rows });
      process.stdout.write(rows.length === 0 ? 'no finished tasks\n' : `${listTable(rows)}\n`);
    });
}
