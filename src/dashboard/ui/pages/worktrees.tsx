import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { ActionButton, Badge, Card, Empty, ErrorBox, Loading, Table, shortId } from '../components.js';
import { formatBytes } from '../format.js';
import { useLive } from '../live.js';
import { Link } from '../router.js';

interface Worktree {
  path: string;
  taskId: string | null;
  branch: string | null;
  state: string;
  lockHolder: string | null;
  sizeBytes: number | null;
  prune: { action: string; reason: string; error?: string } | null;
  note?: string | null;
}

/** The holder is `task <id>`: link the task. */
function LockHolder({ holder }: { holder: string | null }): JSX.Element {
  if (!holder) return <>—</>;
  const m = /^task (\S+)$/.exec(holder);
  return m ? (
    <>
      task <Link href={`/dashboard/tasks/${m[1]}`}>{shortId(m[1])}</Link>
    </>
  ) : (
    <>{holder}</>
  );
}

export function WorktreesPage(): JSX.Element {
  const list = useLive(() => api<{ worktrees: Worktree[] }>('/api/worktrees'), []);
  const [result, setResult] = useState<unknown>(undefined);
  const rows = list.data?.worktrees ?? [];
  const removable = rows.filter((w) => w.prune?.action === 'remove' || w.prune?.action === 'forget').length;
  return (
    <div>
      <header class="page-head">
        <h1>Worktrees</h1>
        <div class="actions">
          <ActionButton
            label={`Prune (${removable} to remove)`}
            kind="danger"
            busyLabel="Pruning…"
            disabled={removable === 0}
            confirm={`Remove the ${removable} worktrees that prune would remove? Those marked "keep" stay.`}
            onClick={async () => {
              setResult(await post('/api/worktrees/prune', { dryRun: false }));
              list.reload();
            }}
          />
        </div>
      </header>
      <p class="muted">What prune would do to each worktree, and why. Prune never removes a worktree that is locked, holds uncommitted changes, or whose branch is not integrated.</p>
      <ErrorBox error={list.error} />
      {result ? (
        <Card title="Last prune">
          <pre class="raw small">{JSON.stringify(result, null, 2)}</pre>
        </Card>
      ) : null}
      {!list.data ? (
        list.error ? null : <Loading what="worktrees" />
      ) : rows.length === 0 ? (
        <Empty>No worktrees.</Empty>
      ) : (
        <Card>
          <Table head={['worktree', 'task', 'branch', 'state', 'lock holder', 'size', 'prune would', 'why']} label="Worktrees">
            {rows.map((w) => (
              <tr key={w.path} data-worktree={w.path}>
                <td class="path">
                  <code>{w.path}</code>
                </td>
                <td data-label="task">{w.taskId ? <Link href={`/dashboard/tasks/${w.taskId}`}>{shortId(w.taskId)}</Link> : '—'}</td>
                <td data-label="branch">{w.branch ? <code>{w.branch}</code> : '—'}</td>
                <td data-label="state">
                  <Badge status={w.state} />
                </td>
                <td data-label="lock holder">
                  <LockHolder holder={w.lockHolder} />
                </td>
                <td data-label="size">{formatBytes(w.sizeBytes)}</td>
                <td data-label="prune would">{w.prune ? <Badge status={w.prune.action} /> : '—'}</td>
                <td data-label="why" class="reason-cell">
                  {w.prune ? w.prune.reason || (w.prune.action === 'remove' ? 'clean, and its branch is integrated' : '') : 'not in the prune report'}
                  {w.prune?.error ? <div class="reason">{w.prune.error}</div> : null}
                  {w.note ? <div class="muted small">{w.note}</div> : null}
                </td>
              </tr>
            ))}
          </Table>
        </Card>
      )}
    </div>
  );
}
