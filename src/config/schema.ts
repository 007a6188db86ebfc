import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { parseListen } from './listen.js';
import { taskBoardSchema } from './board.js';
import { parseAllowEntry } from '../outbound/address.js';

/**
 * The config schema, compatible with the original's `config.json` (see
 * ../shared/reference/original-tetora-spec.md §1). Keys not declared here load with one warning each
 * (see unknown-keys.ts); wrong values stop the load with the JSON path, the value and what was expected.
 */

/** "90s", "15m", "1h30m" or a number of milliseconds → milliseconds. */
const DURATION = 'a duration such as "90s", "15m", "1h30m" or a number of milliseconds';
/**
 * The longest wait a Node.js timer can hold (2^31 - 1 ms, about 24.8 days). A longer delay given to
 * setTimeout/setInterval is replaced by 1 ms (with a TimeoutOverflowWarning): a task would time out at once
 * and a periodic job would run without pause. Every duration of the config is held to it.
 */
export const MAX_DURATION_MS = 2_147_483_647;
const TOO_LONG = `a duration of at most ${MAX_DURATION_MS} ms (about 24.8 days, the longest wait a Node.js timer can hold), such as "24h" or "7d"`;
const ZERO_TIMEOUT = 'a duration above 0, such as "15m" or "1h" (a timeout of 0 would end the wait at once)';

function durationSchema(opts: { allowZero: boolean }) {
  return z.union([z.string(), z.number()], { message: DURATION }).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION });
      return z.NEVER;
    }
    if (ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: TOO_LONG });
      return z.NEVER;
    }
    if (ms === 0 && !opts.allowZero) {
      ctx.addIssue({ code: 'custom', message: ZERO_TIMEOUT });
      return z.NEVER;
    }
    return ms;
  });
}

/** A duration of 0 up to MAX_DURATION_MS (0 keeps the meaning its key gives it, e.g. "off"). */
export const duration = durationSchema({ allowZero: true });
/** A timeout: above 0 (0 would expire at once) and at most MAX_DURATION_MS. */
export const timeoutDuration = durationSchema({ allowZero: false });

const nonEmpty = z.string().min(1, { message: 'a non-empty string' });
const positiveInt = z.number({ message: 'a whole number' }).int({ message: 'a whole number' }).positive({ message: 'a number above 0' });
const usd = z.number({ message: 'an amount in USD (a number)' }).nonnegative({ message: 'an amount of 0 or more' });

export const providerTypes = ['claude-code', 'claude-cli', 'codex-cli', 'anthropic', 'openai-compatible', 'command'] as const;
/**
 * Provider types of the original that we do not implement as such; the loader runs them as the CLI they
 * drive and warns (`claude-api` and `claude-tmux` are the original's deprecated names for its Claude Code
 * provider; `terminal-*` drive the CLIs through tmux).
 */
export const legacyProviderTypes: Readonly<Record<string, 'claude-code' | 'codex-cli'>> = {
  'claude-api': 'claude-code',
  'claude-tmux': 'claude-code',
  'terminal-claude': 'claude-code',
  'terminal-codex': 'codex-cli',
};
export const permissionModes = ['default', 'acceptEdits', 'bypassPermissions', 'plan', 'auto', 'dontAsk'] as const;

const days = z.number({ message: 'a number of days (0: keep for ever)' }).nonnegative({ message: 'a number of days of 0 or more (0: keep for ever)' });
/** `retention` (see README "Data retention"): days, as the original's `{history, outputs, auditLog}`. */
export const retentionSchema = z.object({
  /** Events and runs of finished tasks (the original's history). */
  history: days.optional(),
  outputs: days.optional(),
  /** Override `history` for events or runs alone. */
  events: days.optional(),
  runs: days.optional(),
  /** The original's audit log; Tetora has none (accepted, unused). */
  auditLog: days.optional(),
});
const SIZE = 'a size such as "10M", "512K" or a number of bytes (at least 1K)';
/** "10M", "512K", "1G" or a number of bytes → bytes (at least 1024). */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1024 ? v : undefined;
  const m = /^(\d+)\s*([KMG])?B?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as 'K'] ?? 1);
  return n >= 1024 ? n : undefined;
}
export const logFileSchema = z.object({
  enabled: z.boolean({ message: 'true or false' }).optional(),
  maxSize: z.union([z.string(), z.number()], { message: SIZE }).transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: SIZE });
      return z.NEVER;
    }
    return n;
  }).optional(),
  maxFiles: positiveInt.optional(),
});

