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
  const { data, error } = useLive(() => api<AgentView>(`/api/agents/${encodeURIComponent(name)}`), [name]);
  // Load first, then the configuration as the daemon resolved it (no secrets: providers are named, never shown).
  const first = ['running', 'queued', 'waiting', 'provider', 'providerType', 'model', 'maxTasksPerAgent', 'description'];
  const entries = data ? Object.entries(data).filter(([k]) => !['name', 'soulPreview', 'soulTruncated', 'configured'].includes(k)) : [];
  entries.sort((a, b) => (first.indexOf(a[0]) + 1 || 99) - (first.indexOf(b[0]) + 1 || 99));
  const show = (v: unknown): string => (v === null || v === undefined || (Array.isArray(v) && v.length === 0) ? '—' : Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
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
            <Facts items={entries.map(([k, v]): [string, string] => [k, show(v)])} />
          </Card>
          <Card title="Soul file">
            {data.soulPreview ? <pre class="raw">{data.soulPreview}</pre> : <Empty>{data.soulError ? String(data.soulError) : 'No soul file.'}</Empty>}
            {data.soulTruncated ? <p class="muted">The first 4 KiB; the whole file is {String(data.soulFile)}.</p> : null}
          </Card>
        </>
      )}
    </div>
  );
}
