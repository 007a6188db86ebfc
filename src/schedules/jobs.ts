import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { catchUpPolicies, duration, permissionModes, timeoutDuration } from '../config/schema.js';
import { isPlainObject, unknownKeys, valueAt } from '../config/merge.js';
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError } from '../errors.js';
import { resolvePath } from '../util/fsx.js';
import { parseCron, type CatchUp, type CronSpec } from './cron.js';

/**
 * The original's cron jobs file (`jobsFile`, default `jobs.json` beside the config): `{"jobs": [...]}`
 * (a bare list is read too). A job: `id`, `name`, `enabled`, `schedule` (cron), `tz`, `agent`,
 * `task: {prompt | promptFile, agent, model, provider, timeout, budget, workdir, permissionMode}`,
 * `maxRetries`, `retryDelay`, `notify`. Keys this version does not know load with one warning each.
 */
const nonEmpty = z.string().min(1, { message: 'a non-empty string' });

const taskSchema = z.object({
  prompt: nonEmpty.optional(),
  promptFile: nonEmpty.optional(),
  agent: nonEmpty.optional(),
  model: nonEmpty.optional(),
  provider: nonEmpty.optional(),
  timeout: timeoutDuration.optional(),
  budget: z.number({ message: 'an amount in USD (a number)' }).nonnegative({ message: 'an amount of 0 or more' }).optional(),
  workdir: nonEmpty.optional(),
  permissionMode: z.enum(permissionModes, { message: `one of ${permissionModes.join(', ')}` }).optional(),
});

