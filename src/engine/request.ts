import { createHash, randomUUID } from 'node:crypto';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { realpathSync } from 'node:fs';
import { z } from 'zod';
import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import { TetoraError } from '../errors.js';
import { assertAllowedDir } from './allowed-dirs.js';
import { permissionModes, timeoutDuration } from '../config/schema.js';
import type { NewTask, TaskRow } from '../store/tasks.js';
import type { RouteHints, RouteRecord } from '../routing/tiers.js';

/**
 * A task request from any source (HTTP, CLI, Discord, workflow, schedule). Field names follow the
 * original's `/dispatch` (prompt, agent, model, provider, timeout, budget, workdir, sessionId/sessionKey,
 * permissionMode, systemPrompt, priority) plus idempotencyKey.
 */
/** Strings that reach a child's argv or environment: Node refuses NUL there, so the request does. */
const noNul = (s: string) => !s.includes('\0');
const NUL = 'text without NUL (\\u0000) characters (it is passed to the provider process)';
const text = (what = 'a non-empty string') =>
  z
    .string({ error: what })
    .min(1, { error: what })
    .refine(noNul, { error: NUL });

export const taskRequestSchema = z.object({
  prompt: z.string({ error: 'a non-empty string' }).refine((s) => s.trim().length > 0, { error: 'a non-empty string' }),
  agent: text('the name of an agent from the config').optional(),
  model: text('a model name').optional(),
  provider: text('the name of a provider from the config').optional(),
  timeout: timeoutDuration.optional(),
  budget: z.number({ error: 'an amount in USD (a number), 0 or more' }).nonnegative({ error: 'an amount in USD, 0 or more' }).optional(),
  workdir: text('an absolute path to a folder').optional(),
  sessionKey: text().optional(),
  sessionId: text().optional(),
  permissionMode: z.enum(permissionModes, { error: `one of ${permissionModes.join(', ')}` }).optional(),
  systemPrompt: z.string({ error: 'a string' }).refine(noNul, { error: NUL }).optional(),
  priority: z.number({ error: 'a whole number from -1000 to 1000' }).int({ error: 'a whole number from -1000 to 1000' }).min(-1000, { error: 'a whole number from -1000 to 1000' }).max(1000, { error: 'a whole number from -1000 to 1000' }).optional(),
  idempotencyKey: z
    .string({ error: 'a string of 1 to 200 characters' })
    .min(1, { error: 'a string of 1 to 200 characters' })
    .max(200, { error: 'a string of 1 to 200 characters' })
    .optional(),
  maxAttempts: z.number({ error: 'a whole number from 1 to 20' }).int({ error: 'a whole number from 1 to 20' }).min(1, { error: 'a whole number from 1 to 20' }).max(20, { error: 'a whole number from 1 to 20' }).optional(),
  worktree: z.boolean({ error: 'true or false' }).optional(),
  allowedTools: z.array(z.string({ error: 'a list of tool names (strings)' }).refine(noNul, { error: NUL }), { error: 'a list of tool names (strings)' }).optional(),
  name: z.string({ error: 'a string' }).optional(),
});
export type TaskRequest = z.input<typeof taskRequestSchema>;

export interface EnqueueContext {
  source: string;
  /**
   * Mixed into each task's request hash (see requestHash): the HTTP API passes the digest of a whole
   * batch sent with one Idempotency-Key, so a changed batch is a different request for every task of it.
   */
  requestDigest?: string;
  parentId?: string;
  workflowRunId?: string;
  workflowStepId?: string;
  /** The source's own coordinates of the task (kept as JSON in `tasks.origin`): a Discord channel and message, a schedule firing, … */
  origin?: Record<string, unknown>;
  /**
   * What a source knows of where the task comes from, for smart dispatch's bindings (`channel` defaults
   * to `source`): a Discord message's channel, user and guild.
   */
  routeHints?: RouteHints;
}

/**
 * How smart dispatch placed a task sent without an agent (see Engine #routeOf): an agent chosen by the
 * tiers (`route`), or none yet (`pending`: the task is inserted `routing` and a classifier task chooses).
 * `freshSession`: the task's agent differs from its chat session's, so its first run starts a new session.
 */
