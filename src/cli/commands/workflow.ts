import type { Command } from 'commander';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { ExitCode, TetoraError } from '../../errors.js';
import type { DryRunPlan, DryRunStep } from '../../workflows/dryrun.js';
import type { ValidationReport } from '../../workflows/service.js';
import { ExitWith } from '../exit.js';
import { globalOpts, loadForCommand, printJson } from '../context.js';

/**
 * `tetora workflow list|show|validate|dry-run`: workflow DEFINITIONS, read from the workflow folder
 * (config `workflowDir`, default `$TETORA_HOME/workflows`) with no daemon, so they answer the same whether
 * one runs or not. Every subcommand takes `--json`.
 *
 * Shape for other command files (runs: `workflow-run.ts` adds run, runs, status, cancel, resume,
 * approve, reject, answer): do not create a second `workflow` command; get the group with
 * `workflowCommand(program)` (it creates it when it is not there yet, so registration order does not
 * matter) and add subcommands to it:
 *
 *   export function registerWorkflowRun(program: Command): void {
 *     const wf = workflowCommand(program);
 *     wf.command('run <name>').option('--var <k=v>', '…', collectVar, {}).option('--json', '…').action(…);
 *   }
 *
 * and one line `registerWorkflowRun(program);` in commands/index.ts. `collectVar` parses repeatable
 * `--var k=v` flags the same way here and there.
 */

const GROUP_DESCRIPTION = 'workflows: multi-step, multi-agent pipelines defined in JSON files (the original Tetora\'s format)';

/** The `workflow` command group, created on first use. */
export function workflowCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'workflow');
  if (existing) return existing;
  return program.command('workflow').description(GROUP_DESCRIPTION);
}

/** commander collector for a repeatable `--var name=value`: `=` may appear in the value, not in the name. */
export function collectVar(item: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = item.indexOf('=');
  if (eq <= 0) throw new TetoraError('TET_ERR_USAGE', `--var ${JSON.stringify(item)} is not NAME=VALUE; write e.g. --var topic="AI agents"`, { flag: 'var', value: item });
  return { ...previous, [item.slice(0, eq)]: item.slice(eq + 1) };
}

/**
 * The config for a definition command. `validate` works without a config (then agents, providers and
 * skills are not checked, and the folder is `$TETORA_HOME/workflows`), unless `--config` names one.
 */
async function configFor(cmd: Command, opts: { optional: boolean }): Promise<{ config?: ResolvedConfig; dir: string }> {
  const { homeDir } = await import('../../config/load.js');
  try {
    const { config } = await loadForCommand(cmd);
    return { config, dir: config.workflowDir };
  } catch (err) {
    if (opts.optional && err instanceof TetoraError && err.code === 'TET_ERR_CONFIG_NOT_FOUND' && !globalOpts(cmd).config) {
      process.stderr.write('warning: no config.json found, so agents, providers and skills are not checked; run `tetora init` or pass --config\n');
      return { dir: join(homeDir(), 'workflows') };
    }
    throw err;
  }
}

async function problemLines(r: ValidationReport): Promise<string[]> {
  const { formatProblems } = await import('../../workflows/validate.js');
  return [...formatProblems(r.errors).map((l) => `  error: ${l}`), ...formatProblems(r.warnings).map((l) => `  warning: ${l}`)];
}

function stepLine(s: DryRunStep, indent: string): string[] {
  const who = s.agent ? ` agent ${s.agent}${s.model ? ` (${s.provider ?? ''}/${s.model})` : ''}` : '';
  const cost = s.estimatedCostUsd !== undefined ? ` ~$${s.estimatedCostUsd.toFixed(4)}` : '';
  const lines = [`${indent}${s.skipped ? '[skipped] ' : ''}${s.label} (${s.type})${who}${cost}`];
  if (s.action) lines.push(`${indent}  ${s.action}`);
  if (s.prompt !== undefined && s.prompt !== '') for (const l of s.prompt.split('\n')) lines.push(`${indent}  | ${l}`);
  if (s.error) lines.push(`${indent}  error: ${s.error}`);
  for (const sub of s.subSteps ?? []) lines.push(...stepLine(sub, `${indent}    `));
  return lines;
}

