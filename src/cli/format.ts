/** Pure rendering of tasks and events for humans. */

export interface TaskView {
  id: string;
  status: string;
  agent: string | null;
  provider: string | null;
  model: string | null;
  source: string;
  attempt: number;
  maxAttempts: number;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  createdAt: string;
  finishedAt: string | null;
  prompt: string;
  output?: string | null;
  error: { class: string | null; message: string } | null;
}

export interface EventView {
  seq: number;
  taskId: string;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
export const isTerminalType = (t: string): boolean => TERMINAL.has(t);

/** Exit code of a finished task: 0 succeeded, 1 failed, 3 cancelled, 4 timed out, 2 not finished. */
export function exitCodeOf(status: string): number {
  return status === 'succeeded' ? 0 : status === 'failed' ? 1 : status === 'cancelled' ? 3 : status === 'timed_out' ? 4 : 2;
}

/** Whitespace flattened to single spaces and cut to `max` characters. */
export function one(s: string, max: number): string {
  const chars = Array.from(s.replace(/\s+/g, ' ').trim()); // code points: never split a surrogate pair
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : chars.join('');
}

/** One progress line for an event, or undefined for events not worth a line. `t0` is the task's creation time. */
export function progressLine(e: EventView, t0: number): string | undefined {
  const secs = ((Date.parse(e.at) - t0) / 1000).toFixed(1).padStart(6);
  const d = e.data;
  const at = `[${secs}s]`;
  switch (e.type) {
    case 'queued':
      return d.reason ? `${at} queued again: ${d.reason}${d.message ? ` (${one(String(d.message), 120)})` : ''}` : `${at} queued${d.agent ? ` for agent ${d.agent}` : ''}`;
    case 'running':
      return `${at} attempt ${d.attempt}/${d.maxAttempts ?? '?'} running on ${d.provider}${d.model ? ` (${d.model})` : ''}`;
    case 'retry_wait':
      return `${at} ${d.class} error on attempt ${d.attempt}: ${one(String(d.reason ?? ''), 160)} — retrying in ${Math.round(Number(d.delayMs ?? 0) / 100) / 10}s`;
    case 'rate_limited':
      return `${at} rate limited: ${one(String(d.reason ?? ''), 160)} — parked until ${new Date(Number(d.notBefore)).toISOString()}`;
    case 'interrupted':
      return `${at} interrupted: ${d.reason}`;
    case 'provider.text':
      return typeof d.text === 'string' && d.text.trim() ? `${at} ${one(d.text, 200)}` : undefined;
    case 'provider.tool_call':
      return `${at} tool ${d.name ?? '?'}: ${one(typeof d.input === 'string' ? d.input : JSON.stringify(d.input ?? ''), 160)}`;
    case 'provider.tool_result':
      return `${at}   ↳ ${one(String(d.content ?? ''), 160)}`;
    case 'provider.provider_retry':
      return `${at} provider retrying: ${one(JSON.stringify(d), 160)}`;
    case 'session_recovery':
      return `${at} stale session for ${d.sessionKey} — recovering`;
    case 'worktree':
      return `${at} worktree ${d.path}`;
    case 'succeeded':
      return `${at} succeeded · $${Number(d.costUsd ?? 0).toFixed(4)} · ${d.tokensIn ?? 0} in / ${d.tokensOut ?? 0} out tokens`;
    case 'failed':
    case 'cancelled':
    case 'timed_out':
      return `${at} ${e.type.replace('_', ' ')}: ${d.message ?? ''}`;
    default:
      return undefined;
  }
}

export function taskLine(t: TaskView): string {
  const who = t.agent ?? t.provider ?? '-';
  return `${t.id}  ${t.status.padEnd(12)} ${who.padEnd(12)} ${t.createdAt.replace('T', ' ').slice(0, 19)}  ${one(t.prompt, 60)}`;
}

export function taskDetail(t: TaskView & Record<string, unknown>): string {
  const lines = [
    `task      ${t.id}`,
    `status    ${t.status}${t.error ? ` — ${t.error.message}` : ''}`,
    `agent     ${t.agent ?? '-'}  provider ${t.provider ?? '-'}  model ${t.model ?? '-'}`,
    `source    ${t.source}   attempt ${t.attempt}/${t.maxAttempts}`,
    `cost      $${t.costUsd.toFixed(4)}  tokens ${t.tokensIn} in / ${t.tokensOut} out`,
    `created   ${t.createdAt}${t.finishedAt ? `   finished ${t.finishedAt}` : ''}`,
  ];
  const wt = t.worktree as { path: string; branch: string; commits: number; dirty: boolean; removed: boolean } | null | undefined;
  if (wt) lines.push(`worktree  ${wt.removed ? '(removed) ' : ''}${wt.path}  branch ${wt.branch}, ${wt.commits} commit(s)${wt.dirty ? ', uncommitted changes' : ''}`);
  const attempts = t.attempts as Array<{ run: number; attempt: number; outcome: string | null; message: string | null; startedAt: string }> | undefined;
  if (attempts?.length) {
    lines.push('runs');
    for (const a of attempts) lines.push(`  #${a.run} attempt ${a.attempt} ${a.startedAt} ${a.outcome ?? 'running'}${a.message ? `: ${one(a.message, 120)}` : ''}`);
  }
  lines.push('prompt', indent(String(t.prompt)));
  if (t.output) lines.push('output', indent(t.output));
  return lines.join('\n');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
