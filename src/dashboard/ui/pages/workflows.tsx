import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, post } from '../api.js';
import { Badge, Card, Empty, ErrorBox, Loading, Table, shortId } from '../components.js';
import { formatDuration, formatUsd, relativeTime } from '../format.js';
import { useLive } from '../live.js';
import { Link, navigate } from '../router.js';

interface WorkflowSummary {
  name: string;
  description: string;
  file: string;
  steps: number;
  valid: boolean;
  errors: number;
  warnings: number;
}
interface Problem {
  path: string;
  message: string;
}
export interface RunSummary {
  id: string;
  workflow: string;
  status: string;
  source: string;
  error: string | null;
  createdAt: string;
  durationMs: number | null;
  totalCostUsd: number;
  counts?: Record<string, number>;
}

function RunsTable({ runs }: { runs: RunSummary[] }): JSX.Element {
  const now = Date.now();
  if (runs.length === 0) return <Empty>No runs yet.</Empty>;
  return (
    <Table head={['run', 'workflow', 'status', 'steps', 'started', 'duration', 'cost']} label="Workflow runs">
      {runs.map((r) => (
        <tr key={r.id}>
          <td>
            <Link href={`/dashboard/runs/${r.id}`}>{shortId(r.id)}</Link>
          </td>
          <td data-label="workflow">{r.workflow}</td>
          <td data-label="status">
            <Badge status={r.status} />
          </td>
          <td data-label="steps">
            {Object.entries(r.counts ?? {})
              .map(([k, v]) => `${v} ${k}`)
              .join(', ')}
          </td>
          <td data-label="started">{relativeTime(r.createdAt, now)}</td>
          <td data-label="duration">{formatDuration(r.durationMs)}</td>
          <td data-label="cost">{formatUsd(r.totalCostUsd)}</td>
        </tr>
      ))}
    </Table>
  );
}

export function WorkflowsPage(): JSX.Element {
  const defs = useLive(() => api<{ workflows: WorkflowSummary[]; errors: Problem[] }>('/api/workflows'), [], null);
  const runs = useLive(() => api<{ runs: RunSummary[] }>('/api/workflow-runs?limit=30'), [], (_t, d) => d.data !== undefined);
  return (
    <div>
      <h1>Workflows</h1>
      <Card title="Definitions">
        <ErrorBox error={defs.error} />
        {!defs.data ? (
          defs.error ? null : <Loading what="workflows" />
        ) : defs.data.workflows.length === 0 ? (
          <Empty>No workflows. Put workflow JSON files in the workflows folder of the Tetora home.</Empty>
        ) : (
          <Table head={['workflow', 'steps', 'validity', 'description']} label="Workflow definitions">
            {defs.data.workflows.map((w) => (
              <tr key={w.name}>
                <td>
                  <Link href={`/dashboard/workflows/${encodeURIComponent(w.name)}`}>{w.name}</Link>
                </td>
                <td data-label="steps">{w.steps}</td>
                <td data-label="validity">
                  {w.valid ? <Badge status="succeeded" label="valid" /> : <Badge status="failed" label={`${w.errors} ${w.errors === 1 ? 'error' : 'errors'}`} />}
                  {w.warnings ? <span class="muted"> {w.warnings} warnings</span> : null}
                </td>
                <td data-label="description">{w.description}</td>
              </tr>
            ))}
          </Table>
        )}
        {defs.data && defs.data.errors.length > 0 ? (
          <div class="error" role="alert">
            <strong>Files that could not be loaded:</strong>
            <ul>
              {defs.data.errors.map((e, i) => (
                <li key={i}>
                  <code>{e.path}</code>: {e.message}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </Card>
      <Card title="Recent runs">
        <ErrorBox error={runs.error} />
        {runs.data ? <RunsTable runs={runs.data.runs} /> : runs.error ? null : <Loading what="runs" />}
      </Card>
    </div>
  );
}

interface WorkflowDetail {
  workflow: { name?: string; description?: string; variables?: Record<string, unknown>; steps?: unknown[] };
  valid: boolean;
  errors: Problem[];
  warnings: Problem[];
  file?: string;
  executionOrder?: string[][];
}

function RunForm({ name, variables }: { name: string; variables: Record<string, unknown> }): JSX.Element {
  const keys = Object.keys(variables);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(keys.map((k) => [k, variables[k] === undefined || variables[k] === null ? '' : String(variables[k])])));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await post<{ runId: string }>(`/api/workflows/${encodeURIComponent(name)}/run`, { variables: values });
      navigate(`/dashboard/runs/${r.runId}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-label={`Run ${name}`}>
      {keys.length === 0 ? <p class="muted">This workflow takes no variables.</p> : null}
      {keys.map((k) => (
        <div class="field" key={k}>
          <label for={`var-${k}`}>{k}</label>
          <input id={`var-${k}`} value={values[k] ?? ''} onInput={(e) => setValues({ ...values, [k]: (e.target as HTMLInputElement).value })} />
        </div>
      ))}
      {error ? <ErrorBox error={error} title={error instanceof ApiError && error.code === 'TET_ERR_WORKFLOW_INVALID' ? 'The workflow is invalid' : 'Run refused'} /> : null}
      <button class="btn primary" type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Run workflow'}
      </button>
    </form>
  );
}

/** A definition's errors or warnings, each with its JSON path; nothing when there are none. */
function Problems({ title, items, bad }: { title: string; items: Problem[]; bad?: boolean }): JSX.Element | null {
  if (items.length === 0) return null;
  return (
    <Card title={title} {...(bad ? { class: 'bad' } : {})}>
      <ul class="problems">
        {items.map((e, i) => (
          <li key={i}>
            <code>{e.path}</code> {e.message}
          </li>
        ))}
      </ul>
    </Card>
  );
}

export function WorkflowPage({ name }: { name: string }): JSX.Element {
  const def = useLive(() => api<WorkflowDetail>(`/api/workflows/${encodeURIComponent(name)}`), [name], null);
  const runs = useLive(() => api<{ runs: RunSummary[] }>(`/api/workflows/${encodeURIComponent(name)}/runs?limit=20`), [name], (_t, d) => d.data !== undefined);
  const d = def.data;
  return (
    <div>
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/dashboard/workflows">Workflows</Link> / <span>{name}</span>
      </nav>
      <h1>
        Workflow {name} {d ? d.valid ? <Badge status="succeeded" label="valid" /> : <Badge status="failed" label="invalid" /> : null}
      </h1>
      <ErrorBox error={def.error} />
      {!d ? (
        def.error ? null : <Loading what="the workflow" />
      ) : (
        <>
          {d.workflow.description ? <p>{d.workflow.description}</p> : null}
          <Problems title="Validation errors" items={d.errors} bad />
          <Problems title="Warnings" items={d.warnings} />
          <div class="grid">
            <Card title="Run">{d.valid ? <RunForm name={name} variables={d.workflow.variables ?? {}} /> : <p>Fix the errors above to run it.</p>}</Card>
            <Card title="Steps">
              {d.executionOrder ? (
                <ol class="order">
                  {d.executionOrder.map((level, i) => (
                    <li key={i}>{level.join(', ')}</li>
                  ))}
                </ol>
              ) : (
                <p class="muted">{(d.workflow.steps ?? []).length} steps</p>
              )}
              {d.file ? <p class="muted">File: <code>{d.file}</code></p> : null}
            </Card>
          </div>
        </>
      )}
      <Card title="Runs">
        <ErrorBox error={runs.error} />
        {runs.data ? <RunsTable runs={runs.data.runs} /> : runs.error ? null : <Loading what="runs" />}
      </Card>
    </div>
  );
}
