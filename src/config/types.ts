import type { ProviderType } from './schema.js';

/** The compiled config: defaults applied, paths resolved, secrets substituted. Only this form is read at run time. */
export interface ResolvedProvider {
  name: string;
  /** `claude-cli` is normalised to `claude-code`. */
  type: Exclude<ProviderType, 'claude-cli'>;
  path?: string;
  /** Added by the loader (`claude`, `codex`) because the config does not declare it. */
  implicit?: true;
  args: string[];
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  /** @default unlimited */
  maxConcurrent?: number;
  maxTokens?: number;
  firstTokenTimeoutMs?: number;
  env: Record<string, string>;
  transientPatterns: string[];
  rateLimitPatterns: string[];
  pricing?: { input: number; output: number };
  /** The longest prompt in UTF-8 bytes the board sends it; undefined: no limit. Default per type (config/board.ts). */
  maxPromptBytes?: number;
}

export interface ResolvedAgent {
  name: string;
  soulFile?: string;
  model?: string;
  provider: string;
  description: string;
  keywords: string[];
  permissionMode: string;
  fallbackProviders: string[];
  /** Own cap, or the global default; undefined = no per-agent cap. */
  maxTasksPerAgent?: number;
  workdir?: string;
  /** @default false */
  worktree: boolean;
  /** @default 'keep' */
  worktreeCleanup: 'keep' | 'remove-if-integrated';
  baseBranch?: string;
  timeoutMs?: number;
  budget?: number;
  allowedTools: string[];
  addDirs: string[];
  maxTurns?: number;
  dailyBudget?: number;
  /** Absolute; replaces the top-level allowedDirs for this agent. */
  allowedDirs?: string[];
}

export interface RetryPolicyConfig {
  /** @default 2000 */
  baseMs: number;
  /** @default 300000 */
  capMs: number;
  /** @default 3 */
  maxAttempts: number;
  /** @default 60000 */
  rateLimitWaitMs: number;
  /** @default 21600000 (6h) */
  maxParkMs: number;
  /** Daemon crashes a task may live through before it fails. @default 5 */
  maxInterruptions: number;
}

export interface ResolvedTrigger {
  name: string;
  workflowName: string;
  /** @default true */
  enabled: boolean;
  type: 'cron' | 'event' | 'webhook';
  cron?: string;
  tz?: string;
  /** Event type to match; a trailing `*` matches any suffix (`task.*`). */
  event?: string;
  variables: Record<string, string>;
  /** @default 0 */
  cooldownMs: number;
  /** Webhooks: HMAC-SHA256 key (`$VAR` allowed). */
  secret?: string;
  /** @default 'none' */
  catchUp: 'none' | 'last';
}

export interface ResolvedConfig {
  /** Absolute path of the config file that was loaded. */
  configPath: string;
  /** The home directory: the config file's folder. */
  home: string;
  dbPath: string;
  /** @default '127.0.0.1:8991' */
  listenAddr: string;
  listenHost: string;
  listenPort: number;
  apiToken?: string;
  /** @default 8 */
  maxConcurrent: number;
  maxTasksPerAgent?: number;
  defaultAgent?: string;
  /** @default 'sonnet' */
  defaultModel: string;
  /** @default 'claude' */
  defaultProvider: string;
  /** @default 3600000 (1h) */
  defaultTimeoutMs: number;
  /** @default 0 (no per-task budget) */
  defaultBudget: number;
  /** @default 'acceptEdits' */
  defaultPermissionMode: string;
  defaultWorkdir?: string;
  /** Absolute (resolved against the config's folder); unset or empty: no restriction. */
  allowedDirs?: string[];
  /** @default 'claude' */
  claudePath: string;
  providers: Record<string, ResolvedProvider>;
  fallbackProviders: string[];
  agents: Record<string, ResolvedAgent>;
  /** Present when the config has a `discord` block (enabled or not). */
  discord?: DiscordConfig;
  /** Present when the config has a `smartDispatch` block (enabled or not); see src/routing/. */
  smartDispatch?: SmartDispatchConfig;
  /** `tetora upgrade` settings, as written (present when the config has an `upgrade` block). */
  upgrade?: UpgradeConfig;
  retry: RetryPolicyConfig;
  /** @default 30000 */
  drainTimeoutMs: number;
  /** No output from a provider for this long ends the run as a timeout. @default 600000 */
  noOutputTimeoutMs: number;
  dailyBudget?: number;
  /** Output kept in the task row; beyond it the row refers to the spool file. @default 10485760 (10 MiB) */
  maxOutputBytes: number;
  /** The API's request body limit (413 beyond it); read at start. @default 10485760 (10 MiB) */
  maxRequestBytes?: number;
  /** @default 3600000 */
  worktreePruneIntervalMs: number;
  workflowTriggers: ResolvedTrigger[];
  /** Absolute path of the cron jobs file. @default `jobs.json` beside the config */
  jobsFile: string;
  /** The environment that providers see: the process environment plus `.env` (which never overrides). */
  env: Record<string, string>;
  /** Workflow definitions (`<name>.json`). @default `<home>/workflows` */
  workflowDir: string;
  /** Secret-looking names `{{env.NAME}}` may read anyway. @default [] */
  workflowEnv: string[];
  /** Skills for `skill` workflow steps. @default {} */
  skills: Record<string, ResolvedSkill>;
  /** Delegation limits (`agentComm`). */
  agentComm: AgentCommConfig;
  /** The task board; the loader always sets it (defaults when the config has no `taskBoard` block). */
  taskBoard?: TaskBoardConfig;
  /** Days finished tasks keep their events, outputs and runs; 0 keeps them for ever. @default all 0 */
  retention: { eventsDays: number; outputsDays: number; runsDays: number };
  /** The daemon's log file `<home>/logs/tetora.log`. @default {enabled: true, maxSizeBytes: 10 MiB, maxFiles: 5} */
  logFile: { enabled: boolean; path: string; maxSizeBytes: number; maxFiles: number };
  /** Where workflow `http` tool calls and `notify` webhooks may connect (src/outbound/); absent: the defaults (allow nothing extra, private networks allowed). */
  outboundHttp?: { allow: string[]; blockPrivateNetworks: boolean; maxResponseBytes?: number };
}

