import type { Command } from 'commander';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { TetoraError } from '../../errors.js';
import { formatSize } from '../../worktrees/naming.js';
import { globalOpts, loadForCommand, printJson } from '../context.js';
import { version } from '../version.js';
import type { HomePaths } from '../../ops/backup.js';

/** `tetora backup [FILE] [--with-secrets]` and `tetora restore FILE [--force]`. */

/** The home's paths from its config; a home whose config does not load (a fresh machine) uses the defaults. */
async function homePaths(cmd: Command): Promise<HomePaths> {
  const { defaultConfigPath, homeDir, loadConfig } = await import('../../config/load.js');
  const configPath = resolve(globalOpts(cmd).config ?? defaultConfigPath());
  try {
    const { config } = loadConfig({ configPath });
    return { home: config.home, dbPath: config.dbPath, configPath: config.configPath, jobsFile: config.jobsFile, workflowDir: config.workflowDir };
  } catch (err) {
    if (!(err instanceof TetoraError) || !err.code.startsWith('TET_ERR_CONFIG_')) throw err;
    const home = globalOpts(cmd).config ? dirname(configPath) : homeDir();
    process.stderr.write(`tetora: the config ${configPath} does not load (${err.message}); using the default paths in ${home}\n`);
    return { home, dbPath: join(home, 'tetora.db'), configPath, jobsFile: join(home, 'jobs.json'), workflowDir: join(home, 'workflows') };
  }
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description('write a .tar.gz of the home: a consistent copy of the database (also while the daemon runs), the config (secrets hidden), agents, workflows, jobs')
    .argument('[file]', 'the archive to write (default: ./tetora-backup-<time>.tar.gz); it must not exist')
    .option('--with-secrets', 'keep the secrets written in the config files as they are, and add .env')
    .option('--json', 'print JSON')
    .action(async (file: string | undefined, opts: { withSecrets?: boolean; json?: boolean }, cmd: Command) => {
      const { config } = await loadForCommand(cmd);
      const { createBackup, defaultArchiveName } = await import('../../ops/backup.js');
      const out = resolve(file ?? defaultArchiveName(new Date()));
      const r = await createBackup({
        paths: { home: config.home, dbPath: config.dbPath, configPath: config.configPath, jobsFile: config.jobsFile, workflowDir: config.workflowDir },
        out,
        withSecrets: opts.withSecrets ?? false,
        version: version(),
        hostname: hostname(),
      });
      if (opts.json) return printJson({ file: r.file, bytes: r.bytes, manifest: r.manifest });
      const m = r.manifest;
      const hidden = Object.values(m.redacted).flat().length;
      process.stdout.write(
        [
          `wrote ${r.file} (${formatSize(r.bytes)}, mode 0600)`,
          `  database   ${m.schema ? `schema ${m.schema}, ${m.tasks} task(s)` : 'none (this home has no database yet)'}`,
          `  files      ${m.files.length}: ${[...new Set(m.files.map((f) => f.path.split('/')[0]))].join(', ')}`,
          `  secrets    ${m.secrets === 'included' ? 'included (keep this file safe)' : `hidden (${hidden} value(s) written as ***; a restore takes them from the config it replaces)`}`,
        ].join('\n') + '\n',
      );
    });

  program
    .command('restore')
    .description('put a backup in place: refuses while a daemon runs, checks the archive and its database first, keeps what it replaces in replaced-<time>/')
    .argument('<file>', 'an archive written by `tetora backup`')
    .option('--force', 'replace an existing database (what is replaced is kept, not deleted)')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const paths = await homePaths(cmd);
      const { restoreBackup } = await import('../../ops/backup.js');
      const r = await restoreBackup({ paths, archive: resolve(file), force: opts.force ?? false });
      if (opts.json) return printJson(r);
      const lines = [
        `restored ${r.archive} (taken ${r.manifest.createdAt} by Tetora ${r.manifest.tetoraVersion}; checksums and database integrity checked)`,
        ...r.restored.map((x) => `  ${x.entry.padEnd(18)} → ${x.to}${x.replaced ? ' (the old one kept)' : ''}`),
        r.keptIn ? `what was replaced is in ${r.keptIn}` : 'nothing was replaced',
      ];
      if (r.manifest.schema) lines.push(`the database has ${r.manifest.tasks} task(s) at schema ${r.manifest.schema}; \`tetora serve\` migrates it if needed and recovers tasks that were running when the backup was taken`);
      if (r.missingSecrets.length) lines.push(`warning: these config values were hidden in the backup and had no value here, so they were left out; set them again: ${r.missingSecrets.join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
