import type { Command } from 'commander';
import { TetoraError } from '../../errors.js';
import type { FiringView, TriggerView } from '../../schedules/views.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { firingText, table } from './job.js';

/** `tetora trigger list|fire`: the config's workflow triggers, through the daemon. */

/** `--var k=v` flags as variables; a flag without `=` is a usage error naming it. Pure. */
export function varsOf(flags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) throw new TetoraError('TET_ERR_USAGE', `--var "${f}" is not NAME=VALUE; write e.g. --var topic=release.`, { flag: '--var', value: f });
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

/** `tetora trigger list` as text. Pure. */
export function triggersText(triggers: TriggerView[]): string {
  if (triggers.length === 0) return 'no workflow triggers (add them under workflowTriggers in the config)';
  const cells = triggers.map((t) => [
    t.name,
    t.type,
    t.enabled ? 'enabled' : 'disabled',
    t.workflowName,
    t.type === 'cron' ? `${t.cron}${t.tz ? ` (${t.tz})` : ''}` : t.type === 'event' ? (t.event ?? '') : t.signed ? 'token or signature' : 'token',
    t.nextFireAt ?? '-',
    firingText(t.lastFiring),
  ]);
  return table(['NAME', 'TYPE', 'STATE', 'WORKFLOW', 'ON', 'NEXT', 'LAST FIRING'], cells);
}

export function registerTrigger(program: Command): void {
  const trigger = program.command('trigger').description('workflow triggers of the config (cron, event, webhook): list, fire now');

  trigger
    .command('list')
    .description('every trigger with its next fire time (cron) and last firing')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { body } = await new DaemonClient((await loadForCommand(cmd)).config).json<{ triggers: TriggerView[] }>('GET', '/api/triggers');
      if (opts.json) printJson(body);
      else process.stdout.write(`${triggersText(body.triggers)}\n`);
    });

  trigger
    .command('fire')
    .description("fire a trigger now: start its workflow with the trigger's variables (plus --var)")
    .argument('<name>', 'trigger name')
    .option('--var <name=value>', 'a variable (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { var: string[]; json?: boolean }, cmd: Command) => {
      const variables = varsOf(opts.var);
      const { body } = await new DaemonClient((await loadForCommand(cmd)).config).json<{ runId: string | null; firing: FiringView }>('POST', `/api/triggers/${encodeURIComponent(name)}/fire`, { variables });
      if (opts.json) printJson(body);
      else process.stdout.write(`trigger ${name} fired: workflow run ${body.runId}\n`);
    });
}
