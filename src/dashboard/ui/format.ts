/**
 * Pure formatting and shaping helpers of the dashboard (no DOM, no fetch): unit-tested in
 * test/unit/dashboard-format.test.ts.
 */

export const TERMINAL_TASK = ['succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export const TASK_STATUSES = ['routing', 'queued', 'running', 'waiting', 'interrupted', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;

export function isTerminalTask(status: string): boolean {
  return (TERMINAL_TASK as readonly string[]).includes(status);
}

/** `$0.0123` below a cent, `$1.23` above; `—` for null. */
export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '$0.00';
  if (Math.abs(v) < 0.01) return `$${v.toFixed(4)}`;
  return `$${v.toFixed(2)}`;
}

/** `850 ms`, `12.3 s`, `4m05s`, `2h03m`; `—` for null. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`; `—` for null. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `12,345` (thousands separated, locale-free so tests and screenshots are stable). */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; in the future: `in 5 min`. */
export function relativeTime(iso: string | number | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return '—';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const d = now - t;
  const a = Math.abs(d);
  let text: string;
  if (a < 5_000) return 'just now';
  if (a < 60_000) text = `${Math.round(a / 1000)} s`;
  else if (a < 3_600_000) text = `${Math.round(a / 60_000)} min`;
  else if (a < 86_400_000) text = `${Math.round(a / 3_600_000)} h`;
  else text = `${Math.round(a / 86_400_000)} d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** `2026-12-02 03:04:05` (UTC) from an ISO time or epoch ms; `—` for null. */
export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}

/** The colour family of a task, step, run, ticket or outbox state (a CSS class suffix). */
export function statusTone(status: string | null | undefined): 'ok' | 'bad' | 'live' | 'wait' | 'idle' {
  switch (status) {
    case 'succeeded':
    case 'success':
    case 'done':
    case 'sent':
    case 'connected':
    case 'keep':
      return 'ok';
    case 'failed':
    case 'error':
    case 'timed_out':
    case 'timeout':
    case 'dead':
    case 'remove':
      return 'bad';
    case 'running':
    case 'doing':
    case 'routing':
      return 'live';
    case 'queued':
    case 'waiting':
    case 'interrupted':
    case 'review':
    case 'todo':
    case 'connecting':
    case 'reconnecting':
      return 'wait';
    default:
      return 'idle';
  }
}

/** The query string of GET /api/tasks for the task list's filters (empty values left out). */
export function taskListQuery(f: { status?: string; agent?: string; source?: string; limit?: number }): string {
  const p = new URLSearchParams();
  if (f.status) p.set('status', f.status);
  if (f.agent) p.set('agent', f.agent);
  if (f.source) p.set('source', f.source);
  p.set('limit', String(f.limit ?? 100));
  return p.toString();
}

/** Whether a task (as listed) matches the free-text filter: id, agent, prompt, error (case-insensitive). */
export function matchesText(t: { id: string; agent?: string | null; prompt?: string | null; error?: { message: string } | null }, text: string): boolean {
  const q = text.trim().toLowerCase();
  if (!q) return true;
  return [t.id, t.agent ?? '', t.prompt ?? '', t.error?.message ?? ''].some((s) => s.toLowerCase().includes(q));
}

export interface DagNode {
  id: string;
  dependsOn: string[];
}

export interface DagLayout {
  /** Node ids per layer, in input order within a layer. */
  layers: string[][];
  /** Each node's position: layer and index within it. */
  pos: Map<string, { layer: number; index: number }>;
  /** Edges from dependency to dependent (only between known nodes). */
  edges: Array<{ from: string; to: string }>;
}

/**
 * Layers a DAG by its dependencies: a node's layer is one more than its deepest dependency (roots: 0).
 * Unknown dependencies are ignored; a cycle (a broken definition) puts the nodes of the cycle after
 * every other node instead of looping.
 */
export function layerDag(nodes: DagNode[]): DagLayout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return -1;
    visiting.add(id);
    const n = byId.get(id);
    let d = 0;
    for (const dep of n?.dependsOn ?? []) {
      if (!byId.has(dep) || dep === id) continue;
      const x = depth(dep);
      d = Math.max(d, x < 0 ? nodes.length : x + 1);
    }
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  for (const n of nodes) depth(n.id);
  const max = Math.max(-1, ...layer.values());
  const layers: string[][] = Array.from({ length: max + 1 }, () => []);
  for (const n of nodes) (layers[layer.get(n.id) as number] as string[]).push(n.id);
  const compact = layers.filter((l) => l.length > 0);
  const pos = new Map<string, { layer: number; index: number }>();
  compact.forEach((l, li) => l.forEach((id, i) => pos.set(id, { layer: li, index: i })));
  const edges: Array<{ from: string; to: string }> = [];
  for (const n of nodes) for (const dep of n.dependsOn) if (byId.has(dep) && dep !== n.id) edges.push({ from: dep, to: n.id });
  return { layers: compact, pos, edges };
}

/**
 * The DAG of a workflow run, from its step rows as the API gives them: each step's `dependsOn` comes from
 * the definition the run was started with (so editing or deleting the workflow file later changes
 * nothing), and a sub-step of a `parallel` step depends on its parent.
 */
export function runDagNodes(runSteps: Array<{ id: string; parent: string | null; dependsOn?: string[] }>): DagNode[] {
  const out: DagNode[] = [];
  const seen = new Set<string>();
  for (const s of runSteps) {
    if (seen.has(s.id)) continue;
    seen.add(s.id);
    const deps = s.dependsOn ?? [];
    out.push({ id: s.id, dependsOn: s.parent ? [s.parent, ...deps] : deps });
  }
  return out;
}

export interface CostRow {
  day: string;
  agent: string;
  provider: string;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
}

export interface CostSeries {
  /** Unix seconds at 00:00 UTC of each day, oldest first: `days` days ending with `today`. */
  xs: number[];
  labels: string[];
  series: Array<{ name: string; values: number[] }>;
}

/** The last `days` UTC days ending with `today` (YYYY-MM-DD), oldest first. */
export function dayRange(today: string, days: number): string[] {
  const end = Date.parse(`${today}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/**
 * Cost rows (one per day, agent and provider) as chart series over the last `days` days: one series per
 * distinct `by` value (agent or provider), zero on days without data, sorted by total (largest first).
 */
export function costSeries(rows: CostRow[], by: 'agent' | 'provider', today: string, days = 30): CostSeries {
  const labels = dayRange(today, days);
  const index = new Map(labels.map((d, i) => [d, i]));
  const sums = new Map<string, number[]>();
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    const key = r[by] || '(none)';
    let v = sums.get(key);
    if (!v) sums.set(key, (v = new Array<number>(days).fill(0)));
    v[i] = (v[i] as number) + r.costUsd;
  }
  const total = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const series = [...sums.entries()].map(([name, values]) => ({ name, values: values.map((x) => Math.round(x * 1e6) / 1e6) })).sort((a, b) => total(b.values) - total(a.values) || a.name.localeCompare(b.name));
  return { xs: labels.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), labels, series };
}

