import type { JSX } from 'preact';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from '../api.js';
import { Card, Empty, ErrorBox, Loading, Table } from '../components.js';
import { costSeries, formatCount, formatUsd, tokenSeries, type CostRow, type CostSeries } from '../format.js';
import { useLive } from '../live.js';

const PALETTE = ['#4f7cff', '#e8590c', '#2f9e44', '#ae3ec9', '#f08c00', '#1098ad', '#e03131', '#5c940d'];

function Chart({ data, title, money }: { data: CostSeries; title: string; money: boolean }): JSX.Element {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const width = () => Math.max(260, host.clientWidth);
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' }, ticks: { stroke: dark ? '#30363d' : '#ccc' } };
    const fmt = (v: number) => (money ? formatUsd(v) : formatCount(v));
    const plot = new uPlot(
      {
        title,
        width: width(),
        height: 240,
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 64, values: (_u, vals) => vals.map(fmt) }],
        series: [
          { label: 'day', value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
          ...data.series.map((s, i) => ({
            label: s.name,
            stroke: PALETTE[i % PALETTE.length] as string,
            width: 2,
            fill: `${PALETTE[i % PALETTE.length] as string}22`,
            points: { show: true, size: 4 },
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
          })),
        ],
      },
      [data.xs, ...data.series.map((s) => s.values)],
      host,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    ro.observe(host);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, title, money]);
  return <div class="chart" ref={el} role="img" aria-label={title} data-testid="chart" />;
}

export function CostPage(): JSX.Element {
  const cost = useLive(() => api<{ days: CostRow[] }>('/api/cost/daily?days=30'), [], (t) => ['succeeded', 'failed', 'cancelled', 'timed_out', 'usage'].includes(t));
  const today = new Date().toISOString().slice(0, 10);
  const rows = cost.data?.days ?? [];
  const byAgent = useMemo(() => costSeries(rows, 'agent', today), [cost.data]);
  const byProvider = useMemo(() => costSeries(rows, 'provider', today), [cost.data]);
  const tokens = useMemo(() => tokenSeries(rows, today), [cost.data]);
  const totals = useMemo(() => {
    const m = new Map<string, { cost: number; tin: number; tout: number }>();
    for (const r of rows) {
      const t = m.get(r.agent) ?? { cost: 0, tin: 0, tout: 0 };
      t.cost += r.costUsd;
      t.tin += r.tokensIn;
      t.tout += r.tokensOut;
      m.set(r.agent, t);
    }
    return [...m.entries()].sort((a, b) => b[1].cost - a[1].cost);
  }, [cost.data]);
  return (
    <div>
      <h1>Cost</h1>
      <p class="muted">The last 30 days (UTC), from every task's recorded cost and tokens.</p>
      <ErrorBox error={cost.error} />
      {!cost.data ? (
        cost.error ? null : <Loading what="cost" />
      ) : rows.length === 0 ? (
        <Empty>No cost recorded in the last 30 days.</Empty>
      ) : (
        <>
          <Card title="Cost per day by agent">
            <Chart data={byAgent} title="USD per day, by agent" money />
          </Card>
          <Card title="Cost per day by provider">
            <Chart data={byProvider} title="USD per day, by provider" money />
          </Card>
          <Card title="Tokens per day">
            <Chart data={tokens} title="Tokens per day" money={false} />
          </Card>
          <Card title="Totals by agent">
            <Table head={['agent', 'cost', 'tokens in', 'tokens out']} label="Totals by agent">
              {totals.map(([agent, t]) => (
                <tr key={agent}>
                  <td>{agent}</td>
                  <td data-label="cost">{formatUsd(t.cost)}</td>
                  <td data-label="tokens in">{formatCount(t.tin)}</td>
                  <td data-label="tokens out">{formatCount(t.tout)}</td>
                </tr>
              ))}
            </Table>
          </Card>
        </>
      )}
    </div>
  );
}