/** `agentComm`: delegation through `_delegate` blocks (see src/agents/delegate.ts). */
export interface AgentCommConfig {
  /** Child tasks one output may start; further blocks are refused with a note. 0 turns delegation off. @default 3 */
  maxChildrenPerTask: number;
  /** A task at depth d (a top-level task is at 0) may delegate while d < maxDepth. 0 turns delegation off. @default 2 */
  maxDepth: number;
}

/** The `taskBoard` block, resolved (see README "Task board"). */
export interface TaskBoardConfig {
  /** @default true */
  enabled: boolean;
  /** Automatic retries of a failed ticket, and fix runs a reviewer may ask for. @default 3 */
  maxRetries: number;
  /** An agent that reviews each finished run (approve / fix / escalate). */
  reviewAgent?: string;
  /** Who gets a ticket sent to `review` (BLOCKED, NEEDS_CONTEXT, escalate). None: the assignee stays. */
  escalateAssignee?: string;
  /** @default false */
  gitWorktree: boolean;
  autoDispatch: {
    /** @default false */
    enabled: boolean;
    /** @default 300000 (5m) */
    intervalMs: number;
    /** @default 3 */
    maxConcurrentTasks: number;
    /** Runs tickets without an assignee; default: the top-level `defaultAgent`. */
    defaultAgent?: string;
    /** Runs of one ticket before it fails for good. @default 3 */
    maxExecutions: number;
  };
}

/** A workflow skill (config `skills.<name>`). */
export interface ResolvedSkill {
  name: string;
  /** A bare name is looked up on PATH; a path is resolved against the home directory. */
  command: string;
  args: string[];
  timeoutMs?: number;
}

/** The `discord` block, resolved (see README "Discord"). Ids are Discord snowflakes (strings). */
export interface DiscordConfig {
  enabled: boolean;
  /** Resolved from `$VAR`; empty when not set. Never logged. */
  botToken: string;
  guildId?: string;
  /** Every message in these channels is answered. */
  channelIds: string[];
  /** Only messages that @mention the bot are answered (the legacy `channelID` is added here). */
  mentionChannelIds: string[];
  /** channel id → agent name. */
  routes: Record<string, string>;
  /** @default true */
  showProgress: boolean;
  threadBindings: { enabled: boolean; ttlHours: number };
  reactions: { enabled: boolean; emojis: Record<string, string> };
  /** @default 'https://discord.com/api' (no trailing slash, no version) */
  apiBaseUrl: string;
  /** @default false */
  allowDMs: boolean;
  /** When set, only these users are answered. */
  allowedUserIds?: string[];
  /** @default 3 */
  maxChunks: number;
  /** Sends failing with 5xx, timeouts or network errors: full-jitter backoff. @default {baseMs: 1000, capMs: 300000, maxAttempts: 8} */
  sendRetry: { baseMs: number; capMs: number; maxAttempts: number };
}

export interface LoadResult {
  config: ResolvedConfig;
  warnings: string[];
}

/** A smart-dispatch binding: the source (`channel`) and any one id that matches send the task to `agent`. */
export interface SmartDispatchBinding {
  /** The source it applies to (`discord`, `http`, `cli`, …); none: every source. */
  channel?: string;
  userId?: string;
  channelId?: string;
  guildId?: string;
  agent: string;
}

/** A smart-dispatch rule: any keyword (case-insensitive substring) or pattern (case-insensitive regex) sends the task to `agent`. */
export interface SmartDispatchRule {
  agent: string;
  keywords: string[];
  patterns: string[];
}

/** The `smartDispatch` block, resolved (see README "Smart dispatch"). Every agent it names exists. */
export interface SmartDispatchConfig {
  /** @default false */
  enabled: boolean;
  /** The agent that classifies (fallback `smart`). @default smartDispatch.defaultAgent, then defaultAgent, then the first agent */
  coordinator: string;
  /** Where a task goes when nothing else decides (fallback `coordinator`, a failed classifier). @default defaultAgent, then coordinator */
  defaultAgent: string;
  /** @default 0.1 (USD) */
  classifyBudget: number;
  /** @default 30000 */
  classifyTimeoutMs: number;
  /** The classifier's model; none: the coordinator's. */
  classifyModel?: string;
  /** The model of the one more classification asked on low confidence; none: the classifier's. */
  escalateModel?: string;
  /** @default 'smart' */
  fallback: 'smart' | 'coordinator';
  bindings: SmartDispatchBinding[];
  rules: SmartDispatchRule[];
  /** Validated; review of routed tasks is not supported yet (the loader warns). @default false */
  review: boolean;
  reviewAgent?: string;
  /** @default 0.2 */
  reviewBudget: number;
  /** How long one rule pattern may run on a prompt (node:vm time limit). @default 50 */
  patternTimeoutMs: number;
}

/** The `upgrade` block: `url` the single executable's release index; `registry` and `package` for npm installs. */
export interface UpgradeConfig {
  url?: string;
  /** Overrides npm's own registry setting for `tetora upgrade` (npm's config is used otherwise). */
  registry?: string;
  /** @default 'tetora' */
  package?: string;
}
