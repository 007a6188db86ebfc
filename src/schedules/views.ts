import type { ResolvedTrigger } from '../config/types.js';
import type { FiringRow } from '../store/schedules.js';
import { nextFire, parseCron } from './cron.js';
import type { Job } from './jobs.js';

/** The API's (and `--json`'s) form of jobs, triggers and firings: times as ISO 8601. Pure. */
export interface FiringView {
  id: number;
  scheduledAt: string;
  kind: string;
  firedAt: string;
  status: string;
  taskId: string | null;
  workflowRunId: string | null;
  error: string | null;
}

export interface JobView {
  id: string;
  name: string;
  /** What applies: the override when there is one, else the file. */
  enabled: boolean;
  enabledInFile: boolean;
  /** Set by `tetora job enable|disable` (kept in the store); null when the file decides. */
  override: boolean | null;
  schedule: string;
  tz: string | null;
  catchUp: string;
  agent: string | null;
  nextFireAt: string | null;
  /** Whether this daemon holds the job's schedule (another daemon on the same store may). */
  held: boolean;
  lastFiring: FiringView | null;
}

export interface TriggerView {
  name: string;
  workflowName: string;
  type: string;
  enabled: boolean;
  cron: string | null;
  tz: string | null;
  event: string | null;
  cooldownMs: number;
  catchUp: string;
  /** Whether webhooks may authenticate by an HMAC signature (a `secret` is set). */
  signed: boolean;
  nextFireAt: string | null;
  held: boolean;
  lastFiring: FiringView | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export function firingView(f: FiringRow): FiringView {
  return {
    id: f.id,
    scheduledAt: new Date(f.scheduledAt).toISOString(),
    kind: f.kind,
    firedAt: new Date(f.firedAt).toISOString(),
    status: f.status,
    taskId: f.taskId,
    workflowRunId: f.workflowRunId,
    error: f.error,
  };
}

export function jobView(j: Job, override: boolean | undefined, held: boolean, now: number, last: FiringRow | undefined): JobView {
  const enabled = override ?? j.enabled;
  return {
    id: j.id,
    name: j.name,
    enabled,
    enabledInFile: j.enabled,
    override: override ?? null,
    schedule: j.schedule,
    tz: j.tz ?? null,
    catchUp: j.catchUp,
    agent: typeof j.request.agent === 'string' ? j.request.agent : null,
    nextFireAt: enabled ? iso(nextFire(j.spec, now)) : null,
    held,
    lastFiring: last ? firingView(last) : null,
  };
}

export function triggerView(t: ResolvedTrigger, now: number, held: boolean, last: FiringRow | undefined): TriggerView {
  let next: number | undefined;
  if (t.enabled && t.type === 'cron' && t.cron !== undefined) {
    const parsed = parseCron(t.cron, t.tz);
    if (parsed.ok) next = nextFire(parsed.spec, now);
  }
  return {
    name: t.name,
    workflowName: t.workflowName,
    type: t.type,
    enabled: t.enabled,
    cron: t.cron ?? null,
    tz: t.tz ?? null,
    event: t.event ?? null,
    cooldownMs: t.cooldownMs,
    catchUp: t.catchUp,
    signed: t.secret !== undefined,
    nextFireAt: iso(next),
    held,
    lastFiring: last ? firingView(last) : null,
  };
}
