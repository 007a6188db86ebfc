import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { TetoraError } from '../../errors.js';
import type { LogFilter } from '../../ops/logfile.js';
import { loadForCommand } from '../context.js';

/** `tetora logs [-f] [--json] [--level L] [--since T] [-n N]`: the daemon's log file, read and followed. */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('the daemon\'s log ($TETORA_HOME/logs/tetora.log and its rotated files); -f follows it')
    .option('-f, --follow', 'keep printing what the daemon writes (across rotations) until interrupted')
    .option('--json', 'print the JSON lines as written')
    .option('--level <level>', 'the lowest level shown: trace, debug, info, warn, error, fatal', 'trace')
    .option('--since <time>', 'a duration back from now (30m, 2h, 7d) or a date (2026-12-01T10:00:00Z)')
    .option('-n, --lines <n>', 'the last N lines that match (default 100; all with --since)')
    .action(async (opts: { follow?: boolean; json?: boolean; level: string; since?: string; lines?: string }, cmd: Command) => {
      const { follow, formatRecord, keep, logFiles, parseLevel, parseLine, parseSince, readLinesFrom } = await import('../../ops/logfile.js');
      const filter: LogFilter = { minLevel: parseLevel(opts.level), ...(opts.since ? { since: parseSince(opts.since, Date.now()) } : {}) };
      const n = opts.lines === undefined ? (opts.since ? Infinity : 100) : Number(opts.lines);
      if (!(n >= 0) || (Number.isFinite(n) && !Number.isInteger(n))) throw new TetoraError('TET_ERR_USAGE', `--lines "${opts.lines}" is not a whole number of 0 or more.`, { lines: opts.lines });
      const { config } = await loadForCommand(cmd);
      const path = config.logFile.path;
      if (!existsSync(path) && !opts.follow) {
        throw new TetoraError('TET_ERR_LOG_NOT_FOUND', `no log file at ${path}: the daemon has not run on this home yet${config.logFile.enabled ? '' : ' (logFile.enabled is false in the config)'}; start it with \`tetora serve\`.`, { path });
      }
      const print = (line: string) => {
        const r = parseLine(line);
        if (!r || !keep(r, filter)) return;
        process.stdout.write(`${opts.json ? line : formatRecord(r)}\n`);
      };
      // What is there now, oldest file first; only the last n matching lines are kept.
      const shown: string[] = [];
      let end = 0;
      for (const f of logFiles(path)) {
        const r = readLinesFrom(f, 0);
        if (f === path) end = r.next;
        for (const line of r.lines) {
          const rec = parseLine(line);
          if (!rec || !keep(rec, filter)) continue;
          shown.push(line);
          if (shown.length > n) shown.shift();
        }
      }
      for (const l of shown) print(l);
      if (!opts.follow) return;
      if (!existsSync(path)) process.stderr.write(`tetora: waiting for the daemon to write ${path}\n`);
      else if (statSync(path).size < end) end = 0;
      const stop = new AbortController();
      const onSig = () => stop.abort();
      process.once('SIGINT', onSig);
      process.once('SIGTERM', onSig);
      await follow(path, end, print, stop.signal);
    });
}