export const providerSchema = z.object({
  type: z.enum(providerTypes, { message: `one of ${providerTypes.join(', ')}` }),
  path: nonEmpty.optional(),
  args: z.array(z.string()).optional(),
  baseUrl: z.string().url({ message: 'a URL such as http://127.0.0.1:11434/v1' }).optional(),
  apiKey: z.string().optional(),
  model: nonEmpty.optional(),
  maxConcurrent: positiveInt.optional(),
  maxTokens: positiveInt.optional(),
  firstTokenTimeout: timeoutDuration.optional(),
  /** Extra environment variables for CLI providers. */
  env: z.record(z.string(), z.string()).optional(),
  /** `command` provider: regular expressions matched against stderr+stdout of a failed run. */
  transientPatterns: z.array(z.string()).optional(),
  rateLimitPatterns: z.array(z.string()).optional(),
  /** USD per million tokens, for API providers. */
  pricing: z.object({ input: usd, output: usd }).optional(),
  /** The longest prompt (UTF-8 bytes) the provider takes; 0: no limit. Default per type: see DEFAULT_PROMPT_LIMITS (board.ts). */
  maxPromptBytes: z.number({ message: 'a whole number of bytes, 0 for no limit' }).int({ message: 'a whole number of bytes, 0 for no limit' }).nonnegative({ message: 'a whole number of bytes, 0 for no limit' }).optional(),
});

export const worktreeCleanupPolicies = ['keep', 'remove-if-integrated'] as const;

export const agentSchema = z.object({
  soulFile: nonEmpty.optional(),
  model: nonEmpty.optional(),
  provider: nonEmpty.optional(),
  description: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  permissionMode: z.enum(permissionModes, { message: `one of ${permissionModes.join(', ')}` }).optional(),
  fallbackProviders: z.array(nonEmpty).optional(),
  maxTasksPerAgent: positiveInt.optional(),
  workdir: nonEmpty.optional(),
  worktree: z.boolean({ message: 'true or false' }).optional(),
  worktreeCleanup: z.enum(worktreeCleanupPolicies, { message: `one of ${worktreeCleanupPolicies.join(', ')}` }).optional(),
  baseBranch: nonEmpty.optional(),
  timeout: timeoutDuration.optional(),
  budget: usd.optional(),
  allowedTools: z.array(z.string()).optional(),
  addDirs: z.array(nonEmpty).optional(),
  maxTurns: positiveInt.optional(),
  dailyBudget: usd.optional(),
  /** Replaces the top-level `allowedDirs` for this agent's tasks. */
  allowedDirs: z.array(nonEmpty).optional(),
});

export const retrySchema = z.object({
  base: duration.optional(),
  cap: duration.optional(),
  maxAttempts: positiveInt.optional(),
  /** How long a rate-limited task waits when the provider gives no reset time. */
  rateLimitWait: duration.optional(),
  /** Ceiling on the total time one task may spend parked by rate limits and quotas. */
  maxParkTime: duration.optional(),
  /** How many times a task may be interrupted by a daemon crash before it fails (a task that crashes the daemon must not loop). */
  maxInterruptions: positiveInt.optional(),
});

const snowflake = z.string().regex(/^\d{1,25}$/, { message: 'a Discord id (digits only, e.g. "123456789012345678")' });

/** The original's `discord` block, plus ours (apiBaseUrl, allowDMs, allowedUserIDs, maxChunks, sendRetry). */
const discordSchema = z.object({
  enabled: z.boolean({ message: 'true or false' }).optional(),
  botToken: z.string().optional(),
  guildID: snowflake.optional(),
  channelIDs: z.array(snowflake).optional(),
  mentionChannelIDs: z.array(snowflake).optional(),
  /** Legacy: one mention channel. */
  channelID: snowflake.optional(),
  /** channel id → the agent that answers there (`role` accepted for `agent`). */
  routes: z.record(z.string(), z.object({ agent: nonEmpty.optional(), role: nonEmpty.optional() })).optional(),
  showProgress: z.boolean({ message: 'true or false' }).optional(),
  threadBindings: z.object({ enabled: z.boolean({ message: 'true or false' }).optional(), ttlHours: z.number({ message: 'a number of hours' }).positive({ message: 'a number above 0' }).optional() }).optional(),
  reactions: z.object({ enabled: z.boolean({ message: 'true or false' }).optional(), emojis: z.record(z.string(), z.string()).optional() }).optional(),
  /** The REST base without the version; the gateway URL is discovered from it. */
  apiBaseUrl: z.string().url({ message: 'an http(s) URL such as https://discord.com/api' }).optional(),
  allowDMs: z.boolean({ message: 'true or false' }).optional(),
  allowedUserIDs: z.array(snowflake).optional(),
  maxChunks: positiveInt.optional(),
  sendRetry: z.object({ base: duration.optional(), cap: duration.optional(), maxAttempts: positiveInt.optional() }).optional(),
});

