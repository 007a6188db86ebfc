import type { TaskEvent } from '../store/tasks.js';
import { taskStatuses } from '../engine/states.js';

/**
 * Event triggers: which events exist and how a trigger's `event` matches them. Pure.
 * Task events are the engine's state changes, named `task.<status>` (`task.queued`, `task.running`,
 * `task.succeeded`, `task.failed`, `task.cancelled`, `task.timed_out`, `task.retry_wait`,
 * `task.rate_limited`, `task.interrupted`); workflow events keep their own names (`workflow.started`,
 * `workflow.completed`, `workflow.failed`, `workflow.cancelled`, `step.completed`).
 */

/** A trailing `*` matches any suffix (`task.*`, `workflow.*`, `*`); anything else matches exactly. */
export function eventMatches(pattern: string, type: string): boolean {
  if (pattern.endsWith('*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

const STATUS = new Set<string>(taskStatuses);

/** The trigger event of an engine event, or undefined for progress events (text, tool calls, …). */
export function taskEventType(e: Pick<TaskEvent, 'type'>): string | undefined {
  return STATUS.has(e.type) ? `task.${e.type}` : undefined;
}

/** Variables an event gives the workflow it starts: its type and its scalar fields. */
export function eventVariables(type: string, fields: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = { event: type };
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}
