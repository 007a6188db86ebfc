import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { Badge, Card, Empty, ErrorBox, Loading, Table, shortId } from '../components.js';
import { formatUsd, matchesText, relativeTime, TASK_STATUSES, taskListQuery } from '../format.js';
import { useLive } from '../live.js';
import { Link, navigate } from '../router.js';

export interface TaskListItem {
  id: string;
  status: string;
  source: string;
  agent: string | null;
  prompt: string;
  costUsd: number | null;
  createdAt: string;
  finishedAt: string | null;
  error: { class: string | null; message: string } | null;
}

function DispatchForm({ agents }: { agents: string[] }): JSX.Element {
  const [agent, setAgent] = useState('');
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await post<{ tasks: Array<{ id: string }> }>('/api/dispatch', { prompt, ...(agent ? { agent } : {}) });
      const id = r.tasks[0]?.id;
      setPrompt('');
      if (id) navigate(`/dashboard/tasks/${id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="dispatch" onSubmit={(e) => void submit(e)} aria-label="Dispatch a task">
      <div class="field">
        <label for="d-agent">Agent</label>
        <select id="d-agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
          <option value="">(smart dispatch / default)</option>
          {agents.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </div>
      <div class="field grow">
        <label for="d-prompt">Prompt</label>
        <textarea id="d-prompt" rows={3} required value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
      </div>
      <ErrorBox error={error} />
      <button class="btn primary" type="submit" disabled={busy || prompt.trim() === ''}>
        {busy ? 'Dispatching…' : 'Dispatch'}
      </button>
    </form>
  );
}

export function TasksPage({ search }: { search: URLSearchParams }): JSX.Element {
  const [status, setStatus] = useState(search.get('status') ?? '');
  const [agent, setAgent] = useState(search.get('agent') ?? '');
  const [source, setSource] = useState(search.get('source') ?? '');
  const [text, setText] = useState(search.get('q') ?? '');
  const query = taskListQuery({ status, agent, source });
  const tasks = useLive(() => api<{ tasks: TaskListItem[] }>(`/api/tasks?${query}`), [query]);
  const agents = useLive(() => api<{ agents: Array<{ name: string }> }>('/api/agents'), [], null);
  const names = (agents.data?.agents ?? []).map((a) => a.name);
  const rows = (tasks.data?.tasks ?? []).filter((t) => matchesText(t, text));
  const now = Date.now();
  const sel = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLSelectElement).value);
  return (
    <div>
      <h1>Tasks</h1>
      <Card title="Dispatch a task">
        <DispatchForm agents={names} />
      </Card>
      <Card title="Tasks">
        <form class="filters" role="search" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
          <div class="field">
            <label for="f-status">Status</label>
            <select id="f-status" value={status} onChange={sel(setStatus)}>
              <option value="">any</option>
              {TASK_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
              <option value="failed,timed_out,cancelled">failed, timed out or cancelled</option>
            </select>
          </div>
          <div class="field">
            <label for="f-agent">Agent</label>
            <select id="f-agent" value={agent} onChange={sel(setAgent)}>
              <option value="">any</option>
              {names.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-source">Source</label>
            <input id="f-source" list="sources" placeholder="http, cli, discord…" value={source} onChange={sel(setSource)} />
            <datalist id="sources">
              {['http', 'cli', 'discord', 'schedule', 'board', 'webhook'].map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </div>
          <div class="field grow">
            <label for="f-text">Text</label>
            <input id="f-text" type="search" placeholder="id, prompt, error…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          </div>
        </form>
        <ErrorBox error={tasks.error} />
        {!tasks.data ? (
          tasks.error ? null : <Loading what="tasks" />
        ) : rows.length === 0 ? (
          <Empty>No task matches.</Empty>
        ) : (
          <Table head={['task', 'status', 'agent', 'prompt', 'source', 'created', 'cost']} label="Tasks">
            {rows.map((t) => (
              <tr key={t.id} data-task={t.id}>
                <td>
                  <Link href={`/dashboard/tasks/${t.id}`}>{shortId(t.id)}</Link>
                </td>
                <td data-label="status">
                  <Badge status={t.status} />
                </td>
                <td data-label="agent">{t.agent ?? '—'}</td>
                <td class="prompt" data-label="prompt" title={t.prompt}>
                  {t.prompt.length > 90 ? `${t.prompt.slice(0, 90)}…` : t.prompt}
                  {t.error ? <div class="reason">{t.error.message}</div> : null}
                </td>
                <td data-label="source">{t.source}</td>
                <td data-label="created">{relativeTime(t.createdAt, now)}</td>
                <td data-label="cost">{formatUsd(t.costUsd)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}