/** A smart-dispatch binding or rule names its agent as `agent` (or the original's `role`). */
const sdBindingSchema = z.object({
  /** The source the binding applies to (`discord`, `http`, `cli`, …); the original's `channel`. */
  channel: z.string().optional(),
  userId: z.string().optional(),
  channelId: z.string().optional(),
  guildId: z.string().optional(),
  agent: nonEmpty.optional(),
  role: nonEmpty.optional(),
});
const sdRuleSchema = z.object({
  agent: nonEmpty.optional(),
  role: nonEmpty.optional(),
  keywords: z.array(z.string({ message: 'a keyword (a string)' }), { message: 'a list of keywords (strings)' }).optional(),
  patterns: z.array(z.string({ message: 'a regular expression (a string)' }), { message: 'a list of regular expressions (strings)' }).optional(),
});
/** `smartDispatch` in the original's shape (see src/routing/ and README "Smart dispatch"). */
const smartDispatchSchema = z.object({
  enabled: z.boolean({ message: 'true or false' }).optional(),
  coordinator: nonEmpty.optional(),
  defaultAgent: nonEmpty.optional(),
  classifyBudget: usd.optional(),
  classifyTimeout: timeoutDuration.optional(),
  classifyModel: nonEmpty.optional(),
  escalateModel: nonEmpty.optional(),
  fallback: z.enum(['smart', 'coordinator'], { message: 'one of smart, coordinator' }).optional(),
  bindings: z.array(sdBindingSchema, { message: 'a list of bindings' }).optional(),
  rules: z.array(sdRuleSchema, { message: 'a list of rules' }).optional(),
  review: z.boolean({ message: 'true or false' }).optional(),
  reviewAgent: nonEmpty.optional(),
  reviewBudget: usd.optional(),
  /** How long one rule pattern may run against a prompt before it counts as no match. */
  patternTimeout: timeoutDuration.optional(),
});

/** `tetora upgrade`: the single executable's release index (`url`), npm's registry and package name. */
const upgradeSchema = z.object({
  url: z.string().url({ message: 'an http(s) URL of a JSON release index' }).optional(),
  registry: z.string().url({ message: 'an npm registry URL such as https://registry.npmjs.org/' }).optional(),
  package: nonEmpty.optional(),
});

/** A workflow skill: a command run with the step's `skillArgs` after `args`. */
export const skillSchema = z.object({
  command: nonEmpty,
  args: z.array(z.string()).optional(),
  timeout: timeoutDuration.optional(),
});

export const triggerTypes = ['cron', 'event', 'webhook'] as const;
export const catchUpPolicies = ['none', 'last'] as const;

/** A workflow trigger (`workflowTriggers[]`), in the original's format plus `secret` (webhooks) and `catchUp` (cron). */
export const triggerSchema = z.object({
  name: nonEmpty,
  workflowName: nonEmpty,
  enabled: z.boolean({ message: 'true or false' }).optional(),
  trigger: z.object({
    type: z.enum(triggerTypes, { message: `one of ${triggerTypes.join(', ')}` }),
    cron: nonEmpty.optional(),
    tz: nonEmpty.optional(),
    event: nonEmpty.optional(),
    /** The original's field; matching is by the trigger's name, so it plays no part. */
    webhook: z.string().optional(),
  }),
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { message: 'a string, number or boolean' })).optional(),
  cooldown: duration.optional(),
  secret: nonEmpty.optional(),
  catchUp: z.enum(catchUpPolicies, { message: `one of ${catchUpPolicies.join(', ')}` }).optional(),
});

/** `outboundHttp`: addresses, ranges or host names let through the outbound guard, and whether loopback and private networks are refused too. */
const outboundHttpSchema = z.object({
  allow: z
    .array(
      z.string({ message: 'a string' }).superRefine((s, ctx) => {
        const e = parseAllowEntry(s);
        if ('error' in e) ctx.addIssue({ code: 'custom', message: e.error });
      }),
      { message: 'a list of addresses, CIDR ranges or host names' },
    )
    .optional(),
  blockPrivateNetworks: z.boolean({ message: 'true or false' }).optional(),
  maxResponseBytes: z.number({ message: 'a number of bytes' }).int({ message: 'a whole number of bytes' }).positive({ message: 'a number of bytes above 0' }).optional(),
});

