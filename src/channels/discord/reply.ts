import type { TaskRow } from '../../store/tasks.js';
import type { DiscordStore, OutboxRow } from '../../store/discord.js';
import type { TerminalHook } from '../../engine/ledger.js';

/** A Discord task's coordinates (tasks.origin), as discord-in records them. */
export interface DiscordOrigin {
  channelId: string;
  guildId?: string | null;
  messageId?: string | null;
  authorId?: string | null;
  parentChannelId?: string | null;
  interactionId?: string | null;
}

/** The Discord coordinates of a task, or undefined when it is not a Discord task with a channel. */
export function discordOrigin(task: Pick<TaskRow, 'source' | 'origin'>): DiscordOrigin | undefined {
  if (task.source !== 'discord' || !task.origin) return undefined;
  try {
    const o = JSON.parse(task.origin) as Partial<DiscordOrigin>;
    return typeof o.channelId === 'string' && o.channelId !== '' ? (o as DiscordOrigin) : undefined;
  } catch {
    return undefined;
  }
}

/** What a user can do about a failure of this class. */
function whatToDo(errorClass: string | null, taskId: string): string {
  switch (errorClass) {
    case 'transient':
      return 'the provider kept failing; send the message again in a while (or `!retry`).';
    case 'rate_limited':
    case 'quota':
      return "the provider's limit did not reset in time; send it again after the reset, or give the agent a fallback provider.";
    case 'session_invalid':
      return 'start a fresh session with `!new` and send the message again.';
    case 'permanent':
      return "check the agent's provider settings (API key, model) with `tetora doctor`, then send it again.";
    case 'timeout':
      return "the task ran past its time limit; raise the agent's `timeout` or ask for less at once.";
    case 'budget':
      return 'the budget is spent; raise `dailyBudget` or the task budget, or wait for tomorrow (UTC).';
    case 'empty_output':
      return 'ask again, more precisely; `tetora task logs ' + taskId + '` shows what the agent did.';
    case 'interrupted':
      return 'the daemon stopped repeatedly while running this; check its log before sending it again.';
    default:
      return `see \`tetora task show ${taskId}\` and the daemon log.`;
  }
}

/**
 * The reply to a Discord task (pure): the output on success; on failure the error class, the provider's
 * message and what to do; a cancellation says who cancelled. When the chat session was reset on the way
 * (`resets`: the reasons), one line says the earlier context of this channel was reset and why.
 */
export function composeReply(task: Pick<TaskRow, 'id' | 'status' | 'output' | 'errorClass' | 'errorMessage' | 'outputFile' | 'outputBytes'>, resets: string[] = []): string {
  let body: string;
  if (task.status === 'succeeded') {
    const out = task.output ?? '';
    if (out.trim() === '') body = `The agent finished without any output (task ${task.id}).`;
    else if (task.outputFile) {
      body = `${out}\n\n… the output is ${task.outputBytes ?? '?'} bytes; the rest is not in this message: \`tetora task output ${task.id}\` (or GET /api/tasks/${task.id}/output) has all of it.`;
    } else body = out;
  } else if (task.status === 'cancelled') {
    body = `Cancelled: ${task.errorMessage ?? 'cancelled'} (task ${task.id}).`;
  } else {
    const what = task.status === 'timed_out' ? 'timed out' : 'failed';
    const cls = task.errorClass ?? (task.status === 'timed_out' ? 'timeout' : 'error');
    body = [`❌ The task ${what} (${cls}): ${task.errorMessage ?? 'no message'}`, `What to do: ${whatToDo(cls, task.id)}`, `Task ${task.id}`].join('\n');
  }
  if (resets.length > 0) {
    const why = [...new Set(resets)].join('; ');
    body += `\n\n↺ The earlier context of this channel was reset (${why}); this answer comes from a fresh session.`;
  }
  return body;
}

export interface Reactions {
  enabled: boolean;
  emojis: Record<string, string>;
}

/** The reaction on a message that became a task (the original's `queued` emoji key). */
export function acceptEmoji(r: Reactions): string {
  return r.emojis.queued ?? r.emojis.accept ?? '👀';
}

/** The reaction at a task's end: `done` on success, `error` otherwise. */
export function endEmoji(status: string, r: Reactions): string {
  return status === 'succeeded' ? (r.emojis.done ?? '✅') : (r.emojis.error ?? '❌');
}

/**
 * The terminal hook (contract seam 3): a Discord task's reply goes into the outbox in the same transaction
 * as the task's terminal state. `wake` is told the channel once the transaction is over (after the commit).
 */
export function replyHook(
  store: DiscordStore,
  now: () => number,
  wake: (channelId: string) => void,
  reactions: () => Reactions = () => ({ enabled: false, emojis: {} }),
  /** Fix the row's chunk plan in the same transaction (saves a commit before the first send). */
  plan?: (row: OutboxRow) => void,
): TerminalHook {
  return (task) => {
    const origin = discordOrigin(task);
    if (!origin) return;
    const row = store.addOutbox({
      key: `reply:${task.id}`,
      kind: 'reply',
      taskId: task.id,
      channelId: origin.channelId,
      replyTo: origin.messageId ?? null,
      body: composeReply(task, store.sessionResets(task.id)),
      at: now(),
    });
    if (plan) {
      try {
        store.db.transaction(() => plan(row))();
      } catch {
        // Not planned now (its savepoint is undone): the deliverer plans it at its first attempt.
      }
    }
    const r = reactions();
    if (r.enabled && origin.messageId) {
      store.addOutbox({ key: `react:end:${task.id}`, kind: 'notify', taskId: task.id, channelId: origin.channelId, replyTo: origin.messageId, body: endEmoji(task.status, r), at: now() });
    }
    // Runs after the synchronous transaction: committed (or rolled back, then the deliverer finds nothing).
    queueMicrotask(() => wake(origin.channelId));
  };
}
