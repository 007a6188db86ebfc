import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { formatSize } from '../../worktrees/naming.js';
import { loadForCommand, printJson } from '../context.js';

/**
 * `tetora data status|prune`: the store's size and what the `retention` settings would remove; prune
 * applies them now (the daemon does it once a day). Works with or without a daemon (SQLite serialises
 * the writes; no home lock is taken).
 */

const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);

export function registerData(program: Command): void {
  const data = program.command('data').description('what the store holds, and removing what finished tasks no longer need (config `retention`)');

  data
    .command('status')
    .description('database size, task counts, and what retention would remove now')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { openDb } = await import('../../store/db.js');
      const { storeCounts } = await import('../../store/history.js');
      const { pruneHistory, reportLines } = await import('../../ops/retention.js');
      const { config } = await loadForCommand(cmd);
      const files = { db: size(config.dbPath), wal: size(`${config.dbPath}-wal`) };
      if (!existsSync(config.dbPath)) {
        if (opts.json) return printJson({ dbPath: config.dbPath, exists: false });
        process.stdout.write(`no database yet at ${config.dbPath}\n`);
        return;
      }
      const db = openDb(config.dbPath, { readonly: true });
      try {
        const counts = storeCounts(db);
        const plan = pruneHistory(db, config, { now: Date.now(), dryRun: true });
        if (opts.json) return printJson({ dbPath: config.dbPath, exists: true, bytes: files, ...counts, retention: plan.kinds });
        process.stdout.write(
          [
            `database  ${config.dbPath} (${formatSize(files.db)}${files.wal ? `, WAL ${formatSize(files.wal)}` : ''}; ${formatSize(counts.freePages * counts.pageSize)} free inside)`,
            `tasks     ${counts.tasks} (${counts.finished} finished, ${counts.unfinished} not finished)`,
            ...reportLines(plan),
          ].join('\n') + '\n',
        );
      } finally {
        db.close();
      }
    });

  data
    .command('prune')
    .description('remove the events, outputs and runs of finished tasks older than the retention settings (unfinished tasks and what a running workflow needs are never touched)')
    .option('--dry-run', 'say what would be removed; change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const { openDb } = await import('../../store/db.js');
      const { pruneHistory, reportLines } = await import('../../ops/retention.js');
      const { config } = await loadForCommand(cmd);
      if (!existsSync(config.dbPath)) {
        if (opts.json) return printJson({ dryRun: opts.dryRun ?? false, kinds: [] });
        process.stdout.write(`no database yet at ${config.dbPath}: nothing to prune\n`);
        return;
      }
      const db = openDb(config.dbPath, opts.dryRun ? { readonly: true } : {});
      try {
        const report = pruneHistory(db, config, { now: Date.now(), dryRun: opts.dryRun ?? false });
        if (opts.json) return printJson(report);
        process.stdout.write(`${reportLines(report).join('\n')}\n${report.dryRun ? '(dry run: nothing was changed)\n' : ''}`);
      } finally {
        db.close();
      }
    });
}
