import { describe, expect, it } from 'vitest';
import { costSeries, dayRange, eventSummary, formatBytes, formatCount, formatDuration, formatTime, formatUsd, layerDag, matchesText, parseRoute, relativeTime, runDagNodes, statusTone, taskListQuery, tokenSeries } from '../../src/dashboard/ui/format.js';
import { SseParser } from '../../src/dashboard/ui/sse-parse.js';

describe('dashboard formatting', () => {
  it('formats money, durations, bytes, counts and times', () => {
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.00123)).toBe('$0.0012');
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(7_380_000)).toBe('2h03m');
    expect(formatDuration(null)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatTime('2026-12-02T03:04:05.678Z')).toBe('2026-12-02 03:04:05');
    expect(formatTime('nonsense')).toBe('—');
  });

  it('says how long ago, and how long until', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(relativeTime('2026-12-02T11:59:58Z', now)).toBe('just now');
    expect(relativeTime('2026-12-02T11:59:30Z', now)).toBe('30 s ago');
    expect(relativeTime('2026-12-02T11:59:00Z', now)).toBe('1 min ago');
    expect(relativeTime('2026-12-02T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2026-12-02T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-11-30T12:00:00Z', now)).toBe('2 d ago');
    expect(relativeTime('2026-12-02T12:05:00Z', now)).toBe('in 5 min');
    expect(relativeTime(null, now)).toBe('—');
  });

  it('maps every state to a tone', () => {
    expect(statusTone('succeeded')).toBe('ok');
    expect(statusTone('success')).toBe('ok');
    expect(statusTone('timed_out')).toBe('bad');
    expect(statusTone('dead')).toBe('bad');
    expect(statusTone('running')).toBe('live');
    expect(statusTone('waiting')).toBe('wait');
    expect(statusTone('skipped')).toBe('idle');
    expect(statusTone(undefined)).toBe('idle');
  });

  it('builds the task list query and filters by text', () => {
    expect(taskListQuery({ status: 'failed,timed_out', agent: '', source: 'http' })).toBe('status=failed%2Ctimed_out&source=http&limit=100');
    expect(taskListQuery({})).toBe('limit=100');
    const t = { id: 'abc-123', agent: 'coder', prompt: 'Fix the Login bug', error: { message: 'quota hit' } };
    expect(matchesText(t, '')).toBe(true);
    expect(matchesText(t, 'login')).toBe(true);
    expect(matchesText(t, 'QUOTA')).toBe(true);
    expect(matchesText(t, 'abc')).toBe(true);
    expect(matchesText(t, 'reviewer')).toBe(false);
  });

  it('parses dashboard paths', () => {
    expect(parseRoute('/dashboard')).toEqual({ page: 'overview' });
    expect(parseRoute('/dashboard/')).toEqual({ page: 'overview' });
    expect(parseRoute('/dashboard/tasks')).toEqual({ page: 'tasks' });
    expect(parseRoute('/dashboard/tasks/abc/')).toEqual({ page: 'tasks', id: 'abc' });
    expect(parseRoute('/dashboard/workflows/my%20flow')).toEqual({ page: 'workflows', id: 'my flow' });
  });

  it('summarises task events for the timeline', () => {
    expect(eventSummary('parked', { class: 'quota', resetAt: '2026-12-02T13:00:00Z' })).toBe('class: quota · resetAt: 2026-12-02T13:00:00Z');
    expect(eventSummary('queued', {})).toBe('');
    expect(eventSummary('custom', { x: [1, 2] })).toBe('{"x":[1,2]}');
    expect(eventSummary('text', { text: 'y'.repeat(300) })).toBe(`text: ${'y'.repeat(160)}…`);
  });
});

