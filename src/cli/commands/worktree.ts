import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { TetoraError } from '../../errors.js';
import type { GitWorktreeManager, PruneEntry, WorktreeDetail, WorktreeView } from '../../worktrees/index.js';
import { formatAge, formatSize } from '../../worktrees/naming.js';
import { loadForCommand, printJson } from '../context.js';

/**
 * `tetora worktree list|show|prune`: straight on the store and git, with or without a daemon (a running
 * task's live lock protects its worktree from a prune here as from the daemon's own).
 */

/** Run `fn` with a manager on the configured store; undefined (nothing recorded) when the database does not exist yet. */
async function withManager<T>(cmd: Command, fn: (m: GitWorktreeManager) => Promise<T> | T): Promise<T | undefined> {
  const { openDb } = await import('../../store/db.js');
  const { WorktreeStore } = await import('../../store/worktrees.js');
  const { GitWorktreeManager } = await import('../../worktrees/index.js');
  const { config } = await loadForCommand(cmd);
  if (!existsSync(config.dbPath)) return undefined;
  const db = openDb(config.dbPath);
  try {
    return await fn(new GitWorktreeManager({ store: new WorktreeStore(db), home: config.home, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) }));
  } finally {
    db.close();
  }
}

const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i] as number) : c)).join('  ');

function listTable(views: WorktreeView[]): string {
  const cells = views.map((v) => [v.taskId.slice(0, 8), v.state, v.lockHolder ?? '-', v.sizeBytes === null ? '-' : formatSize(v.sizeBytes), v.branch]);
  const head = ['TASK', 'STATE', 'LOCK', 'SIZE', 'BRANCH'];
  const widths = head.slice(0, -1).map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  return [head, ...cells].map((c) => row(c, widths)).join('\n');
}

function detailText(d: WorktreeDetail): string {
  const lines = [
    `task      ${d.taskId}${d.agent ? ` (agent ${d.agent})` : ''}`,
    `state     ${d.state}${d.lockDetail ? ` — ${d.lockDetail}` : ''}`,
    `path      ${d.path}${d.sizeBytes === null ? '' : ` (${formatSize(d.sizeBytes)})`}`,
    `repo      ${d.repo}`,
    `branch    ${d.branch} (from ${d.baseBranch} at ${d.baseCommit.slice(0, 12)})`,
    `commits   ${d.commitsAhead === null ? 'unknown' : `${d.commitsAhead} not in ${d.baseBranch}`}${d.integration?.state === 'integrated' ? ` (integrated: ${d.integration.how === 'ancestor' ? 'merged' : 'merging changes nothing'})` : ''}`,
    `changes   ${d.dirtyFiles.length === 0 ? 'none' : `${d.dirtyFiles.length} uncommitted`}`,
    ...d.dirtyFiles.map((f) => `            ${f}`),
    `created   ${new Date(d.createdAt).toISOString()} (${formatAge(Date.now() - d.createdAt)} ago)`,
  ];
  if (d.note) lines.push(`note      ${d.note}`);
  if (d.prune) lines.push(`prune     ${d.prune.action === 'keep' ? `would keep it: ${d.prune.reasons.join('; ')}` : `would ${d.prune.action} it`}`);
  if (d.error) lines.push(`error     ${d.error}`);
  return lines.join('\n');
}

const VERB = { remove: ['removed', 'would remove'], forget: ['forgot deleted folder', 'would forget deleted folder'], keep: ['kept', 'would keep'] } as const;

function pruneLine(e: PruneEntry, dryRun: boolean): string {
  const verb = e.error ? 'FAILED' : VERB[e.action][dryRun ? 1 : 0];
  const what = `${e.taskId ?? '(not in the store)'} ${e.branch ?? ''} ${e.path}`.replace(/\s+/g, ' ');
  const why = e.reasons.length ? `: ${e.reasons.join('; ')}` : '';
  const branch = e.branchDeleted ? ' (branch deleted)' : e.note && e.applied ? ` (${e.note})` : '';
  return `${verb.padEnd(12)} ${what}${why}${branch}`.replace(/\s*\n\s*/g, ' ');
}

export function registerWorktree(program: Command): void {
  const wt = program
    .command('worktree')
    .description("the git worktrees Tetora made for tasks (works without a daemon)")
    .addHelpText(
      'after',
      `
Each worktree task runs in $TETORA_HOME/runtime/worktrees/<task id> on a branch tetora/<agent>/<id>-<slug>.
Prune removes a worktree and its branch only when no live session holds it, it has no uncommitted or
untracked files (nor edits hidden with skip-worktree or assume-unchanged), every commit on its branch is
in the base branch (merged, or squash-merged), and no commit reset or amended away survives only in its
reflog. Ignored files (build output, node_modules, .env copies) do not count as work.`,
    );

  wt.command('list')
    .description('worktrees with their task, state (locked, idle, stale-lock, missing), lock holder, size on disk and branch')
    .option('--all', 'include removed ones')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const { listWorktrees } = await import('../../worktrees/index.js');
      const views = (await withManager(cmd, (m) => listWorktrees(m.ctx.store, m.ctx.liveness, { all: opts.all ?? false }))) ?? [];
      if (opts.json) return printJson({ worktrees: views });
      process.stdout.write(views.length === 0 ? 'no worktrees\n' : `${listTable(views)}\n`);
    });

  wt.command('show')
    .description('one worktree in full: lock, commits not in its base branch, uncommitted files, what prune would do')
    .argument('<id>', 'task id (or a unique prefix of at least 4 characters)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { showWorktree } = await import('../../worktrees/index.js');
      const d = await withManager(cmd, (m) => showWorktree(m.ctx.store, m.ctx.liveness, id));
      if (!d) throw new TetoraError('TET_ERR_WORKTREE_NOT_FOUND', `no worktree is recorded for "${id}": this Tetora home has no database yet, so no task has made one.`, { id });
      if (opts.json) printJson(d);
      else process.stdout.write(`${detailText(d)}\n`);
    });

  wt.command('prune')
    .description('remove worktrees (and their branches) that hold no work; list every one kept, with why')
    .option('--dry-run', 'report what would be removed; change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const dryRun = opts.dryRun ?? false;
      const report = (await withManager(cmd, (m) => m.prune({ dryRun }))) ?? { dryRun, entries: [] };
      const failed = report.entries.filter((e) => e.error);
      if (failed.length) process.exitCode = 1;
      if (opts.json) return printJson(report);
      for (const e of report.entries) process.stdout.write(`${pruneLine(e, dryRun)}\n`);
      const count = (a: PruneEntry['action']) => report.entries.filter((e) => e.action === a && !e.error).length;
      const summary = (['remove', 'forget', 'keep'] as const).map((a) => `${VERB[a][dryRun ? 1 : 0].replace(' deleted folder', '')} ${count(a)}`).join(', ');
      process.stdout.write(`${report.entries.length === 0 ? 'no worktrees to prune' : summary}${dryRun ? ' (dry run: nothing was changed)' : ''}\n`);
      if (failed.length) process.stderr.write(`tetora: ${failed.length} worktree(s) could not be checked or removed; see the lines marked FAILED, fix the cause, then run \`tetora worktree prune\` again.\n`);
    });
}
