/**
 * The task statuses: a shared vocabulary at the bottom of the module graph (the store keeps them, the engine's
 * state machine moves between them, the HTTP API reports them), so the store never imports the engine.
 */
export const taskStatuses = [
  'queued',
  'running',
  'retry_wait',
  'rate_limited',
  'interrupted',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export type TaskStatus = (typeof taskStatuses)[number];
