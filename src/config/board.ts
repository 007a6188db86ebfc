import { z } from 'zod';
import type { ProviderType } from './schema.js';
import type { ResolvedAgent, TaskBoardConfig } from './types.js';

/**
 * The `taskBoard` block in the original's shape (see ../shared/reference/original-tetora-spec.md §2.4), and
 * the per-provider prompt limit the board's context check uses. Keys of the original we do not implement
 * (`autoDispatch.maxTasksPerAgent`, `stuckThreshold`, …) load with one warning each.
 */
const bool = z.boolean({ message: 'true or false' });
const name = z.string().min(1, { message: 'a non-empty string' });
const count = (what: string) => z.number({ message: what }).int({ message: what });

export function taskBoardSchema(duration: z.ZodType<number>) {
  return z.object({
    enabled: bool.optional(),
    maxRetries: count('a whole number, 0 or more').nonnegative({ message: 'a whole number, 0 or more' }).optional(),
    reviewAgent: name.optional(),
    escalateAssignee: name.optional(),
    gitWorktree: bool.optional(),
    autoDispatch: z
      .object({
        enabled: bool.optional(),
        interval: duration.optional(),
        maxConcurrentTasks: count('a whole number above 0').positive({ message: 'a whole number above 0' }).optional(),
        defaultAgent: name.optional(),
        maxExecutions: count('a whole number above 0').positive({ message: 'a whole number above 0' }).optional(),
      })
      .optional(),
  });
}

/**
 * What a provider of each type takes, in bytes of prompt (UTF-8), when `providers.<name>.maxPromptBytes` is
 * not set. A model's context window is counted in tokens; these are its input room (the window less what
 * the CLI's own system prompt, tools and the answer need) at 4 bytes per token, the usual estimate for
 * English text and code (CJK and emoji take fewer bytes per token, so a prompt of such text meets the
 * window before this limit: set `maxPromptBytes` lower for them). `command` runs any program: no limit.
 * See docs/ARCHITECTURE.md "Task board".
 */
export const DEFAULT_PROMPT_LIMITS: Readonly<Record<Exclude<ProviderType, 'claude-cli'>, number | undefined>> = {
  // Claude models: a 200k-token window, less ~40k for Claude Code's system prompt, tools and the answer.
  'claude-code': 640_000,
  // Codex (GPT-5 family): 272k input tokens, less ~32k for its instructions and tools.
  'codex-cli': 960_000,
  // The Messages API: a 200k-token window, less ~20k for the answer (maxTokens) and the system prompt.
  anthropic: 720_000,
  // Unknown model behind the endpoint: 32k tokens, a common local-model window (Ollama cuts longer prompts silently).
  'openai-compatible': 128_000,
  command: undefined,
};

/** The resolved `taskBoard` block; unknown agents named in it are config errors naming the field. */
export function resolveTaskBoard(
  raw: z.infer<ReturnType<typeof taskBoardSchema>> | undefined,
  agents: Record<string, ResolvedAgent>,
  defaultAgent: string | undefined,
  bad: (path: string, value: unknown, expected: string) => Error,
): TaskBoardConfig {
  const known = `the name of an agent (${Object.keys(agents).join(', ') || 'none defined'})`;
  const agent = (path: string, v: string | undefined) => {
    if (v !== undefined && !Object.hasOwn(agents, v)) throw bad(path, v, known);
    return v;
  };
  const out: TaskBoardConfig = {
    enabled: raw?.enabled ?? true,
    maxRetries: raw?.maxRetries ?? 3,
    gitWorktree: raw?.gitWorktree ?? false,
    autoDispatch: {
      enabled: raw?.autoDispatch?.enabled ?? false,
      intervalMs: raw?.autoDispatch?.interval || 300_000,
      maxConcurrentTasks: raw?.autoDispatch?.maxConcurrentTasks ?? 3,
      maxExecutions: raw?.autoDispatch?.maxExecutions ?? 3,
    },
  };
  const reviewAgent = agent('taskBoard.reviewAgent', raw?.reviewAgent);
  if (reviewAgent !== undefined) out.reviewAgent = reviewAgent;
  if (raw?.escalateAssignee !== undefined) out.escalateAssignee = raw.escalateAssignee;
  const dflt = agent('taskBoard.autoDispatch.defaultAgent', raw?.autoDispatch?.defaultAgent) ?? defaultAgent;
  if (dflt !== undefined) out.autoDispatch.defaultAgent = dflt;
  return out;
}
