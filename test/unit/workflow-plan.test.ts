import { describe, expect, it } from 'vitest';
import type { StepRow } from '../../src/store/workflows.js';
import { carriedSteps, dependantsOf, finalStatus, retriesOf, runVariables } from '../../src/workflows/plan.js';
import { runnerEvent } from '../../src/workflows/runner.js';
import type { StepDef, WorkflowDef } from '../../src/workflows/types.js';
import { shortDuration, stepLine, stepTable, type RunView } from '../../src/workflows/view.js';

const s = (id: string, dependsOn: string[] = [], more: Partial<StepDef> = {}): StepDef => ({ id, type: 'dispatch', dependsOn, ...more });
const def = (steps: StepDef[], variables: Record<string, string> = {}): WorkflowDef => ({ name: 'w', variables, steps });
const row = (stepId: string, status: StepRow['status'], more: Partial<StepRow> = {}): StepRow => ({
  runId: 'r',
  stepId,
  parentId: null,
  ord: 0,
  type: 'dispatch',
  status,
  attempt: 1,
  taskId: null,
  output: null,
  outputFile: null,
  error: null,
  note: null,
  skipBranch: 0,
  notBefore: null,
  decision: null,
  decidedBy: null,
  decidedAt: null,
  costUsd: 0,
  carried: 0,
  startedAt: null,
  endedAt: null,
  updatedAt: 0,
  ...more,
});

describe('workflow plan (pure)', () => {
  const chain = def([s('a'), s('b', ['a']), s('c', ['b']), s('side', ['a']), s('par', ['c'], { type: 'parallel', parallel: [s('p1'), s('p2')] }), s('end', ['par'])]);

  it('dependantsOf follows dependsOn transitively, and parallel steps with their sub-steps', () => {
    expect([...dependantsOf(chain, ['b'])].sort()).toEqual(['b', 'c', 'end', 'p1', 'p2', 'par']);
    expect([...dependantsOf(chain, ['p2'])].sort()).toEqual(['end', 'p1', 'p2', 'par']);
    expect([...dependantsOf(chain, ['side'])]).toEqual(['side']);
  });

  it('carriedSteps keeps what succeeded or was skipped by a branch or onError, never what a stop skipped or what depends on a re-run', () => {
    const rows = [row('a', 'success'), row('b', 'success'), row('c', 'error'), row('side', 'skipped', { skipBranch: 1 }), row('par', 'skipped', { skipBranch: 2 }), row('p1', 'skipped', { skipBranch: 2 }), row('p2', 'skipped', { skipBranch: 2 }), row('end', 'skipped', { skipBranch: 2 })];
    expect([...carriedSteps(chain, rows)].sort()).toEqual(['a', 'b', 'side']);
    expect([...carriedSteps(chain, rows, 'b')].sort()).toEqual(['a', 'side']);
    expect([...carriedSteps(chain, rows, 'a')]).toEqual([]);
    // A step the old run does not have (added to the definition since) runs.
    expect([...carriedSteps(chain, rows.filter((r) => r.stepId !== 'side'))].sort()).toEqual(['a', 'b']);
  });

  it('runVariables: defaults overridden by the given ones, as strings, reserved __ names dropped', () => {
    expect(runVariables(def([s('a')], { topic: 'go', n: '' }), { n: 3, topic: 'rust', __cb_key_a: 'x', obj: { a: 1 } })).toEqual({ topic: 'rust', n: '3', obj: '{"a":1}' });
  });

  it('retriesOf: retryMax, else one retry for onError "retry", else none', () => {
    expect(retriesOf(s('a', [], { retryMax: 3 }))).toBe(3);
    expect(retriesOf(s('a', [], { onError: 'retry' }))).toBe(1);
    expect(retriesOf(s('a', [], { onError: 'skip' }))).toBe(0);
    expect(retriesOf(s('a'))).toBe(0);
  });

  it('finalStatus: error when any step failed, timed out or was cancelled; skipped steps count as done', () => {
    expect(finalStatus([row('a', 'success'), row('b', 'skipped')])).toBe('success');
    expect(finalStatus([row('a', 'success'), row('b', 'timeout')])).toBe('error');
    expect(finalStatus([row('a', 'error')])).toBe('error');
  });

  it('runnerEvent maps run events to the subscribers\' event types', () => {
    const e = (type: string, data: Record<string, unknown>) => ({ seq: 1, runId: 'r', at: 0, type, data: { workflow: 'w', ...data } });
    expect(runnerEvent(e('workflow_started', {}))).toEqual({ type: 'workflow.started', runId: 'r', workflow: 'w', status: 'running' });
    expect(runnerEvent(e('workflow_completed', { status: 'success' }))?.type).toBe('workflow.completed');
    expect(runnerEvent(e('workflow_completed', { status: 'timeout' }))?.type).toBe('workflow.failed');
    expect(runnerEvent(e('workflow_completed', { status: 'cancelled' }))?.type).toBe('workflow.cancelled');
    expect(runnerEvent(e('step_completed', { step: 'a', status: 'skipped' }))).toEqual({ type: 'step.completed', runId: 'r', workflow: 'w', step: 'a', status: 'skipped' });
    expect(runnerEvent(e('human_gate_waiting', {}))).toBeUndefined();
  });

  it('the step table shows id, status, agent, duration and cost; sub-steps indented', () => {
    const run = {
      id: 'r1',
      workflow: 'w',
      status: 'running',
      error: null,
      totalCostUsd: 0.5,
      durationMs: null,
      steps: [
        { id: 'a', parent: null, status: 'success', agent: 'coder', durationMs: 1500, costUsd: 0.5, startedAt: null, endedAt: null, error: null },
        { id: 'p1', parent: 'par', status: 'pending', agent: null, durationMs: null, costUsd: 0, startedAt: null, endedAt: null, error: null },
      ],
    } as unknown as RunView;
    const lines = stepTable(run);
    expect(lines[0]).toBe('run r1  w  running');
    expect(lines[2]).toMatch(/^a\s+success\s+coder\s+1\.5s\s+\$0\.5000$/);
    expect(lines[3]).toMatch(/^ {2}p1\s+pending\s+-\s+-\s+\$0\.0000$/);
    expect(stepLine(run.steps![0]!)).toBe('a success agent=coder 1.5s $0.5000');
    expect(shortDuration(125_000)).toBe('2m05s');
  });
});
