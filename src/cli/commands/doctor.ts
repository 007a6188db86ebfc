import type { Command } from 'commander';
import { configPathFrom, printJson, withConfigOption } from '../context.js';
import { ExitWith } from '../exit.js';

export function registerDoctor(program: Command): void {
  withConfigOption(program.command('doctor'))
    .description('check the setup: Node, home folder and file modes, config, database, git, providers, agents, listen address')
    .option('--json', 'print {ok, checks: [{name, ok, detail, fix}]} as JSON')
    .addHelpText('after', '\nExits 1 when any check fails; each failure comes with a fix.')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { formatReport, runChecks } = await import('../../doctor/checks.js');
      const { gatherFacts } = await import('../../doctor/gather.js');
      const configPath = configPathFrom(cmd);
      const { facts } = await gatherFacts(configPath ? { configPath, env: process.env } : { env: process.env });
      const checks = runChecks(facts);
      const ok = checks.every((c) => c.ok);
      if (opts.json) printJson({ ok, checks });
      else process.stdout.write(formatReport(checks));
      if (!ok) throw new ExitWith(1);
    });
}
