/**
 * What an in-daemon step (notify webhook, `http` and `shell` tool calls, skills) tells the world it acts
 * for, so a receiver can make it run once. These steps are at-least-once: a daemon that dies after the
 * side effect and before the step's result is written runs the step again at the next start, and a
 * webhook is retried after a network error or a 5xx. Every such repeat carries the same key, one per run,
 * step and attempt. A retry the workflow asked for (`onError: "retry"`) is a new attempt, so a new key:
 * the workflow wants it done again. Pure.
 */

/** The header carrying the key (the IETF httpapi draft's name, which Stripe-style APIs honour). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * The key of one attempt of one step of one run: the same for a webhook's tries and for a re-run after a
 * crash (which keeps the attempt); different for every other attempt, step and run (a run id is a UUID,
 * the attempt is the last `-` part). Visible ASCII, as a header value must be.
 */
export function stepIdempotencyKey(runId: string, stepId: string, attempt: number): string {
  return `tetora-${runId}-${encodeURIComponent(stepId)}-${attempt}`;
}

/** Methods that get the header: the ones that are not idempotent by definition. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * `headers` with the step's Idempotency-Key added, unless the method is safe (GET, HEAD, …) or the
 * workflow set its own key (in any letter case), which is sent as written.
 */
export function withIdempotencyKey(method: string, headers: Readonly<Record<string, string>> | undefined, key: string): Record<string, string> {
  const out = { ...(headers ?? {}) };
  if (SAFE_METHODS.has(method.toUpperCase())) return out;
  if (Object.keys(out).some((k) => k.toLowerCase() === IDEMPOTENCY_HEADER.toLowerCase())) return out;
  out[IDEMPOTENCY_HEADER] = key;
  return out;
}

/** The environment a shell or skill step's process gets on top of the daemon's. */
export function stepEnv(s: { runId: string; stepId: string; attempt: number; workflow: string }): Record<string, string> {
  return {
    TETORA_WORKFLOW: s.workflow,
    TETORA_RUN_ID: s.runId,
    TETORA_STEP_ID: s.stepId,
    TETORA_STEP_ATTEMPT: String(s.attempt),
    TETORA_IDEMPOTENCY_KEY: stepIdempotencyKey(s.runId, s.stepId, s.attempt),
  };
}
