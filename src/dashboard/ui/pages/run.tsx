import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { ActionButton, Badge, Card, ErrorBox, Facts, Loading, Table, shortId } from '../components.js';
import { formatDuration, formatTime, formatUsd, layerDag, runDagNodes, statusTone, type DagLayout } from '../format.js';
import { Link, navigate } from '../router.js';
import { useStream } from '../sse.js';

interface StepView {
  id: string;
  parent: string | null;
  /** From the definition the run was started with. */
  dependsOn: string[];
  type: string;
  status: string;
  attempt: number;
  taskId: string | null;
  taskStatus: string | null;
  agent: string | null;
  durationMs: number | null;
  costUsd: number;
  error: string | null;
  note: string | null;
  waitingUntil: string | null;
  decision: string | null;
  decidedBy: string | null;
}
interface RunView {
  id: string;
  workflow: string;
  status: string;
  source: string;
  variables: Record<string, string>;
  error: string | null;
  workdir: string | null;
  worktree: string | null;
  createdAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  totalCostUsd: number;
  resumedFrom: string | null;
  resumedAs: string | null;
  steps?: StepView[];
}

const NODE_W = 156;
const NODE_H = 48;
const GAP_X = 28;
const GAP_Y = 40;

function Dag({ layout, steps }: { layout: DagLayout; steps: Map<string, StepView> }): JSX.Element {
  const widest = Math.max(1, ...layout.layers.map((l) => l.length));
  const width = widest * NODE_W + (widest - 1) * GAP_X + 16;
  const height = layout.layers.length * NODE_H + (layout.layers.length - 1) * GAP_Y + 16;
  const xy = (id: string) => {
    const p = layout.pos.get(id);
    if (!p) return { x: 0, y: 0 };
    const n = (layout.layers[p.layer] as string[]).length;
    const rowW = n * NODE_W + (n - 1) * GAP_X;
    return { x: 8 + (width - 16 - rowW) / 2 + p.index * (NODE_W + GAP_X), y: 8 + p.layer * (NODE_H + GAP_Y) };
  };
  return (
    <div class="dag-wrap">
      <svg class={widest <= 3 ? 'dag fit' : 'dag'} viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="Workflow steps and their dependencies">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
          </marker>
        </defs>
        {layout.edges.map((e) => {
          const a = xy(e.from);
          const b = xy(e.to);
          const x1 = a.x + NODE_W / 2;
          const y1 = a.y + NODE_H;
          const x2 = b.x + NODE_W / 2;
          const y2 = b.y;
          const my = (y1 + y2) / 2;
          return <path key={`${e.from}>${e.to}`} class="edge" data-edge={`${e.from}>${e.to}`} d={`M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2 - 2}`} marker-end="url(#arrow)" />;
        })}
        {[...layout.pos.keys()].map((id) => {
          const s = steps.get(id);
          const { x, y } = xy(id);
          const status = s?.status ?? 'pending';
          const label = id.length > 18 ? `${id.slice(0, 17)}…` : id;
          const body = (
            <g class={`node tone-${statusTone(status)}`} data-step={id} data-status={status}>
              <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={8} />
              <text x={x + 10} y={y + 19} class="node-id">
                {label}
              </text>
              <text x={x + 10} y={y + 37} class="node-status">
                {`${s?.type ?? ''} · ${status}`}
              </text>
              <title>{`${id}: ${status}${s?.agent ? ` (${s.agent})` : ''}${s?.error ? ` — ${s.error}` : ''}`}</title>
            </g>
          );
          return s?.taskId ? (
            <a key={id} href={`/dashboard/tasks/${s.taskId}`} onClick={(e) => { e.preventDefault(); navigate(`/dashboard/tasks/${s.taskId}`); }} aria-label={`step ${id}, ${status}: open its task`}>
              {body}
            </a>
          ) : (
            <g key={id}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}

function Decide({ run, step, reload }: { run: string; step: StepView; reload: () => void }): JSX.Element {
  const [text, setText] = useState('');
  const base = `/api/workflow-runs/${run}/steps/${encodeURIComponent(step.id)}`;
  const input = step.note !== null && step.type === 'human';
  return (
    <div class="decide" data-decide={step.id}>
      {step.note ? <p class="note">{step.note}</p> : null}
      {input ? (
        <div class="field">
          <label for={`answer-${step.id}`}>Answer or comment (optional)</label>
          <input id={`answer-${step.id}`} value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </div>
      ) : null}
      <div class="actions">
        <ActionButton label="Approve" kind="primary" busyLabel="Approving…" onClick={() => post(`${base}/approve`, { by: 'dashboard', ...(text ? { text } : {}) }).then(reload)} />
        <ActionButton label="Reject" kind="danger" busyLabel="Rejecting…" onClick={() => post(`${base}/reject`, { by: 'dashboard', ...(text ? { text } : {}) }).then(reload)} />
        {text ? <ActionButton label="Send answer" busyLabel="Sending…" onClick={() => post(`${base}/answer`, { by: 'dashboard', text }).then(reload)} /> : null}
      </div>
    </div>
  );
}

export function RunPage({ id }: { id: string }): JSX.Element {
  const [run, setRun] = useState<RunView | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const load = () =>
    api<RunView>(`/api/workflow-runs/${encodeURIComponent(id)}`).then(
      (r) => {
        setRun(r);
        setError(undefined);
      },
      setError,
    );
  useEffect(() => {
    setRun(undefined);
    void load();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [id]);
  const stream = useStream(
    `/api/workflow-runs/${encodeURIComponent(id)}/events`,
    () => {
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        void load();
      }, 150);
    },
    { isEnd: (type) => type === 'workflow_completed' },
  );
  useEffect(() => {
    if (stream === 'ended') void load();
  }, [stream]);
  const steps = run?.steps ?? [];
  const layout = useMemo(() => layerDag(runDagNodes(steps)), [steps]);
  const byId = useMemo(() => new Map(steps.map((s) => [s.id, s])), [steps]);
  if (!run) return error ? <ErrorBox error={error} title={`Run ${id}`} /> : <Loading what="the run" />;
  const ended = !['running'].includes(run.status);
  const waiting = steps.filter((s) => s.type === 'human' && s.status === 'waiting');
  return (
    <div class="run">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/dashboard/workflows">Workflows</Link> / <Link href={`/dashboard/workflows/${encodeURIComponent(run.workflow)}`}>{run.workflow}</Link> / <span>run {shortId(run.id)}</span>
      </nav>
      <header class="page-head">
        <h1>
          Run of {run.workflow} <Badge status={run.status} />
        </h1>
        <div class="actions">
          {!ended ? <ActionButton label="Cancel run" kind="danger" busyLabel="Cancelling…" confirm="Cancel this run and its running steps?" onClick={() => post(`/api/workflow-runs/${run.id}/cancel`).then(load)} /> : null}
          {ended && run.status !== 'success' && !run.resumedAs ? (
            <ActionButton
              label="Resume"
              kind="primary"
              busyLabel="Resuming…"
              onClick={async () => {
                const r = await post<{ runId: string }>(`/api/workflow-runs/${run.id}/resume`);
                navigate(`/dashboard/runs/${r.runId}`);
              }}
            />
          ) : null}
        </div>
      </header>
      <ErrorBox error={error} />
      {run.error ? <div class="error">{run.error}</div> : null}
      {run.resumedAs ? (
        <p>
          Resumed as <Link href={`/dashboard/runs/${run.resumedAs}`}>{shortId(run.resumedAs)}</Link>.
        </p>
      ) : null}
      {waiting.length > 0 ? (
        <Card title="Waiting for you" class="attention">
          {waiting.map((s) => (
            <div key={s.id}>
              <h3>Step {s.id}</h3>
              <Decide run={run.id} step={s} reload={() => void load()} />
            </div>
          ))}
        </Card>
      ) : null}
      <Card title="Steps" actions={<span class={`live live-${stream}`}>{stream === 'ended' ? 'finished' : stream}</span>}>
        <Dag layout={layout} steps={byId} />
      </Card>
      <div class="grid">
        <Card title="Run">
          <Facts
            items={[
              ['run', <code>{run.id}</code>],
              ['source', run.source],
              ['started', formatTime(run.createdAt)],
              ['duration', formatDuration(run.durationMs ?? Date.now() - Date.parse(run.createdAt))],
              ['cost', formatUsd(run.totalCostUsd)],
              ['workdir', run.workdir ? <code>{run.workdir}</code> : '—'],
              ['worktree', run.worktree ? <code>{run.worktree}</code> : '—'],
              ['resumed from', run.resumedFrom ? <Link href={`/dashboard/runs/${run.resumedFrom}`}>{shortId(run.resumedFrom)}</Link> : '—'],
            ]}
          />
        </Card>
        <Card title="Variables">
          {Object.keys(run.variables).length ? <Facts items={Object.entries(run.variables).map(([k, v]): [string, string] => [k, String(v)])} /> : <p class="muted">None.</p>}
        </Card>
      </div>
      <Card title="Step details">
        <Table head={['step', 'type', 'status', 'agent', 'task', 'duration', 'cost', 'note / error']} label="Steps">
          {steps.map((s) => (
            <tr key={s.id} data-step-row={s.id}>
              <td>
                {s.parent ? <span class="muted">{s.parent} › </span> : null}
                {s.id}
              </td>
              <td data-label="type">{s.type}</td>
              <td data-label="status">
                <Badge status={s.status} />
              </td>
              <td data-label="agent">{s.agent ?? '—'}</td>
              <td data-label="task">{s.taskId ? <Link href={`/dashboard/tasks/${s.taskId}`}>{shortId(s.taskId)}</Link> : '—'}</td>
              <td data-label="duration">{formatDuration(s.durationMs)}</td>
              <td data-label="cost">{formatUsd(s.costUsd)}</td>
              <td data-label="note">
                {s.error ?? s.note ?? ''}
                {s.decision ? <span class="muted"> ({s.decision}{s.decidedBy ? ` by ${s.decidedBy}` : ''})</span> : null}
              </td>
            </tr>
          ))}
        </Table>
      </Card>
    </div>
  );
}
