/**
 * What the schedules need from the workflow runner (src/workflows/, another module): starting a run and,
 * for event triggers, its events. Declared here so that schedules depend on this small contract only;
 * the daemon passes the real runner (`runner.start`, `runner.subscribe`).
 */

/** Where a trigger's workflow run came from, for the runner's records (and its idempotency). */
export interface WorkflowStartMeta {
  /** Always `trigger` for runs started here. */
  source: string;
  trigger?: {
    name: string;
    /** `schedule_firings.id` of the firing. */
    firingId: number;
    /** Epoch ms: the cron time for timed firings, the moment of the firing otherwise. */
    scheduledAt: number;
    kind: 'cron' | 'catch-up' | 'manual' | 'webhook' | 'event';
    /**
     * The same for every attempt to start this one firing (`trigger:<name>:<scheduledAt>` for timed
     * firings, `trigger:<name>:firing:<id>` otherwise): a firing recorded but not confirmed before a crash
     * is started again at the next start with the same key, so a runner that honours it starts it once.
     */
    idempotencyKey: string;
  };
}

export interface WorkflowStarter {
  /** Starts workflow `name` with `variables`; resolves once the run is committed, with its id. Rejects with the reason it cannot. */
  start(name: string, variables: Record<string, string>, meta: WorkflowStartMeta): Promise<{ runId: string }>;
}

/** A workflow event: `workflow.started|completed|failed|cancelled`, `step.completed`, … */
export interface WorkflowEvent {
  type: string;
  runId: string;
  workflow: string;
  [key: string]: unknown;
}

export interface WorkflowEventSource {
  /** Every workflow event; returns the unsubscribe function. */
  subscribe(fn: (e: WorkflowEvent) => void): () => void;
}