export function dryRunText(plan: DryRunPlan & { file: string; warnings: Array<{ path: string; message: string }> }): string {
  const lines = [`workflow ${plan.workflow} (${plan.file}) — dry run, nothing is run`];
  const vars = Object.entries(plan.variables);
  if (vars.length) lines.push(`variables: ${vars.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
  if (plan.missingVariables.length) lines.push(`MISSING variables (a run would be refused): ${plan.missingVariables.join(', ')}`);
  for (const w of plan.warnings) lines.push(`warning: ${w.path}: ${w.message}`);
  plan.levels.forEach((ids, i) => {
    lines.push('', `level ${i + 1}: ${ids.join(', ')}`);
    for (const s of plan.steps.filter((x) => x.level === i)) lines.push(...stepLine(s, '  '));
  });
  lines.push('', `estimated cost: ~$${plan.estimatedCostUsd.toFixed(4)} (rough: prompt length / 4 tokens in, 1,000 tokens out per agent step)`);
  return lines.join('\n');
}

export function registerWorkflow(program: Command): Command {
  const wf = workflowCommand(program);
  wf.addHelpText(
    'after',
    `
Definitions live in $TETORA_HOME/workflows/<name>.json (config "workflowDir") and are found by their
"name" field, whatever the file is called. list, show, validate and dry-run read the files directly and
need no daemon.`,
  );

  wf.command('list')
    .description('every workflow of the workflow folder, with its step count and whether it validates (files that cannot be read, or that share a name, are named on stderr)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listWorkflows } = await import('../../workflows/service.js');
      const { config, dir } = await configFor(cmd, { optional: true });
      const result = listWorkflows(config ?? { workflowDir: dir });
      if (opts.json) return printJson({ dir, ...result });
      const lines: string[] = [];
      if (result.workflows.length === 0) lines.push(`no workflow in ${dir}`);
      const width = Math.max(4, ...result.workflows.map((w) => w.name.length));
      for (const w of result.workflows) {
        const state = w.valid ? (w.warnings ? `ok (${w.warnings} warning${w.warnings > 1 ? 's' : ''})` : 'ok') : `INVALID (${w.errors} error${w.errors > 1 ? 's' : ''})`;
        lines.push(`${w.name.padEnd(width)}  ${String(w.steps).padStart(3)} steps  ${state.padEnd(16)}  ${w.description}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      // Files that cannot be listed are said on stderr; `tetora workflow validate` fails on them.
      for (const e of result.errors) process.stderr.write(`warning: ${e.message}\n`);
    });

  wf.command('show <name>')
    .description('one workflow: its steps in order, with what validation says')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const { findWorkflow } = await import('../../workflows/load.js');
      const { checkLoaded, report } = await import('../../workflows/service.js');
      const { config, dir } = await configFor(cmd, { optional: true });
      const loaded = findWorkflow(dir, name);
      const r = report(loaded.def, checkLoaded(loaded, config), loaded.file);
      if (opts.json) return printJson({ ...r, workflow: loaded.def });
      const d = loaded.def;
      const lines = [`workflow ${d.name} (${loaded.file})`];
      if (d.description) lines.push(`  ${d.description}`);
      const vars = Object.entries(d.variables);
      if (vars.length) lines.push(`variables: ${vars.map(([k, v]) => (v === '' ? k : `${k}=${JSON.stringify(v)}`)).join(' ')}`);
      if (d.timeout) lines.push(`timeout: ${d.timeout}`);
      if (d.gitWorktree) lines.push(`git worktree: yes${d.branch ? ` (branch ${d.branch})` : ''}${d.workdir ? ` in ${d.workdir}` : ''}`);
      lines.push('steps:');
      for (const s of d.steps) {
        const deps = s.dependsOn.length ? ` after ${s.dependsOn.join(', ')}` : '';
        lines.push(`  ${s.id} (${s.type})${s.agent ? ` agent ${s.agent}` : ''}${deps}`);
        for (const sub of s.parallel ?? []) lines.push(`    ${s.id}/${sub.id} (${sub.type})${sub.agent ? ` agent ${sub.agent}` : ''}`);
      }
      lines.push(r.valid ? `valid; order: ${(r.executionOrder ?? []).map((l) => l.join(' + ')).join(' → ')}` : `INVALID: ${r.errors.length} error(s)`);
      lines.push(...(await problemLines(r)));
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  wf.command('validate [file-or-name]')
    .description('check a workflow file (or a workflow by name; every workflow of the folder when none is given) and print EVERY error with its JSON path; exit 78 when there is one. Needs no daemon, writes nothing')
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const { findWorkflow, loadWorkflows } = await import('../../workflows/load.js');
      const { checkLoaded, invalidError, report } = await import('../../workflows/service.js');
      const { formatProblems } = await import('../../workflows/validate.js');
      const { config, dir } = await configFor(cmd, { optional: true });
      const reports: ValidationReport[] = [];
      const fileErrors: string[] = [];
      if (target !== undefined) {
        const loaded = findWorkflow(dir, target);
        reports.push(report(loaded.def, checkLoaded(loaded, config), loaded.file));
      } else {
        const all = loadWorkflows(dir);
        for (const w of all.workflows.values()) reports.push(report(w.def, checkLoaded(w, config), w.file));
        fileErrors.push(...all.errors.map((e) => e.message));
      }
      const invalid = reports.filter((r) => !r.valid);
      const failed = invalid.length > 0 || fileErrors.length > 0;
      if (opts.json) {
        printJson(target !== undefined ? reports[0] : { valid: !failed, dir, workflows: reports, errors: fileErrors });
        if (failed) throw new ExitWith(ExitCode.config);
        return;
      }
      for (const r of reports) {
        for (const w of formatProblems(r.warnings)) process.stderr.write(`warning: ${r.name || r.file}: ${w}\n`);
        if (r.valid) process.stdout.write(`ok: workflow ${r.name} (${r.file}) is valid; order: ${(r.executionOrder ?? []).map((l) => l.join(' + ')).join(' → ')}\n`);
      }
      for (const e of fileErrors) process.stderr.write(`tetora: ${e}\n`);
      if (target === undefined && reports.length === 0 && fileErrors.length === 0) process.stdout.write(`no workflow in ${dir}\n`);
      if (invalid.length === 1 && fileErrors.length === 0) {
        const r = invalid[0] as ValidationReport;
        throw invalidError(r.name, r, r.file);
      }
      for (const r of invalid) process.stderr.write(`tetora: ${invalidError(r.name, r, r.file).message}\n`);
      if (failed) throw new ExitWith(ExitCode.config);
    });

  wf.command('dry-run <name>')
    .description('the plan of a run without running anything: execution order, each prompt resolved (placeholders for earlier outputs), condition results, rough cost')
    .option('--var <name=value>', 'a variable for this run (repeatable)', collectVar, {})
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { var: Record<string, string>; json?: boolean }, cmd: Command) => {
      const { dryRunWorkflow } = await import('../../workflows/service.js');
      const { config } = await loadForCommand(cmd);
      const plan = dryRunWorkflow(config, name, opts.var);
      if (opts.json) return printJson(plan);
      process.stdout.write(`${dryRunText(plan)}\n`);
    });

  return wf;
}
