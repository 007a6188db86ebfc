import type { JSX } from 'preact';
import { api } from '../api.js';
import { Badge, Card, Empty, ErrorBox, Facts, Loading, Table } from '../components.js';
import { useLive } from '../live.js';
import { Link } from '../router.js';

interface AgentRow {
  name: string;
  description: string;
  provider: string | null;
  model: string | null;
  maxTasksPerAgent: number | null;
  running: number;
  queued: number;
  waiting: number;
  configured: boolean;
}

export function AgentsPage(): JSX.Element {
  const { data, error } = useLive(() => api<{ agents: AgentRow[] }>('/api/agents'), []);
  return (
    <div>
      <h1>Agents</h1>
      <ErrorBox error={error} />
      {!data ? (
        error ? null : <Loading what="agents" />
      ) : data.agents.length === 0 ? (
        <Empty>No agents. Add them under "agents" in config.json.</Empty>
      ) : (
        <Card>
          <Table head={['agent', 'provider', 'model', 'load', 'cap', 'description']} label="Agents">
            {data.agents.map((a) => (
              <tr key={a.name}>
                <td>
                  <Link href={`/dashboard/agents/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                  {!a.configured ? <Badge status="interrupted" label="not configured" /> : null}
                </td>
                <td data-label="provider">{a.provider ?? '—'}</td>
                <td data-label="model">{a.model ?? '—'}</td>
                <td data-label="load">
                  {a.running} running · {a.queued} queued{a.waiting ? ` · ${a.waiting} waiting` : ''}
                </td>
                <td data-label="cap">{a.maxTasksPerAgent ?? '—'}</td>
                <td data-label="description">{a.description}</td>
              </tr>
            ))}
          </Table>
        </Card>
      )}
    </div>
  );
}

interface AgentView {
  name: string;
  provider?: string | null;
  model?: string | null;
  workdir?: string | null;
  soulPreview?: string | null;
  soulFile?: string | null;
  [k: string]: unknown;
}

export function AgentPage({ name }: { name: string }): JSX.Element {
  const { data, error } = useLive(() => api<AgentView>(`/api/agents/${encodeURIComponent(name)}`), [name], (_t, d) => d.agent === name || true);
  const shown = data ? Object.entries(data).filter(([k, v]) => !['name', 'soulPreview'].includes(k) && (typeof v !== 'object' || v === null)) : [];
  const nested = data ? Object.entries(data).filter(([k, v]) => k !== 'soulPreview' && typeof v === 'object' && v !== null) : [];
  return (
    <div>
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/dashboard/agents">Agents</Link> / <span>{name}</span>
      </nav>
      <h1>Agent {name}</h1>
      <ErrorBox error={error} />
      {!data ? (
        error ? null : <Loading what="the agent" />
      ) : (
        <>
          <Card title="Configuration and load">
            <Facts items={[...shown.map(([k, v]): [string, string] => [k, v === null ? '—' : String(v)]), ...nested.map(([k, v]): [string, JSX.Element] => [k, <code class="wrap">{JSON.stringify(v)}</code>])]} />
          </Card>
          <Card title="Soul file">{data.soulPreview ? <pre class="raw">{data.soulPreview}</pre> : <Empty>No soul file.</Empty>}</Card>
        </>
      )}
    </div>
  );
}
