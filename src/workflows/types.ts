/**
 * Workflow definitions in the original Tetora's JSON format (../shared/reference/original-tetora-spec.md §8.1).
 * These are the parsed form (`parse.ts`): fields keep the values the file gave (durations stay text, as
 * "90s" or "1h"), so validation (`validate.ts`) can name the value that is wrong. A runner only runs a
 * definition that validated with no error, and may then rely on the rules written on each field.
 */

/** Every step type of the original. `external` parses but never validates (not supported yet). */
export const STEP_TYPES = ['dispatch', 'skill', 'condition', 'parallel', 'handoff', 'tool_call', 'delay', 'notify', 'human', 'external'] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** Types a sub-step of a `parallel` step may have (the runner runs these side by side). */
export const PARALLEL_SUB_STEP_TYPES = ['dispatch', 'skill', 'handoff', 'tool_call', 'delay', 'notify'] as const;

export const ON_ERROR_MODES = ['stop', 'skip', 'retry'] as const;
export type OnErrorMode = (typeof ON_ERROR_MODES)[number];

export const HUMAN_SUBTYPES = ['approval', 'input'] as const;
export type HumanSubtype = (typeof HUMAN_SUBTYPES)[number];
export const HUMAN_ON_TIMEOUT = ['stop', 'skip', 'approve'] as const;
export type HumanOnTimeout = (typeof HUMAN_ON_TIMEOUT)[number];

/** `tool_call` tools this version runs. */
export const TOOL_NAMES = ['shell', 'http'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** Fields of a step result a template may read: `{{steps.<id>.output|status|error}}`. */
export const STEP_FIELDS = ['output', 'status', 'error'] as const;
export type StepField = (typeof STEP_FIELDS)[number];

/** Defaults the original applies (and the runner must apply the same). */
export const STEP_DEFAULTS = {
  onError: 'stop' as OnErrorMode,
  /** retryDelay when `onError: "retry"` gives none. */
  retryDelayMs: 5_000,
  humanTimeoutMs: 72 * 3_600_000,
  humanOnTimeout: 'stop' as HumanOnTimeout,
  humanSubtype: 'approval' as HumanSubtype,
  /** The separator the original puts between the outputs of a parallel step's sub-steps. */
  parallelJoin: '\n---\n',
} as const;

export interface StepDef {
  /** Required, unique across the workflow (sub-steps of parallel steps included); no `.`, `/`, `{`, `}` or spaces. */
  id: string;
  /** Default `dispatch` (filled in by the parser when the file gives none). */
  type: string;
  /** Agent name (the original's legacy `role` is read into it). Templated. */
  agent?: string;
  /** The prompt (dispatch, skill-less steps) or the instruction (handoff). Templated. */
  prompt?: string;
  /** Ids of the steps that must end first. Always an array after parsing. */
  dependsOn: string[];
  model?: string;
  provider?: string;
  /** A duration ("90s", "15m", "1h30m") — text as given; parse with `parseDuration`. Templated. */
  timeout?: string;
  /** USD. */
  budget?: number;
  permissionMode?: string;
  /** `stop` (default) | `skip` | `retry`. */
  onError?: string;
  retryMax?: number;
  /** A duration; default 5s. */
  retryDelay?: string;
  allowDangerous?: boolean;

  // condition
  if?: string;
  then?: string;
  else?: string;

  // parallel
  parallel?: StepDef[];

  // handoff
  handoffFrom?: string;

  // delay
  /** A duration. */
  delay?: string;

  // notify
  notifyMsg?: string;
  /** `log`, `discord:<channelId>`, an http(s) URL; others (the original's `telegram`, …) are a warning. */
  notifyTo?: string;

  // tool_call
  toolName?: string;
  /** shell: `{command, args?, timeout?}`; http: `{method?, url, headers?, body?}`. String values are templated. */
  toolInput?: Record<string, unknown>;

  // skill
  skill?: string;
  skillArgs?: string[];

  // human
  humanSubtype?: string;
  humanPrompt?: string;
  humanAssignee?: string;
  /** A duration; default 72h. */
  humanTimeout?: string;
  humanOnTimeout?: string;
  humanInputKey?: string;
  humanOptions?: string[];
  humanContext?: Record<string, string>;

  // external (not supported: validation refuses the type; its fields are kept so the file round-trips)
  external?: Record<string, unknown>;
}

export interface WorkflowDef {
  /** `^[A-Za-z0-9][A-Za-z0-9_-]*$` */
  name: string;
  description?: string;
  /** Variable defaults; "" declares a variable with an empty default. */
  variables: Record<string, string>;
  /** A duration for the whole run. */
  timeout?: string;
  gitWorktree?: boolean;
  /** Templated (variables and env only: no step has run when the worktree is made). */
  branch?: string;
  workdir?: string;
  /** Reserved by the original, unused; kept as given. */
  onSuccess?: unknown;
  onFailure?: unknown;
  steps: StepDef[];
}

/** One problem found in a definition: the JSON path (`steps[2].dependsOn[0]`) and what to do. */
export interface Problem {
  path: string;
  message: string;
}

export interface CheckResult {
  errors: Problem[];
  warnings: Problem[];
}
