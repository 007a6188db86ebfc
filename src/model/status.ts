/**
 * The task statuses: a shared vocabulary at the bottom of the module graph (the store keeps them, the engine's
 * state machine moves between them, the HTTP API reports them), so the store never imports the engine.
 */
export const taskStatuses = [
  'queued',
  // Accepted without an agent; a classifier task (source `route`, this task as its parent) picks one.
  'routing',
  'running',
  'retry_wait',
  'rate_limited',
  'interrupted',
  // Its run ended and delegated work to child tasks (source `delegate`); it ends once they all have.
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/**
 * Statuses that hold a session: a later task of the same session key waits while another is in one of
 * these (a queued one only blocks the tasks queued after it). `routing` and `waiting` hold it too, so a
 * chat's replies keep their order while a task is routed or waits for its delegated children.
 */
export const sessionHoldingStatuses: readonly TaskStatus[] = ['running', 'routing', 'retry_wait', 'rate_limited', 'interrupted', 'waiting'];
