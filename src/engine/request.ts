import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError } from '../errors.js';
import { permissionModes, timeoutDuration } from '../config/schema.js';
import { resolvePath } from '../util/fsx.js';
import type { NewTask } from '../store/tasks.js';

/**
 * A task request from any source (HTTP, CLI, Discord, workflow, schedule). Field names follow the
 * original's `/dispatch` (prompt, agent, model, provider, timeout, budget, workdir, sessionId/sessionKey,
 * permissionMode, systemPrompt, priority) plus idempotencyKey.
 */
export const taskRequestSchema = z.object({
  prompt: z.string({ message: 'a non-empty string' }).refine((s) => s.trim().length > 0, { message: 'a non-empty string' }),
  agent: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).optional(),
  timeout: timeoutDuration.optional(),
  budget: z.number().nonnegative({ message: 'an amount in USD, 0 or more' }).optional(),
  workdir: z.string().min(1).optional(),
  sessionKey: z.string().min(1).optional(),
  sessionId: z.string().min(1).optional(),
  permissionMode: z.enum(permissionModes, { message: `one of ${permissionModes.join(', ')}` }).optional(),
  systemPrompt: z.string().optional(),
  priority: z.number({ message: 'a whole number' }).int({ message: 'a whole number' }).min(-1000).max(1000).optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  worktree: z.boolean().optional(),
  allowedTools: z.array(z.string()).optional(),
  name: z.string().optional(),
});
export type TaskRequest = z.input<typeof taskRequestSchema>;

export interface EnqueueContext {
  source: string;
  parentId?: string;
  workflowRunId?: string;
  workflowStepId?: string;
}

/** Per-task extras kept in the `options` JSON column. */
export interface TaskOptions {
  worktree?: boolean;
  allowedTools?: string[];
  name?: string;
  /** Providers of the fallback chain already tried. */
  triedProviders?: string[];
}

export function badRequest(field: string, value: unknown, expected: string, index?: number): TetoraError {
  const where = index === undefined ? field : `tasks[${index}].${field}`;
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return new TetoraError('TET_ERR_TASK_INVALID', `${where} is ${shown}: expected ${expected}.`, { field: where, value, expected });
}

/** Validate a request against the config and build the ledger row. Throws TET_ERR_TASK_INVALID / _AGENT_UNKNOWN. */
export function buildTask(
  input: unknown,
  ctx: EnqueueContext,
  config: ResolvedConfig,
  now: number,
  index?: number,
): NewTask {
  const parsed = taskRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(body)';
    const value = issue ? issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], input) : input;
    throw badRequest(field, value, issue?.message.startsWith('Invalid input') ? `a ${String((issue as { expected?: string }).expected ?? 'valid value')}` : (issue?.message ?? 'a valid task'), index);
  }
  const r = parsed.data;
  const agentName = r.agent ?? config.defaultAgent;
  // Own keys only: a name such as "constructor" or "toString" is no agent or provider.
  const agent = agentName && Object.hasOwn(config.agents, agentName) ? config.agents[agentName] : undefined;
  if (agentName && !agent) {
    const known = Object.keys(config.agents);
    throw new TetoraError(
      'TET_ERR_AGENT_UNKNOWN',
      `${index === undefined ? '' : `tasks[${index}].`}agent "${agentName}" is not defined in ${config.configPath}; known agents: ${known.join(', ') || 'none'}. Use one of them, or add it to the config and reload the daemon (SIGHUP).`,
      { field: 'agent', value: agentName },
    );
  }
  const provider = r.provider ?? agent?.provider ?? config.defaultProvider;
  const providerCfg = Object.hasOwn(config.providers, provider) ? config.providers[provider] : undefined;
  if (!providerCfg) {
    throw new TetoraError(
      'TET_ERR_PROVIDER_UNKNOWN',
      `${index === undefined ? '' : `tasks[${index}].`}provider "${provider}" is not defined in ${config.configPath}; known providers: ${Object.keys(config.providers).join(', ')}. Use one of them, or add it under "providers" and reload the daemon (SIGHUP).`,
      { field: 'provider', value: provider },
    );
  }
  const options: TaskOptions = {};
  if (r.worktree !== undefined) options.worktree = r.worktree;
  if (r.allowedTools) options.allowedTools = r.allowedTools;
  if (r.name) options.name = r.name;

  const task: NewTask = {
    id: randomUUID(),
    source: ctx.source,
    prompt: r.prompt,
    status: 'queued',
    maxAttempts: r.maxAttempts ?? config.retry.maxAttempts,
    priority: r.priority ?? 0,
    createdAt: now,
    provider,
    model: r.model ?? agent?.model ?? providerCfg.model ?? (providerCfg.type === 'command' ? null : config.defaultModel),
    permissionMode: r.permissionMode ?? agent?.permissionMode ?? config.defaultPermissionMode,
    timeoutMs: r.timeout ?? agent?.timeoutMs ?? config.defaultTimeoutMs,
    options: JSON.stringify(options),
  };
  if (agentName) task.agent = agentName;
  const workdir = r.workdir ?? agent?.workdir ?? config.defaultWorkdir;
  if (workdir) task.workdir = resolvePath(workdir, config.home);
  const sessionKey = r.sessionKey ?? r.sessionId;
  if (sessionKey) task.sessionKey = sessionKey;
  if (r.systemPrompt !== undefined) task.systemPrompt = r.systemPrompt;
  const budget = r.budget ?? agent?.budget ?? (config.defaultBudget > 0 ? config.defaultBudget : undefined);
  if (budget !== undefined) task.budgetUsd = budget;
  if (r.idempotencyKey) task.idempotencyKey = r.idempotencyKey;
  if (ctx.parentId) task.parentId = ctx.parentId;
  if (ctx.workflowRunId) task.workflowRunId = ctx.workflowRunId;
  if (ctx.workflowStepId) task.workflowStepId = ctx.workflowStepId;
  return task;
}