export interface Routing {
  agent?: string;
  route?: RouteRecord;
  pending?: boolean;
  freshSession?: string;
}

/** Per-task extras kept in the `options` JSON column. */
export interface TaskOptions {
  worktree?: boolean;
  allowedTools?: string[];
  name?: string;
  /** Providers of the fallback chain already tried. */
  triedProviders?: string[];
  /** With an idempotency key: the hash of the request (see requestHash), to tell a retry from a reuse. */
  requestHash?: string;
  /**
   * A task being routed (status `routing`): the request as sent, less its prompt, so that its provider,
   * model and limits are derived for the agent the classifier chooses (what it set itself keeps priority).
   */
  routeRequest?: Record<string, unknown>;
  /** The task's agent differs from its chat session's: its first run archives the session and starts a new one (the reason). */
  freshSession?: string;
}

/** JSON with object keys sorted at every level: the same request always gives the same text. Pure. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The hash that tells a retried request from another request under the same idempotency key: sha256 of
 * the request as sent (canonical JSON without the key itself), plus `digest` (the whole batch's). Pure.
 */
export function requestHash(input: unknown, digest = ''): string {
  const rest = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...(input as Record<string, unknown>), idempotencyKey: undefined } : input;
  return createHash('sha256').update(canonicalJson(rest)).update('\0').update(digest).digest('hex');
}

/**
 * Whether a task recorded under an idempotency key came from the same request as `row` (a task built
 * from a request: its options hold the request's hash). Rows recorded before hashes were kept are
 * compared on their prompt and agent. Pure.
 */
export function sameRequest(existing: Pick<TaskRow, 'options' | 'prompt' | 'agent'>, row: Pick<NewTask, 'options' | 'prompt' | 'agent'>): boolean {
  const stored = hashOf(existing.options);
  const hash = hashOf(row.options);
  if (stored !== undefined && hash !== undefined) return stored === hash;
  return row.prompt === existing.prompt && (row.agent ?? null) === existing.agent;
}

function hashOf(options: string | undefined): string | undefined {
  try {
    return (JSON.parse(options ?? '{}') as TaskOptions).requestHash;
  } catch {
    return undefined;
  }
}

/**
 * The refusal of a request whose idempotency key already names a task of another request (422). A batch
 * key (`<header key>\u001f<index>`) is shown as the header key the client sent. Pure.
 */
export function idempotencyMismatch(key: string, existing: Pick<TaskRow, 'id'>): TetoraError {
  const cut = key.indexOf('\u001f');
  const shown = cut >= 0 ? key.slice(0, cut) : key;
  return new TetoraError(
    'TET_ERR_IDEMPOTENCY_MISMATCH',
    `idempotency key "${shown}" was already used for task ${existing.id} with a different request; send a new key for a new request, or resend exactly the first request to get its task.`,
    { field: 'idempotencyKey', key: shown, taskId: existing.id },
  );
}

/** The longest value an error repeats (in its message and its details): a request may be megabytes. */
const SHOWN_MAX = 200;

/** How a value is shown in a message: JSON, except what JSON cannot say (1e309 parses to Infinity). */
function shownValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a number out of range (too large to represent)';
  if (typeof value === 'string' && value.length > SHOWN_MAX) return `${JSON.stringify(value.slice(0, SHOWN_MAX))}… (${value.length} characters)`;
  const json = JSON.stringify(value);
  return json.length > SHOWN_MAX ? `${json.slice(0, SHOWN_MAX)}… (${json.length} characters of JSON)` : json;
}

/**
 * The value as `details.value` gives it: as sent, unless it is longer than SHOWN_MAX characters (a
 * string) or than that as JSON (anything else) — then its first SHOWN_MAX characters and `valueLength`,
 * how long it was. Pure.
 */
export function detailValue(value: unknown): { value: unknown; valueLength?: number } {
  if (typeof value === 'number' && !Number.isFinite(value)) return { value: String(value) };
  if (typeof value === 'string') return value.length > SHOWN_MAX ? { value: `${value.slice(0, SHOWN_MAX)}…`, valueLength: value.length } : { value };
  const json = value === undefined ? undefined : JSON.stringify(value);
  return json !== undefined && json.length > SHOWN_MAX ? { value: `${json.slice(0, SHOWN_MAX)}…`, valueLength: json.length } : { value };
}

