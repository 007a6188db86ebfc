import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf, isTerminalType, one, progressLine, taskDetail, taskLine, toolResultText, type EventView, type TaskView } from '../../src/cli/format.js';
import { claudeEvents } from '../../src/providers/claude.js';
import { codexEvents } from '../../src/providers/codex.js';
import { repoRoot } from '../helpers/cli.js';

const T0 = Date.parse('2026-03-04T05:06:07.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (type: string, data: Record<string, unknown>, ms = 1500): EventView => ({ seq: 1, taskId: 't1', at: at(ms), type, data });

describe('exitCodeOf', () => {
  it.each([
    ['succeeded', 0],
    ['failed', 1],
    ['cancelled', 3],
    ['timed_out', 4],
    ['queued', 2],
    ['running', 2],
    ['retry_wait', 2],
    ['rate_limited', 2],
    ['interrupted', 2],
    ['', 2],
    ['SUCCEEDED', 2],
  ])('%j → %d', (status, code) => {
    expect(exitCodeOf(status)).toBe(code);
  });
});

describe('isTerminalType', () => {
  it('is true only for the four terminal statuses', () => {
    expect(['succeeded', 'failed', 'cancelled', 'timed_out'].every(isTerminalType)).toBe(true);
    expect(['queued', 'running', 'retry_wait', 'rate_limited', 'interrupted', 'provider.text'].some(isTerminalType)).toBe(false);
  });
});

describe('one', () => {
  it('flattens runs of whitespace to one space and trims', () => {
    expect(one('  a\n\n b\t\tc  \r\n', 100)).toBe('a b c');
  });

  it('leaves a string that fits untouched', () => {
    expect(one('abcde', 5)).toBe('abcde');
  });

  it('cuts to exactly max characters, ending with an ellipsis', () => {
    expect(one('abcdef', 5)).toBe('abcd…');
    expect(one('ab\u{1F680}cd', 4)).toBe('ab\u{1F680}…'); // code points: an emoji is never cut in half
    expect(one('abcdef', 5)).toHaveLength(5);
    expect(one('x'.repeat(1000), 60)).toBe(`${'x'.repeat(59)}…`);
  });

  it('measures after flattening', () => {
    expect(one('a    b', 3)).toBe('a b');
  });

  it('empty and blank strings become empty', () => {
    expect(one('', 10)).toBe('');
    expect(one(' \n\t ', 10)).toBe('');
  });
});

describe('progressLine', () => {
  it('prefixes the seconds since t0, one decimal, padded to 6', () => {
    expect(progressLine(ev('interrupted', { reason: 'drain' }, 1500), T0)).toBe('[   1.5s] interrupted: drain');
    expect(progressLine(ev('interrupted', { reason: 'drain' }, 0), T0)).toBe('[   0.0s] interrupted: drain');
    expect(progressLine(ev('interrupted', { reason: 'drain' }, 12_345_600), T0)).toBe('[12345.6s] interrupted: drain');
  });

  it('queued: first time, with and without an agent', () => {
    expect(progressLine(ev('queued', { agent: 'coder' }), T0)).toBe('[   1.5s] queued for agent coder');
    expect(progressLine(ev('queued', {}), T0)).toBe('[   1.5s] queued');
  });

  it('queued again, with a reason and an optional flattened message', () => {
    expect(progressLine(ev('queued', { reason: 'backoff elapsed' }), T0)).toBe('[   1.5s] queued again: backoff elapsed');
    expect(progressLine(ev('queued', { reason: 'fresh session', message: 'session\n  expired' }), T0)).toBe('[   1.5s] queued again: fresh session (session expired)');
  });

  it('running: attempt, provider and model', () => {
    expect(progressLine(ev('running', { attempt: 2, maxAttempts: 3, provider: 'claude', model: 'sonnet' }), T0)).toBe('[   1.5s] attempt 2/3 running on claude (sonnet)');
    expect(progressLine(ev('running', { attempt: 1, provider: 'cmd' }), T0)).toBe('[   1.5s] attempt 1/? running on cmd');
  });

  it('retry_wait: class, attempt, reason and the delay in seconds to one decimal', () => {
    expect(progressLine(ev('retry_wait', { class: 'transient', attempt: 1, reason: '502\nbad gateway', delayMs: 1234 }), T0)).toBe(
      '[   1.5s] transient error on attempt 1: 502 bad gateway — retrying in 1.2s',
    );
    expect(progressLine(ev('retry_wait', { class: 'timeout', attempt: 2 }), T0)).toBe('[   1.5s] timeout error on attempt 2:  — retrying in 0s');
  });

  it('rate_limited: reason and the wake time in ISO', () => {
    const notBefore = Date.UTC(2026, 2, 4, 6, 0, 0);
    expect(progressLine(ev('rate_limited', { reason: '429', notBefore }), T0)).toBe('[   1.5s] rate limited: 429 — parked until 2026-03-04T06:00:00.000Z');
  });

  it('provider.text: flattened and cut to 200; blank or non-string text gives no line', () => {
    expect(progressLine(ev('provider.text', { text: 'hello\nworld' }), T0)).toBe('[   1.5s] hello world');
    const long = progressLine(ev('provider.text', { text: 'y'.repeat(300) }), T0);
    expect(long).toBe(`[   1.5s] ${'y'.repeat(199)}…`);
    expect(progressLine(ev('provider.text', { text: '  \n ' }), T0)).toBeUndefined();
    expect(progressLine(ev('provider.text', { text: 42 }), T0)).toBeUndefined();
    expect(progressLine(ev('provider.text', {}), T0)).toBeUndefined();
  });

  it('provider.tool_call: string input as is, other input as JSON', () => {
    expect(progressLine(ev('provider.tool_call', { name: 'Bash', input: 'ls -la' }), T0)).toBe('[   1.5s] tool Bash: ls -la');
    expect(progressLine(ev('provider.tool_call', { name: 'Edit', input: { file: 'a.ts' } }), T0)).toBe('[   1.5s] tool Edit: {"file":"a.ts"}');
    expect(progressLine(ev('provider.tool_call', {}), T0)).toBe('[   1.5s] tool ?: ""');
  });

  it('provider.tool_result and provider.provider_retry', () => {
    expect(progressLine(ev('provider.tool_result', { content: 'ok\ndone' }), T0)).toBe('[   1.5s]   ↳ ok\n              done');
    expect(progressLine(ev('provider.tool_result', {}), T0)).toBe('[   1.5s]   ↳ (no output)');
    expect(progressLine(ev('provider.provider_retry', { attempt: 2 }), T0)).toBe('[   1.5s] provider retrying: {"attempt":2}');
  });

  it('session_recovery and worktree', () => {
    expect(progressLine(ev('session_recovery', { sessionKey: 'chat-1' }), T0)).toBe('[   1.5s] stale session for chat-1 — recovering');
    expect(progressLine(ev('worktree', { path: '/repo/.tetora/wt/t1' }), T0)).toBe('[   1.5s] worktree /repo/.tetora/wt/t1');
  });

  it('succeeded: cost to 4 decimals and tokens, with defaults', () => {
    expect(progressLine(ev('succeeded', { costUsd: 0.012345, tokensIn: 100, tokensOut: 20 }), T0)).toBe('[   1.5s] succeeded · $0.0123 · 100 in / 20 out tokens');
    expect(progressLine(ev('succeeded', {}), T0)).toBe('[   1.5s] succeeded · $0.0000 · 0 in / 0 out tokens');
  });

  it('failed, cancelled and timed out show the message', () => {
    expect(progressLine(ev('failed', { message: 'boom' }), T0)).toBe('[   1.5s] failed: boom');
    expect(progressLine(ev('cancelled', { message: 'by user' }), T0)).toBe('[   1.5s] cancelled: by user');
    expect(progressLine(ev('timed_out', { message: 'after 1h' }), T0)).toBe('[   1.5s] timed out: after 1h');
    expect(progressLine(ev('failed', {}), T0)).toBe('[   1.5s] failed: ');
  });

  it('events not worth a line give undefined', () => {
    for (const type of ['provider.usage', 'provider.stderr', 'provider.session', 'note', 'something_new']) {
      expect(progressLine(ev(type, { text: 'x' }), T0)).toBeUndefined();
    }
  });
});

function view(over: Partial<TaskView> = {}): TaskView {
  return {
    id: 'tsk_01',
    status: 'running',
    agent: 'coder',
    provider: 'claude',
    model: 'sonnet',
    source: 'cli',
    attempt: 1,
    maxAttempts: 3,
    costUsd: 0,
    tokensIn: 0,
    tokensOut: 0,
    createdAt: '2026-03-04T05:06:07.890Z',
    finishedAt: null,
    prompt: 'fix the bug',
    error: null,
    ...over,
  };
}

describe('taskLine', () => {
  it('id, padded status and agent, creation time to the second, prompt', () => {
    expect(taskLine(view())).toBe('tsk_01  running      coder        2026-03-04 05:06:07  fix the bug');
  });

  it('shows the provider when there is no agent, and "-" when neither', () => {
    expect(taskLine(view({ agent: null }))).toBe('tsk_01  running      claude       2026-03-04 05:06:07  fix the bug');
    expect(taskLine(view({ agent: null, provider: null }))).toBe('tsk_01  running      -            2026-03-04 05:06:07  fix the bug');
  });

  it('does not truncate long status or agent names; flattens and cuts the prompt to 60', () => {
    const line = taskLine(view({ status: 'rate_limited', agent: 'a-very-long-agent-name', prompt: `line1\n${'p'.repeat(100)}` }));
    expect(line).toBe(`tsk_01  rate_limited a-very-long-agent-name 2026-03-04 05:06:07  ${one(`line1 ${'p'.repeat(100)}`, 60)}`);
    expect(line.endsWith('…')).toBe(true);
    expect(line.split('  ').at(-1)).toHaveLength(60);
  });
});

describe('taskDetail', () => {
  it('renders the fields, runs, prompt and output', () => {
    const t = {
      ...view({ status: 'failed', error: { class: 'permanent', message: 'bad model' }, costUsd: 0.5, tokensIn: 10, tokensOut: 5, finishedAt: '2026-03-04T05:07:00.000Z', output: 'partial\nanswer' }),
      attempts: [
        { run: 1, attempt: 1, outcome: 'transient', message: 'net\ndown', startedAt: '2026-03-04T05:06:08.000Z' },
        { run: 2, attempt: 2, outcome: null, message: null, startedAt: '2026-03-04T05:06:30.000Z' },
      ],
    };
    expect(taskDetail(t).split('\n')).toEqual([
      'task      tsk_01',
      'status    failed — bad model',
      'agent     coder  provider claude  model sonnet',
      'source    cli   attempt 1/3',
      'cost      $0.5000  tokens 10 in / 5 out',
      'created   2026-03-04T05:06:07.890Z   finished 2026-03-04T05:07:00.000Z',
      'runs',
      '  #1 attempt 1 2026-03-04T05:06:08.000Z transient: net down',
      '  #2 attempt 2 2026-03-04T05:06:30.000Z running',
      'prompt',
      '  fix the bug',
      'output',
      '  partial',
      '  answer',
    ]);
  });

  it('omits runs, output and finished when absent; "-" for missing names', () => {
    expect(taskDetail({ ...view({ agent: null, provider: null, model: null }) }).split('\n')).toEqual([
      'task      tsk_01',
      'status    running',
      'agent     -  provider -  model -',
      'source    cli   attempt 1/3',
      'cost      $0.0000  tokens 0 in / 0 out',
      'created   2026-03-04T05:06:07.890Z',
      'prompt',
      '  fix the bug',
    ]);
  });
});

/** The `provider.<type>` events the adapter makes of a recorded fixture, as the CLI receives them. */
function fixtureEvents(provider: 'claude' | 'codex', name: string): EventView[] {
  const lines = readFileSync(join(repoRoot, 'test', 'fixtures', 'providers', provider, `${name}.stdout.jsonl`), 'utf8').split('\n').filter(Boolean);
  const toEvents = provider === 'claude' ? (e: Record<string, unknown>) => claudeEvents(e) : codexEvents;
  return lines.flatMap((l) => toEvents(JSON.parse(l) as Record<string, unknown>)).map((e) => ev(`provider.${e.type}`, e.data as Record<string, unknown>));
}

describe('tool results in progress lines', () => {
  it("shows the output of claude's Bash tool from the recorded stream (it was an empty line)", () => {
    const result = fixtureEvents('claude', 'tool-call').find((e) => e.type === 'provider.tool_result');
    expect(result).toBeDefined();
    expect(progressLine(result as EventView, T0)).toBe('[   1.5s]   ↳ hi');
  });

  it("shows the output of codex's command from the recorded stream", () => {
    const result = fixtureEvents('codex', 'tool-call').find((e) => e.type === 'provider.tool_result');
    expect(progressLine(result as EventView, T0)).toBe('[   1.5s]   ↳ hi');
  });

  it('takes the text of content blocks (an array, or the JSON of one), and names other blocks', () => {
    const userLine = { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', is_error: false, content: [{ type: 'text', text: 'first\nsecond' }, { type: 'image', source: {} }] }] } };
    const [fromClaude] = claudeEvents(userLine);
    expect(toolResultText(fromClaude?.data as Record<string, unknown>)).toBe('first\nsecond\n[image]');
    expect(toolResultText({ content: [{ type: 'text', text: 'a' }] })).toBe('a');
    expect(toolResultText({ output: { content: [{ type: 'text', text: 'from mcp' }], structured_content: null } })).toBe('from mcp');
    expect(toolResultText({ output: '[1, 2]' })).toBe('[1, 2]'); // JSON that is not blocks stays as it is
    expect(toolResultText({ output: '[{"a": 1}]' })).toBe('[{"a": 1}]');
    expect(toolResultText({ name: 'file_change', changes: [{ path: 'src/a.ts', kind: 'update' }, { path: 'b.md', kind: 'add' }] })).toBe('changed 2 file(s): update src/a.ts, add b.md');
  });

  it('shows the first three non-blank lines, each shortened, then how many more; errors and exit codes first', () => {
    const output = ['', 'line 1', 'x'.repeat(500), '', 'line 3', 'line 4', 'line 5'].join('\n');
    const lines = (progressLine(ev('provider.tool_result', { output, isError: true, exitCode: 2 }), T0) as string).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('[   1.5s]   ↳ (error, exit 2) line 1');
    expect(lines[1]).toBe(`              ${'x'.repeat(159)}…`);
    expect(lines[2]).toBe('              line 3');
    expect(lines[3]).toBe('              … 2 more line(s)');
    expect(progressLine(ev('provider.tool_result', { output: '', exitCode: 0 }), T0)).toBe('[   1.5s]   ↳ (no output)');
  });
});
