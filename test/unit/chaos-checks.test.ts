import { describe, expect, it } from 'vitest';
import {
  agentRuns,
  checkBoard,
  checkCron,
  checkDiscord,
  checkOverlaps,
  checkTasks,
  checkWorkflows,
  checkWorktrees,
  prng,
  type AgentLine,
  type DiscordMessageFact,
  type PostedFact,
  type TaskFact,
} from '../chaos/checks.js';
// @ts-expect-error: a plain .mjs module shared with the chaos agent (no types)
import { directives, expectedOutput } from '../chaos/chaos-text.mjs';

/** The chaos suite's checks (test/chaos/checks.ts) on small made-up facts: each rule flags what it must. */
const line = (event: AgentLine['event'], taskId: string, pid: number, t: number, extra: Partial<AgentLine> = {}): AgentLine => ({ event, tag: extra.tag ?? taskId, taskId, attempt: 1, pid, t, ...extra });
const checks = (v: Array<{ check: string }>) => v.map((x) => x.check);

describe('chaos checks', () => {
  it('runs of one task that overlap are flagged; back-to-back runs and other tasks are not', () => {
    const ok = agentRuns([line('start', 't1', 10, 100), line('end', 't1', 10, 200), line('start', 't1', 11, 200), line('end', 't1', 11, 300), line('start', 't2', 12, 150), line('end', 't2', 12, 250)]);
    expect(checkOverlaps(ok, () => false)).toEqual([]);
    const twice = agentRuns([line('start', 't1', 10, 100), line('start', 't1', 11, 150), line('end', 't1', 11, 180), line('end', 't1', 10, 300)]);
    expect(checks(checkOverlaps(twice, () => false))).toEqual(['no-concurrent-runs']);
    // A SIGTERM ends a run too.
    expect(checkOverlaps(agentRuns([line('start', 't1', 10, 100), line('term', 't1', 10, 120), line('start', 't1', 11, 130), line('end', 't1', 11, 140)]), () => false)).toEqual([]);
  });

  it('a run that never logged its end is flagged (and counts as still running against the next one)', () => {
    const runs = agentRuns([line('start', 't1', 10, 100), line('start', 't1', 11, 500), line('end', 't1', 11, 600)]);
    expect(checks(checkOverlaps(runs, () => false)).sort()).toEqual(['agent-run-ended', 'no-concurrent-runs']);
    expect(checkOverlaps(runs, (pid) => pid === 10)[0]?.detail).toContain('still runs');
  });

  it('accepted tasks missing from the store, unended tasks, two terminal events, an error-less failure and a run after the end are flagged', () => {
    const t = (id: string, o: Partial<TaskFact> = {}): [string, TaskFact] => [id, { id, status: 'succeeded', source: 'http', errorMessage: null, finishedAt: 1000, terminalEvents: 1, ...o }];
    const tasks = new Map([t('a'), t('b', { status: 'running', finishedAt: null, terminalEvents: 0 }), t('c', { terminalEvents: 2 }), t('d', { status: 'failed', errorMessage: ' ' })]);
    const runs = agentRuns([line('start', 'a', 1, 900), line('end', 'a', 1, 950), line('start', 'a', 2, 1001), line('end', 'a', 2, 1100)]);
    const v = checkTasks([{ id: 'a', what: 'x' }, { id: 'gone', what: 'HTTP dispatch h1' }], tasks, runs);
    expect(checks(v).sort()).toEqual(['accepted-not-lost', 'no-run-after-end', 'one-terminal-state', 'one-terminal-state', 'one-terminal-state']);
    expect(v.find((x) => x.check === 'accepted-not-lost')?.detail).toContain('HTTP dispatch h1');
  });

  const reply = (over: Partial<DiscordMessageFact> = {}): DiscordMessageFact => ({
    messageId: '100',
    tag: 'd1',
    taskId: 'T',
    taskStatus: 'succeeded',
    expected: 'ab',
    statusNonce: 'sX',
    replies: [{ id: 1, state: 'sent', body: 'ab', chunks: [{ idx: 0, nonce: 'o1c0', content: 'a', attachment: null, messageId: '200' }, { idx: 1, nonce: 'o1c1', content: 'b', attachment: null, messageId: '201' }] }],
    ...over,
  });
  const msg = (id: string, content: string, nonce: string | null, replyTo: string | null = null): PostedFact => ({ id, content, nonce, replyTo, attachments: [] });

  it('one reply in order with every chunk once passes; a chunk twice, out of order, missing, a second reply or status are flagged', () => {
    const good = [msg('150', 'working', 'sX', '100'), msg('200', 'a', 'o1c0', '100'), msg('201', 'b', 'o1c1')];
    expect(checkDiscord([reply()], good)).toEqual([]);
    expect(checks(checkDiscord([reply()], [...good, msg('202', 'b', 'o1c1')]))).toContain('chunk-once');
    expect(checks(checkDiscord([reply()], [msg('150', 'working', 'sX', '100'), msg('201', 'a', 'o1c0', '100'), msg('200', 'b', 'o1c1')]))).toContain('chunks-in-order');
    expect(checks(checkDiscord([reply()], [msg('200', 'a', 'o1c0', '100')]))).toContain('chunk-once');
    expect(checks(checkDiscord([reply()], [...good, msg('300', 'again', 'o9c0', '100')]))).toEqual(['one-reply']);
    expect(checks(checkDiscord([reply()], [...good, msg('151', 'working', 'sX', '100')]))).toContain('one-status-message');
    expect(checks(checkDiscord([reply({ replies: [] })], good))).toEqual(['one-reply']);
    expect(checks(checkDiscord([reply({ taskId: null })], good))).toEqual(['discord-accepted']);
    expect(checks(checkDiscord([reply({ expected: 'abc' })], good))).toEqual(['reply-whole']);
  });

  it('a reply sent whole as a file must carry the whole body', () => {
    const filed = reply({ replies: [{ id: 1, state: 'sent', body: 'ab', chunks: [{ idx: 0, nonce: 'o1c0', content: 'a…', attachment: 'answer.md', messageId: '200' }] }] });
    const post = (text: string) => [{ ...msg('200', 'a…', 'o1c0', '100'), attachments: [{ filename: 'answer.md', text }] }];
    expect(checkDiscord([filed], post('ab'))).toEqual([]);
    expect(checks(checkDiscord([filed], post('a')))).toEqual(['reply-whole']);
  });

  it('a workflow step whose agent starts after the step ended, or that ran as two tasks, and an unended run are flagged', () => {
    const runs = new Map([['R', { status: 'success', tag: 'r1' }]]);
    const steps = [{ runId: 'R', stepId: 's1', status: 'success', taskId: 'T1', endedAt: 500 }];
    const ok = agentRuns([line('start', 'T1', 1, 100, { tag: 'r1/s1' }), line('end', 'T1', 1, 400, { tag: 'r1/s1' })]);
    expect(checkWorkflows([{ runId: 'R', tag: 'r1' }], runs, steps, ok)).toEqual([]);
    const again = agentRuns([line('start', 'T1', 1, 100, { tag: 'r1/s1' }), line('end', 'T1', 1, 400, { tag: 'r1/s1' }), line('start', 'T2', 2, 600, { tag: 'r1/s1' }), line('end', 'T2', 2, 700, { tag: 'r1/s1' })]);
    expect(checks(checkWorkflows([], runs, steps, again))).toEqual(['step-once', 'step-once']);
    expect(checks(checkWorkflows([{ runId: 'Q', tag: 'r2' }], new Map([['R', { status: 'running', tag: 'r1' }]]), [], []))).toEqual(['accepted-not-lost', 'run-ended']);
  });

  it('a removed worktree that held commits or untracked files is flagged; a clean one may go', () => {
    const runs = agentRuns([line('start', 'W1', 1, 1), line('end', 'W1', 1, 2, { commits: 1 }), line('start', 'W2', 2, 1), line('end', 'W2', 2, 2, { commits: 0 }), line('start', 'W3', 3, 1), line('end', 'W3', 3, 2, { dirty: true })]);
    const wt = new Map([
      ['W1', { path: '/w1', status: 'active' }],
      ['W2', { path: '/w2', status: 'removed' }],
      ['W3', { path: '/w3', status: 'removed' }],
    ]);
    expect(checkWorktrees(runs, wt, (p) => p === '/w1').map((v) => v.detail)).toEqual([expect.stringContaining('/w3')]);
    expect(checks(checkWorktrees(runs, wt, () => false))).toEqual(['worktree-kept', 'worktree-kept']);
  });

  it('a ticket that started before its dependency finished, or is left todo, is flagged', () => {
    const tickets = new Map([
      ['T-1', { id: 'T-1', tag: 'b1', status: 'done', dependsOn: [] }],
      ['T-2', { id: 'T-2', tag: 'b2', status: 'done', dependsOn: ['T-1'] }],
    ]);
    const inOrder = agentRuns([line('start', 'x1', 1, 100, { tag: 'b1' }), line('end', 'x1', 1, 200, { tag: 'b1' }), line('start', 'x2', 2, 300, { tag: 'b2' }), line('end', 'x2', 2, 400, { tag: 'b2' })]);
    expect(checkBoard(['T-1', 'T-2'], tickets, inOrder)).toEqual([]);
    const early = agentRuns([line('start', 'x1', 1, 100, { tag: 'b1' }), line('end', 'x1', 1, 200, { tag: 'b1' }), line('start', 'x2', 2, 150, { tag: 'b2' }), line('end', 'x2', 2, 400, { tag: 'b2' })]);
    expect(checks(checkBoard([], tickets, early))).toEqual(['ticket-dependencies']);
    expect(checks(checkBoard(['T-3'], new Map([['T-1', { id: 'T-1', tag: 'b1', status: 'todo', dependsOn: [] }]]), []))).toEqual(['accepted-not-lost', 'ticket-settled']);
  });

  it('a cron slot fired twice, a firing without task or error, and a cron task without firing are flagged', () => {
    expect(checkCron([{ id: 1, scheduledAt: 60_000, status: 'started', taskId: 'a', error: null }], ['a'])).toEqual([]);
    const v = checkCron(
      [
        { id: 1, scheduledAt: 60_000, status: 'started', taskId: 'a', error: null },
        { id: 2, scheduledAt: 60_000, status: 'started', taskId: 'b', error: null },
        { id: 3, scheduledAt: 120_000, status: 'started', taskId: null, error: null },
      ],
      ['a', 'b', 'c'],
    );
    expect(checks(v).sort()).toEqual(['cron-once', 'cron-once', 'cron-once']);
  });

  it('the PRNG replays a seed; directives take the last of a name; long answers are long and numbered', () => {
    const a = prng(7);
    const b = prng(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(prng(8)()).not.toBe(prng(7)());
    expect(directives('@@tag=x@@ old @@sleep=5@@ new @@tag=y@@')).toEqual({ tag: 'y', sleep: '5' });
    expect(expectedOutput('t', 0)).toBe('done t');
    const long = expectedOutput('t', 5000) as string;
    expect(long.length).toBeGreaterThanOrEqual(5000);
    expect(long.split('\n')[1]).toMatch(/^t line 0002 /);
  });
});