export function badRequest(field: string, value: unknown, expected: string, index?: number): TetoraError {
  const where = index === undefined ? field : `tasks[${index}].${field}`;
  return new TetoraError('TET_ERR_TASK_INVALID', `${where} is ${shownValue(value)}: expected ${expected}.`, { field: where, ...detailValue(value), expected });
}

/** Validate a request against the config and build the ledger row. Throws TET_ERR_TASK_INVALID / _AGENT_UNKNOWN. */
export function buildTask(
  input: unknown,
  ctx: EnqueueContext,
  config: ResolvedConfig,
  now: number,
  index?: number,
  routing?: Routing,
): NewTask {
  const parsed = taskRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(body)';
    const value = issue ? issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], input) : input;
    // Every field has its own wording; only a body that is no object at all reaches the fallback.
    const expected = issue && issue.path.length > 0 && !issue.message.startsWith('Invalid input') ? issue.message : 'a JSON task object with at least a "prompt"';
    throw badRequest(field, value, expected, index);
  }
  const r = parsed.data;
  // Smart dispatch chose the agent (or leaves it to a classifier: none yet).
  const agentName = routing ? (routing.pending ? undefined : (routing.agent ?? r.agent)) : (r.agent ?? config.defaultAgent);
  // Own keys only: a name such as "constructor" or "toString" is no agent or provider.
  const agent = agentName && Object.hasOwn(config.agents, agentName) ? config.agents[agentName] : undefined;
  if (agentName && !agent) {
    const known = Object.keys(config.agents);
    throw new TetoraError(
      'TET_ERR_AGENT_UNKNOWN',
      `${index === undefined ? '' : `tasks[${index}].`}agent ${shownValue(agentName)} is not defined in ${config.configPath}; known agents: ${known.join(', ') || 'none'}. Use one of them, or add it to the config and reload the daemon (SIGHUP).`,
      { field: 'agent', ...detailValue(agentName) },
    );
  }
  const provider = r.provider ?? agent?.provider ?? config.defaultProvider;
  const providerCfg = Object.hasOwn(config.providers, provider) ? config.providers[provider] : undefined;
  if (!providerCfg) {
    throw new TetoraError(
      'TET_ERR_PROVIDER_UNKNOWN',
      `${index === undefined ? '' : `tasks[${index}].`}provider ${shownValue(provider)} is not defined in ${config.configPath}; known providers: ${Object.keys(config.providers).join(', ')}. Use one of them, or add it under "providers" and reload the daemon (SIGHUP).`,
      { field: 'provider', ...detailValue(provider) },
    );
  }
  const tooLarge = promptOverLimit(r.prompt, providerCfg, agentName);
  if (tooLarge) throw new TetoraError('TET_ERR_PROMPT_TOO_LARGE', `${index === undefined ? '' : `tasks[${index}].`}${tooLarge.message}`, { field: 'prompt', bytes: tooLarge.bytes, limitBytes: tooLarge.limit, provider });
  const options: TaskOptions = {};
  if (r.worktree !== undefined) options.worktree = r.worktree;
  if (r.allowedTools) options.allowedTools = r.allowedTools;
  if (r.name) options.name = r.name;
  if (r.idempotencyKey) options.requestHash = requestHash(input, ctx.requestDigest);
  if (routing?.pending && input !== null && typeof input === 'object') {
    const { prompt: _p, idempotencyKey: _k, ...rest } = input as Record<string, unknown>;
    options.routeRequest = rest;
  }
  if (routing?.freshSession) options.freshSession = routing.freshSession;

  const task: NewTask = {
    id: randomUUID(),
    source: ctx.source,
    prompt: r.prompt,
    status: routing?.pending ? 'routing' : 'queued',
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
  const workdir = taskWorkdir(r.workdir, [agent?.workdir, config.defaultWorkdir], config, index);
  if (workdir) task.workdir = workdir;
  // allowedDirs: the agent's own list replaces the top-level one (an empty own list does not lift it).
  const allowed = agent?.allowedDirs?.length ? agent.allowedDirs : (config.allowedDirs ?? []);
  const at = (field: string) => (index === undefined ? field : `tasks[${index}].${field}`);
  if (workdir) assertAllowedDir(at('workdir'), workdir, allowed);
  (agent?.addDirs ?? []).forEach((d, i) => assertAllowedDir(`agents.${agentName}.addDirs[${i}]`, d, allowed));
  const sessionKey = r.sessionKey ?? r.sessionId;
  if (sessionKey) task.sessionKey = sessionKey;
  if (r.systemPrompt !== undefined) task.systemPrompt = r.systemPrompt;
  const budget = r.budget ?? agent?.budget ?? (config.defaultBudget > 0 ? config.defaultBudget : undefined);
  if (budget !== undefined) task.budgetUsd = budget;
  if (r.idempotencyKey) task.idempotencyKey = r.idempotencyKey;
  if (ctx.parentId) task.parentId = ctx.parentId;
  if (ctx.workflowRunId) task.workflowRunId = ctx.workflowRunId;
  if (ctx.workflowStepId) task.workflowStepId = ctx.workflowStepId;
  if (ctx.origin) task.origin = JSON.stringify(ctx.origin);
  if (routing?.route) task.route = JSON.stringify(routing.route);
  return task;
}

