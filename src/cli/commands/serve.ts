import type { Command } from 'commander';
import { listenFlag } from '../../config/listen.js';
import { TetoraError } from '../../errors.js';
import { globalOpts } from '../context.js';
import { commit, version } from '../version.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the daemon in the foreground: HTTP API, scheduler, runner (SIGTERM/SIGINT drain, SIGHUP reloads the config)')
    .option('--log-format <format>', 'pretty or json (default: pretty on a terminal, json otherwise)')
    .option('--listen <host:port>', 'override listenAddr from the config')
    .action(async (opts: { logFormat?: string; listen?: string }, cmd: Command) => {
      if (opts.logFormat && opts.logFormat !== 'pretty' && opts.logFormat !== 'json') {
        throw new TetoraError('TET_ERR_USAGE', `--log-format "${opts.logFormat}" is not valid; use pretty or json.`);
      }
      if (opts.listen) checkListen(opts.listen);
      const { config } = globalOpts(cmd);
      // The daemon's modules (fastify, metrics, worktrees) load only here: other commands start faster.
      const [{ serve }, { workspaceFactory }] = await Promise.all([import('../../daemon/serve.js'), import('../../daemon/workspaces.js')]);
      process.exitCode = await serve({
        version: version(),
        commit: commit(),
        workspaces: workspaceFactory,
        ...(config ? { configPath: config } : {}),
        ...(opts.logFormat ? { logFormat: opts.logFormat as 'pretty' | 'json' } : {}),
        ...(opts.listen ? { listen: opts.listen } : {}),
      });
      // Everything is closed; if a stray handle (a provider's socket, a timer) would keep the process
      // alive, do not let it hold the exit back.
      setTimeout(() => process.exit(), 3000).unref();
    });
}

/** `--listen host:port` (or `:port`): the form, and a port from 0 (any free port) to 65535. Throws TET_ERR_USAGE. */
export function checkListen(listen: string): void {
  listenFlag(listen);
}
