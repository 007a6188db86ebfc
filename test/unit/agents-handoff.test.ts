import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handoffPrompt, handoffSources, withHandoffContext } from '../../src/agents/handoff.js';
import { linkLines, progressLine } from '../../src/cli/format.js';
import type { TaskRow } from '../../src/store/tasks.js';
import { thrown } from '../helpers/config.js';

const row = (over: Partial<TaskRow>): TaskRow => ({ id: 'src', status: 'succeeded', output: 'the finding', outputFile: null, errorMessage: null, ...over }) as TaskRow;

describe('handoff requests', () => {
  it('reads handoffFrom of each request and refuses one that is not a non-empty string, naming it', () => {
    expect(handoffSources([{ prompt: 'x' }, { prompt: 'y', handoffFrom: 'abc' }])).toEqual([undefined, 'abc']);
    const err = thrown(() => handoffSources([{ prompt: 'x' }, { prompt: 'y', handoffFrom: 7 }]));
    expect(err.code).toBe('TET_ERR_TASK_INVALID');
    expect(err.message).toContain('tasks[1].handoffFrom');
    expect(thrown(() => handoffSources([{ prompt: 'x', handoffFrom: ' ' }])).message).toContain('handoffFrom');
  });

  it('makes the prompt from the whole output of the source (also when it is kept in a file) and the instruction', () => {
    expect(withHandoffContext({ prompt: 'Review', agent: 'b', handoffFrom: 'src' }, 'src', row({}))).toEqual({ prompt: handoffPrompt('the finding', 'Review'), agent: 'b', handoffFrom: 'src' });
    const dir = mkdtempSync(join(tmpdir(), 'tetora-handoff-'));
    const whole = '漢字🎉 '.repeat(50_000);
    writeFileSync(join(dir, 'stdout'), whole);
    const r = withHandoffContext({ prompt: 'Go' }, 'src', row({ output: 'head only', outputFile: join(dir, 'stdout') }));
    expect(r.prompt).toBe(`[Handoff Context]\n${whole}\n\n[Instruction]\nGo`);
  });

  it('refuses a missing source, one that has not succeeded, and an empty instruction, each naming the task', () => {
    const missing = thrown(() => withHandoffContext({ prompt: 'x' }, 'nope', undefined));
    expect(missing.code).toBe('TET_ERR_HANDOFF_SOURCE_NOT_FOUND');
    expect(missing.message).toContain('no task has id nope');
    const failed = thrown(() => withHandoffContext({ prompt: 'x' }, 'src', row({ status: 'failed', errorMessage: 'exit 3' }), 2));
    expect(failed.code).toBe('TET_ERR_HANDOFF_SOURCE_NOT_SUCCEEDED');
    expect(failed.message).toContain('tasks[2].handoffFrom: task src is failed (exit 3)');
    expect(thrown(() => withHandoffContext({ prompt: 'x' }, 'src', row({ status: 'waiting' }))).message).toContain('Wait until it succeeds');
    expect(thrown(() => withHandoffContext({ prompt: '' }, 'src', row({}))).code).toBe('TET_ERR_TASK_INVALID');
  });
});

describe('the links section of task show', () => {
  it('lists parent, children, handoffs and classifiers; nothing when there are none', () => {
    expect(linkLines(undefined)).toEqual([]);
    expect(linkLines({ parent: null, children: [], handoffsFrom: [], handoffsTo: [], route: [] })).toEqual([]);
    expect(
      linkLines({
        parent: { id: 'p', agent: 'a', status: 'waiting', kind: 'delegate', reason: 'why' },
        children: [{ id: 'c1', agent: 'b', status: 'running', reason: null }],
        handoffsFrom: [{ id: 'h', agent: null, status: 'succeeded' }],
        handoffsTo: [],
        route: [{ id: 'r', agent: 'lead', status: 'succeeded' }],
      }),
    ).toEqual(['parent    p  a  waiting  — why  (delegate)', 'children (delegated)', '  c1  b  running', 'handoff from', '  h  -  succeeded', 'routing classifiers', '  r  lead  succeeded']);
  });
});

describe('progress lines of delegation', () => {
  it('says what a parent waits for and whom it delegated to', () => {
    const at = '2026-01-01T00:00:01.000Z';
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    expect(progressLine({ seq: 1, taskId: 'p', at, type: 'waiting', data: { delegation: { children: 2, refused: [{ agent: 'x', why: 'y' }] } } }, t0)).toBe('[   1.0s] waiting for 2 delegated task(s); 1 _delegate block(s) refused');
    expect(progressLine({ seq: 2, taskId: 'p', at, type: 'delegated', data: { children: [{ id: 'c1', agent: 'b', ord: 0 }] } }, t0)).toBe('[   1.0s] delegated to b (c1)');
  });
});
