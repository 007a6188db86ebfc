/**
 * The interface the engine declares and every provider adapter implements:
 * run(request, abort signal, event sink) → outcome. The engine never imports child_process or an SDK.
 */

export const outcomeClasses = ['success', 'transient', 'rate_limited', 'quota', 'session_invalid', 'permanent', 'cancelled', 'timeout'] as const;
export type OutcomeClass = (typeof outcomeClasses)[number];

import type { ChatMessage, SessionUsage } from '../model/session.js';

export type { ChatMessage, SessionUsage };

export interface RunRequest {
  taskId: string;
  /** 1-based attempt number (a rate-limit park does not use one). */
  attempt: number;
  prompt: string;
  systemPrompt?: string;
  model?: string;
  /** Absolute working folder. */
  workdir: string;
  permissionMode?: string;
  sessionKey?: string;
  /** Continue this provider session (claude --resume, codex exec resume). */
  resumeSessionId?: string;
  /** Start a session with this id where the provider supports naming it (claude --session-id). */
  newSessionId?: string;
  /** Earlier turns of the session, for API providers that keep no state of their own. */
  history?: ChatMessage[];
  /**
   * The session's cumulative figures as last reported by the provider (codex reports thread totals, claude a
   * session-wide total cost after --resume): the adapter charges this run the difference.
   */
  sessionUsage?: SessionUsage;
  allowedTools?: string[];
  addDirs?: string[];
  maxTurns?: number;
  /** The environment the child sees (process env + .env + provider env). */
  env: Record<string, string>;
  /**
   * Where a CLI run's detached process keeps its files, and how the runner tracks it. Adapters that start a
   * process pass it to the spawner; API adapters ignore it.
   */
  spool?: RunSpool;
}

/**
 * A run's detached process, as the runner sees it: its spool folder, the marker its processes carry, and
 * the callbacks that record it. With `adopt`, a previous daemon started the run: the spawner attaches to
 * it (follows its spool from the start, quietly up to `seen`) instead of starting a new one.
 */
export interface RunSpool {
  dir: string;
  /** Value of TETORA_RUN for every process of the run. */
  marker: string;
  adopt?: { pid: number; pidStartedAt: number | null };
  /** Bytes of stdout / stderr whose events are already recorded. */
  seen: { out: number; err: number };
  /** True while the spawner replays lines whose events are already recorded: the runner records none. */
  replaying: boolean;
  /** Output larger than this is left in the spool file (the outcome refers to it). */
  maxOutputBytes: number;
  /** The launcher started (waiting for its go): must record it durably before returning; the agent starts after. */
  launched(l: { pid: number; pidStartedAt: number | null }): void;
  /** Bytes of stdout / stderr turned into events so far. */
  advanced(out: number, err: number): void;
}

/** Progress from a provider, appended to the task's events as `provider.<type>`. */
export interface ProviderEvent {
  type: 'text' | 'tool_call' | 'tool_result' | 'provider_retry' | 'session' | 'usage' | 'stderr' | 'raw' | 'info';
  data: Record<string, unknown>;
}

export interface EventSink {
  event(e: ProviderEvent): void;
  /** The provider is alive (a line, a streamed token) though it has no event to record: resets the no-output watchdog. */
  alive?(): void;
  /** Cumulative cost so far, in USD; the engine stops the run when it passes the task's budget. */
  cost?(usd: number): void;
}

export interface Outcome {
  class: OutcomeClass;
  /** The agent's full answer (never truncated), or its head when `outputFile` holds it whole. */
  output: string;
  /** An answer larger than the task row keeps: the file that holds it whole, and its size. */
  outputFile?: { path: string; bytes: number };
  /** Required (non-empty) when class is not success: what the provider said. */
  message?: string;
  /** The provider session this run used or created. */
  sessionId?: string;
  costUsd?: number;
  tokensIn?: number;
  tokensOut?: number;
  /** transient: the provider's Retry-After. */
  retryAfterMs?: number;
  /** rate_limited / quota: when the provider says the limit resets (epoch ms). */
  resetAt?: number;
  /** Conversation turns to remember for the session (API providers). */
  turns?: ChatMessage[];
  /** The provider's cumulative figures for the session after this run, remembered for the next one. */
  sessionUsage?: SessionUsage;
}

export interface ProviderAdapter {
  readonly name: string;
  readonly type: string;
  run(req: RunRequest, signal: AbortSignal, sink: EventSink): Promise<Outcome>;
}

/** Why the engine aborted a run; adapters read it from `signal.reason` only to word their message. */
export interface AbortReason {
  kind: 'cancel' | 'timeout' | 'no_output' | 'budget' | 'shutdown';
  message: string;
}
