import type { JSX } from 'preact';
import { api, ApiError } from '../api.js';
import { Badge, Card, Empty, ErrorBox, Facts, Loading, Table, shortId } from '../components.js';
import { formatDuration, formatUsd, relativeTime } from '../format.js';
import { useLive } from '../live.js';
import { Link } from '../router.js';

export interface Overview {
  health: { version: string; uptimeS: number | null; store: string; draining: boolean; storeReason?: string | null; storeFix?: string | null };
  agents: Array<{ name: string; running: number; queued: number; maxTasks: number | null }>;
  cost: { todayUsd: number; dailyBudgetUsd: number | null; perAgent: Array<{ agent: string; todayUsd: number; dailyBudgetUsd: number | null }> };
  recentFailures: Array<{ id: string; agent: string | null; status: string; error: string | null; endedAt: string | null }>;
  discord: { enabled: boolean; connected: boolean; state: string; detail: string | null; fix?: string | null };
}

interface Health {
  status: string;
  version: string;
  store: { ok: boolean; error?: string };
  scheduler: { state: string; running: number | null; queued: number | null; maxConcurrent: number };
  discord?: { enabled: boolean; connected: boolean; state: string; reason: string | null };
}
interface AgentRow {
  name: string;
  running: number;
  queued: number;
  maxTasksPerAgent: number | null;
}
interface TaskRow {
  id: string;
  agent: string | null;
  status: string;
  error: { message: string } | null;
  finishedAt: string | null;
}

/** GET /api/overview; a daemon without it (older) is summed up from /api/health, /api/agents and /api/tasks. */
async function loadOverview(): Promise<Overview> {
  try {
    return await api<Overview>('/api/overview');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const [health, agents, failed] = await Promise.all([
    api<Health>('/api/health'),
    api<{ agents: AgentRow[] }>('/api/agents'),
    api<{ tasks: TaskRow[] }>('/api/tasks?status=failed,timed_out&limit=8'),
  ]);
  return {
    health: { version: health.version, uptimeS: null, store: health.store.ok ? 'ok' : (health.store.error ?? 'error'), draining: health.scheduler.state === 'draining' },
    agents: agents.agents.map((a) => ({ name: a.name, running: a.running, queued: a.queued, maxTasks: a.maxTasksPerAgent })),
    cost: { todayUsd: 0, dailyBudgetUsd: null, perAgent: [] },
    recentFailures: failed.tasks.map((t) => ({ id: t.id, agent: t.agent, status: t.status, error: t.error?.message ?? null, endedAt: t.finishedAt })),
    discord: health.discord ? { enabled: health.discord.enabled, connected: health.discord.connected, state: health.discord.state, detail: health.discord.reason } : { enabled: false, connected: false, state: 'disabled', detail: null },
  };
}

function BudgetBar({ used, budget }: { used: number; budget: number | null }): JSX.Element {
  if (budget === null || budget <= 0) return <span>{formatUsd(used)} <span class="muted">(no daily budget)</span></span>;
  const pct = Math.min(100, Math.round((used / budget) * 100));
  return (
    <span class="budget">
      <span>
        {formatUsd(used)} of {formatUsd(budget)}
      </span>
      <span class="bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="share of the daily budget spent">
        <span class={`fill ${pct >= 90 ? 'hot' : ''}`} style={{ width: `${pct}%` }} />
      </span>
    </span>
  );
}

export function OverviewPage(): JSX.Element {
  const { data, error } = useLive(loadOverview, []);
  if (!data) return error ? <ErrorBox error={error} title="Overview" /> : <Loading what="the overview" />;
  const running = data.agents.reduce((n, a) => n + a.running, 0);
  const queued = data.agents.reduce((n, a) => n + a.queued, 0);
  const now = Date.now();
  return (
    <div class="overview">
      <h1>Overview</h1>
      <ErrorBox error={error} />
      <div class="grid">
        <Card title="Daemon">
          <Facts
            items={[
              ['health', <Badge status={data.health.store === 'ok' && !data.health.draining ? 'succeeded' : 'failed'} label={data.health.draining ? 'draining' : data.health.store === 'ok' ? 'ok' : `store: ${data.health.store}`} />],
              ['version', data.health.version],
              ['uptime', data.health.uptimeS === null ? '—' : formatDuration(data.health.uptimeS * 1000)],
              ['running', <span data-testid="running-count">{running}</span>],
              ['queued', <span data-testid="queued-count">{queued}</span>],
            ]}
          />
          {data.health.storeReason ? (
            <div class="error" role="alert">
              {data.health.storeReason}
              {data.health.storeFix ? <div>Fix: {data.health.storeFix}</div> : null}
            </div>
          ) : null}
        </Card>
        <Card title="Cost today">
          <p class="big">
            <BudgetBar used={data.cost.todayUsd} budget={data.cost.dailyBudgetUsd} />
          </p>
          {data.cost.perAgent.filter((a) => a.todayUsd > 0 || a.dailyBudgetUsd !== null).map((a) => (
            <div class="row" key={a.agent}>
              <span class="label">{a.agent}</span> <BudgetBar used={a.todayUsd} budget={a.dailyBudgetUsd} />
            </div>
          ))}
          <p>
            <Link href="/dashboard/cost">Cost over 30 days →</Link>
          </p>
        </Card>
        <Card title="Discord">
          <p>
            <Badge status={data.discord.connected ? 'connected' : data.discord.enabled ? data.discord.state : 'disabled'} label={data.discord.enabled ? data.discord.state : 'disabled'} />
          </p>
          {data.discord.detail ? <p class="muted">{data.discord.detail}</p> : null}
          {data.discord.fix && data.discord.enabled ? <p class="muted">Fix: {data.discord.fix}</p> : null}
          <p>
            <Link href="/dashboard/discord">Outbox and dead letters →</Link>
          </p>
        </Card>
      </div>
      <Card title="Agents" actions={<Link href="/dashboard/agents">All agents</Link>}>
        {data.agents.length === 0 ? (
          <Empty>No agents are configured.</Empty>
        ) : (
          <Table head={['agent', 'running', 'queued', 'cap']} label="Agents">
            {data.agents.map((a) => (
              <tr key={a.name}>
                <td>
                  <Link href={`/dashboard/agents/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                </td>
                <td data-label="running">{a.running}</td>
                <td data-label="queued">{a.queued}</td>
                <td data-label="cap">{a.maxTasks ?? '—'}</td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
      <Card title="Recent failures" actions={<Link href="/dashboard/tasks?status=failed,timed_out">All failed tasks</Link>}>
        {data.recentFailures.length === 0 ? (
          <Empty>No recent failures.</Empty>
        ) : (
          <ul class="failures">
            {data.recentFailures.map((f) => (
              <li key={f.id}>
                <Link href={`/dashboard/tasks/${f.id}`}>{shortId(f.id)}</Link> <Badge status={f.status} /> <span class="muted">{f.agent ?? '—'} · {relativeTime(f.endedAt, now)}</span>
                <div class="reason">{f.error ?? 'no reason recorded'}</div>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