const jobSchema = z.object({
  id: z
    .string({ message: 'a job id (a string)' })
    .min(1, { message: 'a non-empty job id' })
    .max(100, { message: 'a job id of at most 100 characters' })
    .refine((s) => !/[\u0000-\u001f\u007f/?#]/.test(s), { message: 'a job id without control characters, "/", "?" or "#"' }),
  name: z.string({ message: 'a string' }).optional(),
  enabled: z.boolean({ message: 'true or false' }).optional(),
  schedule: nonEmpty,
  tz: nonEmpty.optional(),
  agent: nonEmpty.optional(),
  task: taskSchema,
  maxRetries: z.number({ message: 'a whole number from 0 to 19' }).int({ message: 'a whole number from 0 to 19' }).min(0, { message: 'a whole number from 0 to 19' }).max(19, { message: 'a whole number from 0 to 19' }).optional(),
  retryDelay: duration.optional(),
  notify: z.union([z.boolean(), z.string()], { message: 'true, false or a string' }).optional(),
  /** Firings missed while no daemon ran: `none` (default) or `last` (the latest one fires once at start). */
  catchUp: z.enum(catchUpPolicies, { message: `one of ${catchUpPolicies.join(', ')}` }).optional(),
});

const fileSchema = z.object({ jobs: z.array(jobSchema, { message: 'a list of jobs' }) });

/** A job as loaded: its cron spec checked and its task request ready for the engine. */
export interface Job {
  id: string;
  name: string;
  /** As the file says (an override in the store may change it: see ScheduleStore.override). */
  enabled: boolean;
  schedule: string;
  tz?: string;
  spec: CronSpec;
  /** @default 'none' */
  catchUp: CatchUp;
  /** The task request each firing enqueues (idempotencyKey added per firing). */
  request: Record<string, unknown>;
  notify?: boolean | string;
}

export interface JobsLoad {
  path: string;
  jobs: Job[];
  warnings: string[];
  /** True when the file does not exist (a warning, not an error). */
  missing: boolean;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function invalid(path: string, where: string, value: unknown, expected: string): TetoraError {
  return new TetoraError('TET_ERR_JOBS_INVALID', `jobs file ${path}: ${where} is ${describe(value)}, expected ${expected}. Fix it, then reload the daemon (SIGHUP) or restart it.`, { file: path, path: where, expected });
}

/**
 * Parse the text of a jobs file against the config (agents and providers must exist). Pure but for
 * `readPrompt`, which reads a job's `promptFile`. Throws TET_ERR_JOBS_INVALID naming the job and field.
 */
export function parseJobs(text: string, path: string, config: Pick<ResolvedConfig, 'agents' | 'providers' | 'home'>, readPrompt: (file: string) => string = (f) => readFileSync(f, 'utf8')): { jobs: Job[]; warnings: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TetoraError('TET_ERR_JOBS_INVALID', `jobs file ${path} is not valid JSON: ${(err as Error).message}. Fix the syntax, then reload the daemon (SIGHUP).`, { file: path });
  }
  const wrapped = Array.isArray(doc) ? { jobs: doc } : doc;
  if (!isPlainObject(wrapped)) throw invalid(path, '(top level)', doc, 'an object {"jobs": [...]} (or a list of jobs)');
  const warnings = unknownKeys(fileSchema, wrapped).map((k) => `jobs file ${path}: key "${k}" is not supported by this version of Tetora and is ignored`);
  const parsed = fileSchema.safeParse(wrapped);
  const label = (i: number): string => {
    const id = valueAt(wrapped, ['jobs', i, 'id']);
    return `jobs.${i}${typeof id === 'string' ? ` (id "${id}")` : ''}`;
  };
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const p = issue?.path.map(String) ?? [];
    const where = p[0] === 'jobs' && p[1] !== undefined ? [label(Number(p[1])), ...p.slice(2)].join('.') : p.join('.') || '(top level)';
    const expected = issue && !issue.message.startsWith('Invalid input') ? issue.message : 'a valid value';
    throw invalid(path, where, issue ? valueAt(wrapped, issue.path) : wrapped, expected);
  }
  const dir = dirname(path);
  const seen = new Map<string, number>();
  const jobs = parsed.data.jobs.map((j, i): Job => {
    const at = label(i);
    if (seen.has(j.id)) throw invalid(path, `${at}.id`, j.id, `an id no other job has (jobs.${seen.get(j.id)} has it too)`);
    seen.set(j.id, i);
    const cron = parseCron(j.schedule, j.tz);
    if (!cron.ok) throw invalid(path, `${at}.${cron.field === 'tz' ? 'tz' : 'schedule'}`, cron.field === 'tz' ? j.tz : j.schedule, cron.reason);
    const agent = j.task.agent ?? j.agent;
    if (agent !== undefined && !Object.hasOwn(config.agents, agent)) {
      throw invalid(path, `${at}.task.agent`, agent, `the name of an agent from the config (${Object.keys(config.agents).join(', ') || 'none defined'})`);
    }
    if (j.task.provider !== undefined && !Object.hasOwn(config.providers, j.task.provider)) {
      throw invalid(path, `${at}.task.provider`, j.task.provider, `the name of a provider from the config (${Object.keys(config.providers).join(', ')})`);
    }
    let prompt = j.task.prompt;
    if (prompt === undefined && j.task.promptFile !== undefined) {
      const file = resolvePath(j.task.promptFile, dir);
      try {
        prompt = readPrompt(file);
      } catch (err) {
        throw invalid(path, `${at}.task.promptFile`, j.task.promptFile, `a readable file (${(err as Error).message})`);
      }
    }
    if (prompt === undefined || prompt.trim() === '') throw invalid(path, `${at}.task.prompt`, prompt, 'the prompt of the job\'s task (or task.promptFile naming a file that holds it)');
    const request: Record<string, unknown> = { prompt, name: j.name ?? j.id };
    if (agent !== undefined) request.agent = agent;
    if (j.task.model !== undefined) request.model = j.task.model;
    if (j.task.provider !== undefined) request.provider = j.task.provider;
    if (j.task.timeout !== undefined) request.timeout = j.task.timeout;
    if (j.task.budget !== undefined) request.budget = j.task.budget;
    if (j.task.workdir !== undefined) request.workdir = resolvePath(j.task.workdir, config.home);
    if (j.task.permissionMode !== undefined) request.permissionMode = j.task.permissionMode;
    // maxRetries retries after the first attempt; the engine counts attempts.
    if (j.maxRetries !== undefined) request.maxAttempts = j.maxRetries + 1;
    if (j.retryDelay !== undefined) {
      warnings.push(`jobs file ${path}: ${at}.retryDelay is not applied per job by this version: retries wait by the config's retry policy (retry.base, doubling up to retry.cap)`);
    }
    if (j.notify !== undefined && j.notify !== false) {
      warnings.push(`jobs file ${path}: ${at}.notify: this version has no notification channel yet; the firing and its task are recorded (see \`tetora job list\`), nothing is sent`);
    }
    const job: Job = { id: j.id, name: j.name ?? j.id, enabled: j.enabled ?? true, schedule: cron.spec.expr, spec: cron.spec, catchUp: j.catchUp ?? 'none', request };
    if (j.tz !== undefined) job.tz = j.tz;
    if (j.notify !== undefined) job.notify = j.notify;
    return job;
  });
  return { jobs, warnings };
}

/** Read and parse the jobs file; one that does not exist is an empty list with a warning. */
export function loadJobs(config: Pick<ResolvedConfig, 'agents' | 'providers' | 'home' | 'jobsFile'>): JobsLoad {
  const path = config.jobsFile;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { path, jobs: [], warnings: [`jobs file ${path} does not exist: no cron jobs are scheduled. Create it ({"jobs": [...]}) or set jobsFile in the config, then reload the daemon (SIGHUP).`], missing: true };
    }
    throw new TetoraError('TET_ERR_JOBS_INVALID', `cannot read the jobs file ${path}: ${(err as Error).message}. Make it a readable file or set jobsFile in the config.`, { file: path });
  }
  return { path, ...parseJobs(text, path, config), missing: false };
}
