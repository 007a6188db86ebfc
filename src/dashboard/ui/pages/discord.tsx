import type { JSX } from 'preact';
import { api, post } from '../api.js';
import { ActionButton, Badge, Card, Empty, ErrorBox, Facts, Loading, Table, shortId } from '../components.js';
import { formatTime } from '../format.js';
import { useLive } from '../live.js';
import { Link } from '../router.js';

interface Status {
  enabled: boolean;
  connected: boolean;
  state: string;
  reason: string | null;
  fix: string | null;
  botUser: { username?: string } | null;
  guild: { id: string; name: string | null } | null;
  outbox: { pending: number; dead: number };
}
interface OutboxRow {
  id: number;
  channelId: string;
  kind: string;
  taskId: string | null;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  doneAt: number | null;
  bodyChars: number;
  preview: string;
}

export function DiscordPage(): JSX.Element {
  const status = useLive(() => api<Status>('/api/discord/status'), []);
  const dead = useLive(() => api<{ rows: OutboxRow[]; counts: Record<string, number> }>('/api/discord/outbox?state=dead'), []);
  const s = status.data;
  const reload = () => {
    dead.reload();
    status.reload();
  };
  return (
    <div>
      <h1>Discord</h1>
      <ErrorBox error={status.error} />
      <div class="grid">
        <Card title="Connection">
          {!s ? (
            <Loading what="the status" />
          ) : (
            <Facts
              items={[
                ['state', <Badge status={s.connected ? 'connected' : s.enabled ? s.state : 'disabled'} label={s.enabled ? s.state : 'disabled'} />],
                ['bot', s.botUser?.username ?? '—'],
                ['guild', s.guild ? (s.guild.name ?? s.guild.id) : '—'],
                ['reason', s.reason ?? '—'],
                ['fix', s.fix ?? '—'],
              ]}
            />
          )}
        </Card>
        <Card title="Outbox">
          {!s ? (
            <Loading what="the outbox" />
          ) : (
            <Facts
              items={[
                ['pending', <span data-testid="outbox-pending">{s.outbox.pending}</span>],
                ['dead letters', <span data-testid="outbox-dead">{s.outbox.dead}</span>],
              ]}
            />
          )}
        </Card>
      </div>
      <Card title="Dead letters">
        <p class="muted">Replies the outbox gave up on, with the reason. Retry sends one again from its first chunk not yet delivered (nonces keep a resend from posting twice).</p>
        <ErrorBox error={dead.error} />
        {!dead.data ? (
          dead.error ? null : <Loading what="dead letters" />
        ) : dead.data.rows.length === 0 ? (
          <Empty>No dead letters.</Empty>
        ) : (
          <Table head={['id', 'task', 'channel', 'attempts', 'reason', 'created', '']} label="Dead letters">
            {dead.data.rows.map((r) => (
              <tr key={r.id} data-outbox={r.id}>
                <td data-label="id">{r.id}</td>
                <td data-label="task">{r.taskId ? <Link href={`/dashboard/tasks/${r.taskId}`}>{shortId(r.taskId)}</Link> : r.kind}</td>
                <td data-label="channel">
                  <code>{r.channelId}</code>
                </td>
                <td data-label="attempts">{r.attempts}</td>
                <td data-label="reason" class="reason-cell">
                  {r.lastError ?? '—'}
                  <div class="muted small">{r.preview}</div>
                </td>
                <td data-label="created">{formatTime(r.createdAt)}</td>
                <td>
                  <ActionButton label="Retry" kind="primary" busyLabel="Retrying…" onClick={() => post(`/api/discord/outbox/${r.id}/retry`).then(reload)} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
    </div>
  );
}