export const configSchema = z.object({
  listenAddr: z
    .string()
    // An empty host (":8991", as Go writes "all interfaces") is accepted and read as 0.0.0.0 (see listen.ts).
    .superRefine((s, ctx) => {
      const p = parseListen(s);
      if (!p.ok) ctx.addIssue({ code: 'custom', message: p.expected });
    })
    .optional(),
  apiToken: z.string().optional(),
  maxConcurrent: positiveInt.optional(),
  maxTasksPerAgent: positiveInt.optional(),
  defaultAgent: nonEmpty.optional(),
  defaultModel: nonEmpty.optional(),
  defaultProvider: nonEmpty.optional(),
  defaultTimeout: timeoutDuration.optional(),
  defaultBudget: usd.optional(),
  defaultPermissionMode: z.enum(permissionModes, { message: `one of ${permissionModes.join(', ')}` }).optional(),
  defaultWorkdir: nonEmpty.optional(),
  /** If set, a task's workdir and --add-dirs and a workflow run's workdir must lie inside one of them (see engine/allowed-dirs.ts). */
  allowedDirs: z.array(nonEmpty).optional(),
  claudePath: nonEmpty.optional(),
  codexPath: nonEmpty.optional(),
  providers: z.record(z.string(), providerSchema).optional(),
  fallbackProviders: z.array(nonEmpty).optional(),
  agents: z.record(z.string(), agentSchema).optional(),
  discord: discordSchema.optional(),
  smartDispatch: smartDispatchSchema.optional(),
  retry: retrySchema.optional(),
  /** 0: interrupt running tasks at once on shutdown, without waiting. */
  drainTimeout: duration.optional(),
  noOutputTimeout: timeoutDuration.optional(),
  dailyBudget: usd.optional(),
  /** 0 turns the periodic prune off. */
  worktreePruneInterval: duration.optional(),
  /** A task's output is kept in its row up to this many bytes; beyond, the row refers to the run's spool file. */
  maxOutputBytes: positiveInt.optional(),
  /** The largest HTTP request body (a dispatch with its prompt, a workflow run's input) the API accepts; a restart applies a change. */
  maxRequestBytes: positiveInt.optional(),
  /** Where the task database lives; default `tetora.db` in the home directory. */
  dbPath: nonEmpty.optional(),
  /** Workflows: the folder of `<name>.json` definitions; default `workflows` in the home directory. */
  workflowDir: nonEmpty.optional(),
  /** Workflows: secret-looking names (TOKEN, KEY, SECRET, PASSWORD) that `{{env.NAME}}` may still read. */
  workflowEnv: z.array(nonEmpty).optional(),
  /** Workflows: skills that `skill` steps run, by name. */
  skills: z.record(z.string(), skillSchema).optional(),
  /** Workflow triggers: cron, event and webhook (see src/schedules/). */
  workflowTriggers: z.array(triggerSchema, { message: 'a list of triggers' }).optional(),
  /** The cron jobs file; default `jobs.json` beside the config. */
  jobsFile: nonEmpty.optional(),
  /** Delegation (`_delegate` blocks in an agent's output): how many children per output, how many levels. */
  agentComm: z
    .object({
      maxChildrenPerTask: z.number({ message: 'a whole number from 0 to 100' }).int({ message: 'a whole number from 0 to 100' }).min(0, { message: 'a whole number from 0 to 100' }).max(100, { message: 'a whole number from 0 to 100' }).optional(),
      maxDepth: z.number({ message: 'a whole number from 0 to 10' }).int({ message: 'a whole number from 0 to 10' }).min(0, { message: 'a whole number from 0 to 10' }).max(10, { message: 'a whole number from 0 to 10' }).optional(),
    })
    .optional(),
  /** The task board (src/board/): tickets, auto-dispatch, review. */
  taskBoard: taskBoardSchema(duration).optional(),
  /** `tetora upgrade`: where new versions come from (see README "Upgrading"). */
  upgrade: upgradeSchema.optional(),
  /** Operations: days finished tasks keep their events, outputs and runs (the original's key; 0 or absent: kept for ever). */
  retention: retentionSchema.optional(),
  /** Operations: the daemon's log file `$TETORA_HOME/logs/tetora.log`, rotated by size. */
  logFile: logFileSchema.optional(),
  /** Where workflow `http` tool calls and `notify` webhooks may connect (see src/outbound/address.ts). */
  outboundHttp: outboundHttpSchema.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ProviderType = (typeof providerTypes)[number];