/** Tokens in and out per day over the last `days` days (all agents). */
export function tokenSeries(rows: CostRow[], today: string, days = 30): CostSeries {
  const labels = dayRange(today, days);
  const index = new Map(labels.map((d, i) => [d, i]));
  const tin = new Array<number>(days).fill(0);
  const tout = new Array<number>(days).fill(0);
  for (const r of rows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    tin[i] = (tin[i] as number) + r.tokensIn;
    tout[i] = (tout[i] as number) + r.tokensOut;
  }
  return { xs: labels.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), labels, series: [{ name: 'tokens in', values: tin }, { name: 'tokens out', values: tout }] };
}

/** A one-line summary of a task event for the timeline (type-specific where the data is known). */
export function eventSummary(type: string, data: Record<string, unknown>): string {
  const str = (k: string) => (typeof data[k] === 'string' || typeof data[k] === 'number' ? String(data[k]) : undefined);
  const parts: string[] = [];
  const pick = ['status', 'from', 'to', 'attempt', 'provider', 'model', 'tool', 'name', 'class', 'errorClass', 'reason', 'message', 'error', 'resetAt', 'notBefore', 'until', 'path', 'worktree', 'branch', 'delayMs', 'exitCode', 'costUsd', 'text'];
  for (const k of pick) {
    const v = str(k);
    if (v === undefined || v === '') continue;
    parts.push(`${k}: ${v.length > 160 ? `${v.slice(0, 160)}…` : v}`);
    if (parts.length >= 4) break;
  }
  if (parts.length === 0) {
    const json = JSON.stringify(data);
    return json === '{}' ? '' : json.length > 200 ? `${json.slice(0, 200)}…` : json;
  }
  return parts.join(' · ');
}

/** The path of a dashboard route, below /dashboard: `/tasks/abc` → `{ page: 'tasks', id: 'abc' }`. */
export function parseRoute(pathname: string): { page: string; id?: string; sub?: string } {
  const rest = pathname.replace(/^\/dashboard\/?/, '').replace(/\/+$/, '');
  const [page, id, sub] = rest.split('/').map((s) => decodeURIComponent(s));
  if (!page) return { page: 'overview' };
  return { page, ...(id ? { id } : {}), ...(sub ? { sub } : {}) };
}
