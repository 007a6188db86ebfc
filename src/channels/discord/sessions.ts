/**
 * Chat sessions of Discord channels: one per channel (a thread or a DM is its own), session key
 * `discord:<channelId>`. The engine does the work (DESIGN §2 item 5): before a run it compares the key's
 * active provider session with the task's provider and model and, when they differ (a SIGHUP changed the
 * agent), archives it and starts a fresh one; a provider that rejects the resume (claude "No conversation
 * found", codex "no rollout found": class `session_invalid`) gets one fresh session and one retry. Both
 * record a `session_recovery` event on the task, which the reply's composer turns into the line telling
 * the user the earlier context was reset and why. This file writes the log line of such a recovery for a
 * Discord task, once the task ends.
 */
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import type { TaskEvent } from '../../store/tasks.js';
import { channelOfSessionKey } from './inbound.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** The log line of a stale session (pure). */
export function staleSessionLine(agent: string, channelId: string, reason: string, recovered: boolean, error?: string): string {
  return `discord: stale session for agent ${agent} in channel ${channelId} (${reason}) — ${recovered ? 'recovered' : `not recovered: ${error ?? 'the task did not succeed'}`}`;
}

/** Watch the engine's events; returns the unsubscribe. */
export function watchStaleSessions(engine: Engine, log: Logger): () => void {
  const reasons = new Map<string, string>();
  return engine.subscribe((e: TaskEvent) => {
    if (e.type === 'session_recovery') {
      const t = engine.get(e.taskId);
      if (t?.source !== 'discord') return;
      reasons.set(e.taskId, String(e.data.reason ?? 'the session could not be continued'));
      return;
    }
    if (!TERMINAL.has(e.type)) return;
    const reason = reasons.get(e.taskId);
    if (reason === undefined) return;
    reasons.delete(e.taskId);
    const t = engine.get(e.taskId);
    const channel = channelOfSessionKey(t?.sessionKey) ?? '?';
    const line = staleSessionLine(t?.agent ?? '?', channel, reason, e.type === 'succeeded', t?.errorMessage ?? undefined);
    const fields = { taskId: e.taskId, agent: t?.agent, channelId: channel, reason };
    if (e.type === 'succeeded') log.info(fields, line);
    else log.warn(fields, line);
  });
}
