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
    case 'adopted':
      return `${at} the daemon restarted; its new instance re-attached to run ${d.run} (pid ${d.pid})${d.ended ? ', which had ended meanwhile' : ''}`;
    case 'provider.text':
      return typeof d.text === 'string' && d.text.trim() ? `${at} ${one(d.text, 200)}` : undefined;
    case 'provider.tool_call':
      return `${at} tool ${d.name ?? '?'}: ${one(typeof d.input === 'string' ? d.input : JSON.stringify(d.input ?? ''), 160)}`;
    case 'provider.tool_result':
      return toolResultLines(d, `${at}   ↳ `);
    case 'provider.provider_retry':
      return `${at} provider retrying: ${one(JSON.stringify(d), 160)}`;
    case 'session_recovery':
      return `${at} stale session for ${d.sessionKey} — recovering`;
    case 'worktree':
      return `${at} worktree ${d.path}`;
    case 'waiting': {
      const del = (d.delegation ?? {}) as { children?: number; refused?: unknown[] };
      return `${at} waiting for ${del.children ?? '?'} delegated task(s)${del.refused?.length ? `; ${del.refused.length} _delegate block(s) refused` : ''}`;
    }
    case 'delegated': {
      const kids = (Array.isArray(d.children) ? d.children : []) as Array<{ id: string; agent: string | null }>;
      return `${at} delegated to ${kids.map((k) => `${k.agent ?? '?'} (${k.id})`).join(', ')}`;
    }
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

/** How many lines of a tool's output a progress entry shows, and how wide each may be. */
export const TOOL_RESULT_LINES = 3;
export const TOOL_RESULT_WIDTH = 160;

/**
 * Blocks of a tool result (claude's `content` may be an array of `{type: 'text', text}` blocks, also
 * as a JSON string of one; an MCP result is `{content: [...]}`): their text, or undefined when `v`
 * is not such a list.
 */
function blocksText(v: unknown): string | undefined {
  let blocks: unknown = v;
  if (typeof v === 'string') {
    if (!v.startsWith('[{') || !v.endsWith('}]')) return undefined;
    try {
      blocks = JSON.parse(v);
    } catch {
      return undefined;
    }
  } else if (v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as { content?: unknown }).content)) {
    blocks = (v as { content: unknown }).content;
  }
  if (!Array.isArray(blocks) || blocks.length === 0) return undefined;
  if (!blocks.every((b) => b && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string')) return undefined;
  return blocks
    .map((b: { type: string; text?: unknown }) => (b.type === 'text' && typeof b.text === 'string' ? b.text : `[${b.type}]`))
    .join('\n');
}

/** The text a tool result carries, whichever provider sent it. */
export function toolResultText(d: Record<string, unknown>): string {
  const raw = d.output ?? d.content;
  if (Array.isArray(d.changes)) {
    const files = d.changes.map((c: { path?: unknown; kind?: unknown }) => `${c?.kind ? `${String(c.kind)} ` : ''}${String(c?.path ?? '?')}`);
    return `changed ${files.length} file(s): ${files.join(', ')}`;
  }
  if (raw === undefined || raw === null) return '';
  return blocksText(raw) ?? (typeof raw === 'string' ? raw : JSON.stringify(raw));
}

/**
 * A tool result as progress: its first lines (blank ones skipped), each shortened, then how many more
 * there are; an error or a non-zero exit code says so first. Continuation lines line up under the first.
 */
function toolResultLines(d: Record<string, unknown>, prefix: string): string {
  const lines = toolResultText(d)
    .split(/\r\n|\r|\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const exit = typeof d.exitCode === 'number' && d.exitCode !== 0 ? `exit ${d.exitCode}` : '';
  const status = [d.isError === true ? 'error' : '', exit].filter(Boolean).join(', ');
  const head = lines.slice(0, TOOL_RESULT_LINES).map((l) => one(l, TOOL_RESULT_WIDTH));
  if (lines.length > TOOL_RESULT_LINES) head.push(`… ${lines.length - TOOL_RESULT_LINES} more line(s)`);
  if (head.length === 0) head.push('(no output)');
  if (status) head[0] = `(${status}) ${head[0]}`;
  const pad = ' '.repeat(Array.from(prefix).length);
  return head.map((l, i) => `${i === 0 ? prefix : pad}${l}`).join('\n');
}

export function taskLine(t: TaskView): string {
  const who = t.agent ?? t.provider ?? '-';
  return `${t.id}  ${t.status.padEnd(12)} ${who.padEnd(12)} ${t.createdAt.replace('T', ' ').slice(0, 19)}  ${one(t.prompt, 60)}`;
}

/** The `route` line of `task show`: how smart dispatch chose the agent (none for a task that named its agent). */
export function routeLines(route: unknown): string[] {
  if (route === null || typeof route !== 'object') return [];
  const r = route as { agent?: string; method?: string; confidence?: string; reason?: string; classifierTasks?: string[] };
  const by = r.classifierTasks?.length ? `  (classifier task${r.classifierTasks.length > 1 ? 's' : ''} ${r.classifierTasks.join(', ')})` : '';
  return [`route     ${r.agent ?? '-'} by ${r.method ?? '?'}, confidence ${r.confidence ?? '?'}: ${r.reason ?? ''}${by}`];
}

export function taskDetail(t: TaskView & Record<string, unknown>): string {
  const lines = [
    `task      ${t.id}`,
    `status    ${t.status}${t.error ? ` — ${t.error.message}` : ''}${typeof t.waiting === 'string' ? ` — waiting: ${t.waiting}` : ''}`,
    `agent     ${t.agent ?? '-'}  provider ${t.provider ?? '-'}  model ${t.model ?? '-'}`,
    `source    ${t.source}   attempt ${t.attempt}/${t.maxAttempts}`,
    ...routeLines(t.route),
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
  lines.push(...linkLines(t.links));
  lines.push('prompt', indent(String(t.prompt)));
  if (t.output) lines.push('output', indent(t.output));
  // Only the head is in the task: say so, and where the whole is (nothing cut silently).
  if (t.outputTruncated === true) lines.push(`  … the output is ${t.outputBytes} bytes; the whole is in ${String(t.outputFile)} (\`tetora task output ${t.id}\`)`);
  return lines.join('\n');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

interface LinkView {
  id: string;
  agent: string | null;
  status: string;
  kind?: string;
  reason?: string | null;
}

/** The links section of `tetora task show`: parent, delegated children, handoffs from and to, routing classifiers. Pure. */
export function linkLines(links: unknown): string[] {
  if (!links || typeof links !== 'object') return [];
  const l = links as { parent?: LinkView | null; children?: LinkView[]; handoffsFrom?: LinkView[]; handoffsTo?: LinkView[]; route?: LinkView[]; retryOf?: LinkView | null; retries?: LinkView[] };
  const one = (v: LinkView) => `${v.id}  ${v.agent ?? '-'}  ${v.status}${v.reason ? `  — ${v.reason}` : ''}`;
  const out: string[] = [];
  if (l.parent) out.push(`parent    ${one(l.parent)}${l.parent.kind ? `  (${l.parent.kind})` : ''}`);
  const list = (title: string, items: LinkView[] | undefined) => {
    if (!items?.length) return;
    out.push(title);
    for (const v of items) out.push(`  ${one(v)}`);
  };
  list('children (delegated)', l.children);
  list('handoff from', l.handoffsFrom);
  list('handed off to', l.handoffsTo);
  list('routing classifiers', l.route);
  if (l.retryOf) out.push(`retry of  ${one(l.retryOf)}`);
  list('retried as', l.retries);
  return out;
}