/** Folders whose files a task must never see unless the config says so: the home (config.json holds the API token) and the database's folder. */
function protectedDirs(config: ResolvedConfig): string[] {
  return [...new Set([config.home, dirname(config.dbPath)].map(real))];
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Whether `dir` is `inner` or one of its ancestors. */
function contains(dir: string, inner: string): boolean {
  const rel = relative(dir, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/**
 * The workdir of a task. A client's must be absolute (a relative path has no meaning to a daemon whose
 * current folder is not the client's), and may not be the Tetora home, the database's folder or one of
 * their ancestors, unless that very folder is configured (`defaultWorkdir` or the agent's `workdir`).
 * Configured workdirs are already absolute (the loader resolves them against the config's folder).
 */
export function taskWorkdir(requested: string | undefined, configured: ReadonlyArray<string | undefined>, config: ResolvedConfig, index?: number): string | undefined {
  const fallback = configured.find((w) => w !== undefined);
  if (requested === undefined) return fallback;
  if (!isAbsolute(requested)) {
    throw badRequest('workdir', requested, 'an absolute path (the daemon does not know the client\'s current folder); send the full path, e.g. `tetora dispatch --workdir .` sends it for you', index);
  }
  const wanted = real(requested);
  const allowed = configured.some((w) => w !== undefined && real(w) === wanted);
  const held = protectedDirs(config).find((p) => contains(wanted, p));
  if (held && !allowed) {
    throw badRequest('workdir', requested, `a folder that does not hold the Tetora home ${held} (it holds config.json with the API token and tetora.db); choose your project's folder, or set it as defaultWorkdir or an agent's workdir in the config if you really mean it`, index);
  }
  return requested;
}

/**
 * A prompt larger than its provider takes (`providers.<name>.maxPromptBytes`, UTF-8 bytes; unset or 0: no
 * limit): the words of the refusal, naming both sizes and the setting. Undefined when it fits. Pure.
 */
export function promptOverLimit(prompt: string, provider: Pick<ResolvedProvider, 'name' | 'maxPromptBytes'>, agent?: string): { message: string; bytes: number; limit: number } | undefined {
  const limit = provider.maxPromptBytes;
  // A string of n UTF-16 units is at most 3n bytes: most prompts need no count.
  if (limit === undefined || limit <= 0 || prompt.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes <= limit) return undefined;
  return {
    bytes,
    limit,
    message:
      `prompt is ${bytes.toLocaleString('en-US')} bytes, but provider "${provider.name}"${agent ? ` of agent "${agent}"` : ''} takes at most ${limit.toLocaleString('en-US')} bytes ` +
      `(providers.${provider.name}.maxPromptBytes); nothing was recorded. Shorten the prompt or put the long input in a file in the workdir, ` +
      `use an agent whose provider takes more, or raise providers.${provider.name}.maxPromptBytes (0: no limit).`,
  };
}
