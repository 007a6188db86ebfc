import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, post } from '../api.js';
import { ActionButton, Badge, Card, Empty, ErrorBox, Facts, Loading, Table, shortId } from '../components.js';
import { eventSummary, formatBytes, formatCount, formatDuration, formatTime, formatUsd, isTerminalTask } from '../format.js';
import { renderMarkdown } from '../markdown.js';
import { Link, navigate } from '../router.js';
import { useStream } from '../sse.js';

interface Linked {
  id: string;
  agent: string | null;
  status: string;
  kind?: string;
  reason?: string | null;
}
interface TaskView {
  id: string;
  status: string;
  source: string;
  agent: string | null;
  provider: string | null;
  model: string | null;
  attempt: number;
  maxAttempts: number;
  runs: number;
  costUsd: number | null;
  tokensIn: number | null;
  tokensOut: number | null;
  error: { class: string | null; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  notBefore: string | null;
  workdir: string | null;
  workflowRunId: string | null;
  outputBytes: number;
  outputTruncated?: boolean;
  output?: string | null;
  prompt: string;
  attempts?: Array<{ run: number; attempt: number; provider: string | null; startedAt: string | null; endedAt: string | null; outcome: string | null; message: string | null }>;
  worktree?: { path?: string; branch?: string; state?: string } | null;
  links?: { parent: Linked | null; children: Linked[]; handoffsFrom: Linked[]; handoffsTo: Linked[]; route: Linked[]; retryOf?: Linked | null; retries?: Linked[] };
  waiting?: unknown;
}
interface Ev {
  seq: number;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

const OUTPUT_TYPES = new Set(['text', 'stderr', 'raw']);
/** `provider.text` → `text`: the provider's stream events carry a prefix. */
const base = (type: string) => type.replace(/^provider\./, '');
const isOutput = (type: string) => OUTPUT_TYPES.has(base(type));
/** A CSS-safe class for an event type (`provider.text` → `ev-provider-text`). */
const evClass = (type: string) => `ev ev-${type.replace(/[^a-zA-Z0-9_-]/g, '-')}`;

/** Consecutive output lines fold into one timeline entry. */
function timeline(events: Ev[]): Array<{ key: number; at: string; type: string; text: string; lines?: number }> {
  const out: Array<{ key: number; at: string; type: string; text: string; lines?: number }> = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (isOutput(e.type) && prev && prev.type === e.type && prev.lines !== undefined) {
      prev.lines++;
      prev.text = String(e.data.text ?? '');
      continue;
    }
    out.push({ key: e.seq, at: e.at, type: e.type, text: isOutput(e.type) ? String(e.data.text ?? '') : eventSummary(base(e.type), e.data), ...(isOutput(e.type) ? { lines: 1 } : {}) });
  }
  return out;
}

function LinkedList({ title, items }: { title: string; items: Linked[] }): JSX.Element | null {
  if (items.length === 0) return null;
  return (
    <div class="linked">
      <h3>{title}</h3>
      <ul>
        {items.map((l) => (
          <li key={l.id}>
            <Link href={`/dashboard/tasks/${l.id}`}>{shortId(l.id)}</Link> <Badge status={l.status} /> <span class="muted">{l.agent ?? ''}</span>
            {l.reason ? <span class="muted"> — {l.reason}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Output({ task }: { task: TaskView }): JSX.Element {
  const [text, setText] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [raw, setRaw] = useState(false);
  const terminal = isTerminalTask(task.status);
  useEffect(() => {
    if (!terminal) return;
    if (!task.outputTruncated && typeof task.output === 'string') {
      setText(task.output);
      return;
    }
    if (task.outputBytes === 0) {
      setText('');
      return;
    }
    api<string>(`/api/tasks/${task.id}/output`).then(setText, (e) => (e instanceof ApiError && e.status === 404 ? setText('') : setError(e)));
  }, [task.id, terminal, task.outputBytes]);
  const html = useMemo(() => (text ? renderMarkdown(text) : ''), [text]);
  if (!terminal) return <Empty>The output appears here when the task ends; its lines show in the timeline meanwhile.</Empty>;
  if (error) return <ErrorBox error={error} title="Output" />;
  if (text === undefined) return <Loading what="the output" />;
  if (text === '') return <Empty>This task has no output.</Empty>;
  return (
    <div>
      <div class="toggle">
        <button type="button" class="btn plain small" aria-pressed={raw} onClick={() => setRaw(!raw)}>
          {raw ? 'Show rendered' : 'Show raw text'}
        </button>
        <span class="muted">{formatBytes(task.outputBytes)}</span>
      </div>
      {raw ? <pre class="raw">{text}</pre> : <div class="markdown" data-testid="output" dangerouslySetInnerHTML={{ __html: html }} />}
    </div>
  );
}

export function TaskPage({ id }: { id: string }): JSX.Element {
  const [task, setTask] = useState<TaskView | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [events, setEvents] = useState<Ev[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const load = () =>
    api<TaskView>(`/api/tasks/${encodeURIComponent(id)}`).then(
      (t) => {
        setTask(t);
        setError(undefined);
      },
      setError,
    );
  useEffect(() => {
    setTask(undefined);
    setEvents([]);
    void load();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [id]);
  const stream = useStream(
    `/api/tasks/${encodeURIComponent(id)}/events`,
    (type, data) => {
      const e: Ev = { seq: Number(data.seq), at: String(data.at ?? ''), type, data: (data.data as Record<string, unknown>) ?? {} };
      setEvents((list) => (list.length > 0 && (list[list.length - 1] as Ev).seq >= e.seq ? list : [...list, e]));
      if (isOutput(type) || timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        void load();
      }, isTerminalTask(type) ? 0 : 200);
    },
    { isEnd: (type) => isTerminalTask(type) },
  );
  const items = useMemo(() => timeline(events), [events]);
  if (!task) return error ? <ErrorBox error={error} title={`Task ${id}`} /> : <Loading what="the task" />;
  const terminal = isTerminalTask(task.status);
  const canRetry = ['failed', 'cancelled', 'timed_out'].includes(task.status);
  const duration = task.startedAt ? (task.finishedAt ? Date.parse(task.finishedAt) : Date.now()) - Date.parse(task.startedAt) : null;
  const l = task.links;
  return (
    <div class="task">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/dashboard/tasks">Tasks</Link> / <span>{shortId(task.id)}</span>
      </nav>
      <header class="page-head">
        <h1>
          Task <code>{shortId(task.id)}</code> <Badge status={task.status} />
        </h1>
        <div class="actions">
          {!terminal ? <ActionButton label="Cancel" kind="danger" busyLabel="Cancelling…" onClick={() => post(`/api/tasks/${task.id}/cancel`).then(load)} /> : null}
          {canRetry ? (
            <ActionButton
              label="Retry"
              kind="primary"
              busyLabel="Retrying…"
              onClick={async () => {
                const r = await post<{ task?: { id: string }; tasks?: Array<{ id: string }>; id?: string }>(`/api/tasks/${task.id}/retry`);
                const next = r.task?.id ?? r.tasks?.[0]?.id ?? r.id;
                if (next) navigate(`/dashboard/tasks/${next}`);
              }}
            />
          ) : null}
        </div>
      </header>
      <ErrorBox error={error} />
      {task.error ? (
        <div class="error" role="status">
          <strong>{task.error.class ?? 'error'}:</strong> {task.error.message}
        </div>
      ) : null}
      <div class="grid">
        <Card title="Details">
          <Facts
            items={[
              ['agent', task.agent ? <Link href={`/dashboard/agents/${encodeURIComponent(task.agent)}`}>{task.agent}</Link> : '—'],
              ['provider', `${task.provider ?? '—'}${task.model ? ` · ${task.model}` : ''}`],
              ['source', task.source],
              ['attempt', `${task.attempt} of ${task.maxAttempts} (${task.runs} runs)`],
              ['cost', <span data-testid="task-cost">{formatUsd(task.costUsd)}</span>],
              ['tokens', `${formatCount(task.tokensIn)} in · ${formatCount(task.tokensOut)} out`],
              ['created', formatTime(task.createdAt)],
              ['duration', formatDuration(duration)],
              ['workdir', task.workdir ? <code>{task.workdir}</code> : '—'],
              ['worktree', task.worktree?.path ? <code>{task.worktree.path}</code> : '—'],
              ['workflow run', task.workflowRunId ? <Link href={`/dashboard/runs/${task.workflowRunId}`}>{shortId(task.workflowRunId)}</Link> : '—'],
            ]}
          />
        </Card>
        <Card title="Related tasks">
          {l && (l.parent || l.children.length || l.handoffsFrom.length || l.handoffsTo.length || l.route.length || l.retryOf || l.retries?.length) ? (
            <>
              <LinkedList title="Parent" items={l.parent ? [l.parent] : []} />
              <LinkedList title="Children (delegated)" items={l.children} />
              <LinkedList title="Handoffs from" items={l.handoffsFrom} />
              <LinkedList title="Handoffs to" items={l.handoffsTo} />
              <LinkedList title="Routing classifiers" items={l.route} />
              <LinkedList title="Retry of" items={l.retryOf ? [l.retryOf] : []} />
              <LinkedList title="Retried as" items={l.retries ?? []} />
            </>
          ) : (
            <Empty>No parent, children, handoffs or retries.</Empty>
          )}
        </Card>
      </div>
      <Card title="Prompt">
        <pre class="raw prompt-text">{task.prompt}</pre>
      </Card>
      <Card title="Output">
        <Output task={task} />
      </Card>
      <Card title="Attempts">
        {task.attempts && task.attempts.length > 0 ? (
          <Table head={['run', 'attempt', 'provider', 'started', 'ended', 'outcome', 'message']} label="Attempts">
            {task.attempts.map((a) => (
              <tr key={a.run}>
                <td>{a.run}</td>
                <td data-label="attempt">{a.attempt}</td>
                <td data-label="provider">{a.provider ?? '—'}</td>
                <td data-label="started">{formatTime(a.startedAt)}</td>
                <td data-label="ended">{formatTime(a.endedAt)}</td>
                <td data-label="outcome">{a.outcome ? <Badge status={a.outcome} /> : '—'}</td>
                <td data-label="message">{a.message ?? ''}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <Empty>No attempt has started yet.</Empty>
        )}
      </Card>
      <Card title="Timeline" actions={<span class={`live live-${stream}`}>{stream}</span>}>
        {items.length === 0 ? (
          <Empty>No events yet.</Empty>
        ) : (
          <ol class="timeline" data-testid="timeline">
            {items.map((e) => (
              <li key={e.key} class={evClass(e.type)}>
                <time>{formatTime(e.at).slice(11)}</time> <span class="ev-type">{e.type}</span>
                {e.lines !== undefined && e.lines > 1 ? <span class="muted"> ({e.lines} lines; the last:)</span> : null} <span class="ev-text">{e.text}</span>
              </li>
            ))}
          </ol>
        )}
      </Card>
    </div>
  );
}