describe('workflow DAG layering', () => {
  it('puts each step one layer below its deepest dependency', () => {
    const l = layerDag([
      { id: 'a', dependsOn: [] },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['a'] },
      { id: 'd', dependsOn: ['b', 'c'] },
      { id: 'e', dependsOn: ['a', 'd'] },
      { id: 'f', dependsOn: [] },
    ]);
    expect(l.layers).toEqual([['a', 'f'], ['b', 'c'], ['d'], ['e']]);
    expect(l.pos.get('c')).toEqual({ layer: 1, index: 1 });
    expect(l.edges).toContainEqual({ from: 'd', to: 'e' });
    expect(l.edges).toHaveLength(6);
  });

  it('ignores unknown dependencies and survives a cycle', () => {
    const l = layerDag([
      { id: 'x', dependsOn: ['ghost'] },
      { id: 'p', dependsOn: ['q'] },
      { id: 'q', dependsOn: ['p'] },
    ]);
    expect(l.layers.flat().sort()).toEqual(['p', 'q', 'x']);
    expect(l.pos.get('x')).toEqual({ layer: 0, index: 0 });
    expect(l.edges).toEqual([
      { from: 'q', to: 'p' },
      { from: 'p', to: 'q' },
    ]);
  });

  it('draws a run from its step rows: their dependsOn (from the run\'s own definition) and parallel sub-steps under their parent', () => {
    const nodes = runDagNodes([
      { id: 'fan', parent: null, dependsOn: [] },
      { id: 'p1', parent: 'fan', dependsOn: [] },
      { id: 'p2', parent: 'fan', dependsOn: ['p1'] },
      { id: 'gate', parent: null, dependsOn: ['fan'] },
      { id: 'extra', parent: null },
      { id: 'gate', parent: null, dependsOn: ['extra'] }, // a repeated row counts once
    ]);
    expect(nodes).toEqual([
      { id: 'fan', dependsOn: [] },
      { id: 'p1', dependsOn: ['fan'] },
      { id: 'p2', dependsOn: ['fan', 'p1'] },
      { id: 'gate', dependsOn: ['fan'] },
      { id: 'extra', dependsOn: [] },
    ]);
    expect(layerDag(nodes).layers).toEqual([['fan', 'extra'], ['p1', 'gate'], ['p2']]);
  });
});

describe('cost series', () => {
  const rows = [
    { day: '2026-12-01', agent: 'coder', provider: 'claude', costUsd: 1.5, tokensIn: 1000, tokensOut: 200 },
    { day: '2026-12-01', agent: 'reviewer', provider: 'claude', costUsd: 0.25, tokensIn: 300, tokensOut: 50 },
    { day: '2026-12-02', agent: 'coder', provider: 'codex', costUsd: 0.5, tokensIn: 400, tokensOut: 100 },
    { day: '2026-10-01', agent: 'old', provider: 'claude', costUsd: 9, tokensIn: 1, tokensOut: 1 },
  ];

  it('covers the last N days ending today, oldest first', () => {
    expect(dayRange('2026-12-02', 3)).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
    expect(dayRange('2026-03-01', 2)).toEqual(['2026-02-28', '2026-03-01']);
  });

  it('sums per agent and per provider with zeros on empty days, leaving older days out', () => {
    const a = costSeries(rows, 'agent', '2026-12-02', 3);
    expect(a.labels).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
    expect(a.xs[2]).toBe(Date.parse('2026-12-02T00:00:00Z') / 1000);
    expect(a.series).toEqual([
      { name: 'coder', values: [0, 1.5, 0.5] },
      { name: 'reviewer', values: [0, 0.25, 0] },
    ]);
    const p = costSeries(rows, 'provider', '2026-12-02', 3);
    expect(p.series).toEqual([
      { name: 'claude', values: [0, 1.75, 0] },
      { name: 'codex', values: [0, 0, 0.5] },
    ]);
    expect(tokenSeries(rows, '2026-12-02', 3).series).toEqual([
      { name: 'tokens in', values: [0, 1300, 400] },
      { name: 'tokens out', values: [0, 250, 100] },
    ]);
  });
});

describe('SSE parser (dashboard)', () => {
  it('parses named events, ids and multi-line data across chunk boundaries; drops comments', () => {
    const p = new SseParser();
    expect(p.feed(': connected\n\nid: 7\nevent: running\nda')).toEqual([]);
    expect(p.feed('ta: {"a":1}\n\n: heartbeat\n\nid: 8\r\ndata: x\r\ndata: y\r\n\r')).toEqual([{ event: 'running', data: '{"a":1}', id: '7' }]);
    expect(p.feed('\n')).toEqual([{ event: 'message', data: 'x\ny', id: '8' }]);
    expect(p.feed('event: empty\n\n')).toEqual([]);
  });
});
