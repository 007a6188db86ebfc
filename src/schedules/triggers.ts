import type { ResolvedTrigger } from '../config/types.js';
import type { triggerSchema } from '../config/schema.js';
import type { TetoraError } from '../errors.js';
import type { z } from 'zod';
import { parseCron } from './cron.js';

type RawTrigger = z.infer<typeof triggerSchema>;
/** Builds the config error for a wrong value at a dotted path (see config/load.ts). */
type Bad = (path: string, value: unknown, expected: string) => TetoraError;

/** Names a trigger may not have: `webhook` would shadow `POST /api/triggers/webhook/:name` routes. */
const RESERVED = new Set(['webhook']);

/**
 * The config's `workflowTriggers`, checked and compiled: unique names, a valid cron expression and time
 * zone for cron triggers, an event for event triggers. Each error names the trigger's path and field
 * (`workflowTriggers.2.trigger.cron`). Pure.
 */
export function compileTriggers(raw: RawTrigger[], bad: Bad): ResolvedTrigger[] {
  const seen = new Map<string, number>();
  return raw.map((t, i) => {
    const at = `workflowTriggers.${i}`;
    if (seen.has(t.name)) throw bad(`${at}.name`, t.name, `a name no other trigger has (workflowTriggers.${seen.get(t.name)} is also "${t.name}")`);
    if (RESERVED.has(t.name) || /[/?#]/.test(t.name)) throw bad(`${at}.name`, t.name, 'a name without "/", "?" or "#", other than "webhook" (it is part of the URL /api/triggers/<name>/fire)');
    seen.set(t.name, i);
    const out: ResolvedTrigger = {
      name: t.name,
      workflowName: t.workflowName,
      enabled: t.enabled ?? true,
      type: t.trigger.type,
      variables: Object.fromEntries(Object.entries(t.variables ?? {}).map(([k, v]) => [k, String(v)])),
      cooldownMs: t.cooldown ?? 0,
      catchUp: t.catchUp ?? 'none',
    };
    if (t.trigger.type === 'cron') {
      if (t.trigger.cron === undefined) throw bad(`${at}.trigger.cron`, undefined, `a cron expression such as "0 9 * * 1-5" (trigger "${t.name}" is of type cron)`);
      const parsed = parseCron(t.trigger.cron, t.trigger.tz);
      if (!parsed.ok) {
        const value = parsed.field === 'tz' ? t.trigger.tz : t.trigger.cron;
        throw bad(`${at}.trigger.${parsed.field}`, value, `${parsed.reason} (trigger "${t.name}")`);
      }
      out.cron = parsed.spec.expr;
      if (t.trigger.tz !== undefined) out.tz = t.trigger.tz;
    } else if (t.trigger.type === 'event') {
      if (t.trigger.event === undefined) throw bad(`${at}.trigger.event`, undefined, `an event type such as "task.failed", "workflow.completed" or "task.*" (trigger "${t.name}" is of type event)`);
      out.event = t.trigger.event;
    }
    if (t.secret !== undefined) out.secret = t.secret;
    return out;
  });
}
