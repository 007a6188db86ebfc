import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { ActionButton, Badge, Card, Empty, ErrorBox, Loading, shortId } from '../components.js';
import { formatTime } from '../format.js';
import { renderMarkdown } from '../markdown.js';
import { useLive } from '../live.js';
import { Link, navigate } from '../router.js';

const COLUMNS = ['backlog', 'todo', 'doing', 'review', 'done', 'failed'] as const;

interface Ticket {
  id: string;
  project: string | null;
  title: string;
  description: string | null;
  status: string;
  statusReason: string | null;
  assignee: string | null;
  priority: number | string | null;
  dependsOn: string[];
  currentTask: string | null;
  findingTask: string | null;
  findingBytes: number;
  finding?: string | null;
  updatedAt: string;
}
interface Comment {
  id: number;
  author: string | null;
  kind: string;
  body: string;
  taskId: string | null;
  createdAt: string;
}

function NewTicket({ onAdded }: { onAdded: () => void }): JSX.Element {
  const [title, setTitle] = useState('');
  const [assignee, setAssignee] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await post('/api/board', { title, ...(assignee ? { assignee } : {}) });
      setTitle('');
      setError(undefined);
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={(e) => void submit(e)} aria-label="Add a ticket">
      <div class="field grow">
        <label for="t-title">New ticket</label>
        <input id="t-title" required value={title} placeholder="Title" onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="t-assignee">Assignee (agent)</label>
        <input id="t-assignee" value={assignee} onInput={(e) => setAssignee((e.target as HTMLInputElement).value)} />
      </div>
      <button class="btn primary" type="submit" disabled={title.trim() === ''}>
        Add
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

function TicketPanel({ id, onChanged }: { id: string; onChanged: () => void }): JSX.Element {
  const t = useLive(() => api<{ ticket: Ticket; comments: Comment[] }>(`/api/board/${encodeURIComponent(id)}`), [id]);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  if (!t.data) return t.error ? <ErrorBox error={t.error} /> : <Loading what="the ticket" />;
  const { ticket, comments } = t.data;
  const move = (status: string) => post(`/api/board/${ticket.id}/move`, { status }).then(() => {
    t.reload();
    onChanged();
  });
  const addComment = async (e: Event) => {
    e.preventDefault();
    try {
      await post(`/api/board/${ticket.id}/comments`, { body: comment, author: 'dashboard' });
      setComment('');
      setError(undefined);
      t.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={<>Ticket {ticket.title}</>} class="ticket-panel" actions={<button type="button" class="btn plain small" onClick={() => navigate('/dashboard/board')}>Close</button>}>
      <p>
        <Badge status={ticket.status} /> <span class="muted">{ticket.assignee ?? 'unassigned'} · updated {formatTime(ticket.updatedAt)}</span>
      </p>
      {ticket.statusReason ? <p class="muted">{ticket.statusReason}</p> : null}
      {ticket.description ? <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(ticket.description) }} /> : null}
      {ticket.currentTask ? (
        <p>
          Current task: <Link href={`/dashboard/tasks/${ticket.currentTask}`}>{shortId(ticket.currentTask)}</Link>
        </p>
      ) : null}
      <div class="actions wrap" role="group" aria-label="Move to">
        {COLUMNS.filter((c) => c !== ticket.status).map((c) => (
          <ActionButton key={c} label={`→ ${c}`} onClick={() => move(c)} />
        ))}
        <ActionButton label="Run now" kind="primary" onClick={() => post(`/api/board/${ticket.id}/run`).then(() => { t.reload(); onChanged(); })} />
      </div>
      <h3>Finding</h3>
      {ticket.finding ? <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(ticket.finding) }} /> : <p class="muted">No finding yet.</p>}
      <h3>Comments</h3>
      {comments.length === 0 ? <p class="muted">No comments.</p> : null}
      <ul class="comments">
        {comments.map((c) => (
          <li key={c.id}>
            <span class="muted">
              {c.author ?? c.kind} · {formatTime(c.createdAt)}
            </span>
            <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(c.body) }} />
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void addComment(e)} aria-label="Add a comment">
        <label for="c-body">Comment</label>
        <textarea id="c-body" rows={2} required value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
        <ErrorBox error={error} />
        <button class="btn" type="submit" disabled={comment.trim() === ''}>
          Comment
        </button>
      </form>
    </Card>
  );
}

export function BoardPage({ ticketId }: { ticketId?: string | undefined }): JSX.Element {
  const board = useLive(() => api<{ tickets: Ticket[] }>('/api/board'), []);
  const tickets = board.data?.tickets ?? [];
  return (
    <div>
      <h1>Board</h1>
      <Card>
        <NewTicket onAdded={board.reload} />
      </Card>
      <ErrorBox error={board.error} />
      {ticketId ? <TicketPanel id={ticketId} onChanged={board.reload} /> : null}
      {!board.data ? (
        board.error ? null : <Loading what="the board" />
      ) : (
        <div class="kanban">
          {COLUMNS.map((col) => {
            const in_ = tickets.filter((t) => t.status === col);
            return (
              <section class="column" key={col} aria-label={`${col}: ${in_.length} tickets`}>
                <h2>
                  {col} <span class="muted">{in_.length}</span>
                </h2>
                {in_.length === 0 ? <Empty>—</Empty> : null}
                <ul>
                  {in_.map((t) => (
                    <li key={t.id} class={`ticket ${t.id === ticketId ? 'selected' : ''}`}>
                      <Link href={`/dashboard/board/${t.id}`}>{t.title}</Link>
                      <div class="muted small">
                        {t.assignee ?? 'unassigned'}
                        {t.findingBytes ? ' · finding' : ''}
                        {t.dependsOn.length ? ` · needs ${t.dependsOn.length}` : ''}
                      </div>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
    </div>
  );
}
