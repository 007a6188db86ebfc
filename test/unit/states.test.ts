import { describe, expect, it } from 'vitest';
import { TetoraError } from '../../src/errors.js';
import {
  canTransition,
  checkTransition,
  isTerminal,
  taskStatuses,
  terminalStatuses,
  waitingStatuses,
  type TaskStatus,
} from '../../src/engine/states.js';

/** The expected state machine, written out independently of the implementation. */
const expectedLegal: Record<TaskStatus, TaskStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  routing: ['queued', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'timed_out', 'retry_wait', 'rate_limited', 'interrupted', 'queued', 'waiting'],
  retry_wait: ['queued', 'cancelled', 'failed'],
  rate_limited: ['queued', 'cancelled', 'failed'],
  interrupted: ['queued', 'failed', 'cancelled'],
  waiting: ['succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

const allStatuses: TaskStatus[] = ['queued', 'routing', 'running', 'waiting', 'retry_wait', 'rate_limited', 'interrupted', 'succeeded', 'failed', 'cancelled', 'timed_out'];

/** Every fact a target state could need: only the legality of the move decides. */
const fullFacts = { message: 'because', output: 'the answer', notBefore: 1_700_000_000_000 };

const pairs: Array<[TaskStatus, TaskStatus, boolean]> = allStatuses.flatMap((from) =>
  allStatuses.map((to): [TaskStatus, TaskStatus, boolean] => [from, to, expectedLegal[from].includes(to)]),
);

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('task statuses', () => {
  it('lists exactly the eleven statuses', () => {
    expect([...taskStatuses].sort()).toEqual([...allStatuses].sort());
  });

  it('knows which statuses are terminal and which are waiting', () => {
    expect([...terminalStatuses].sort()).toEqual(['cancelled', 'failed', 'succeeded', 'timed_out']);
    expect([...waitingStatuses].sort()).toEqual(['interrupted', 'queued', 'rate_limited', 'retry_wait', 'routing', 'waiting']);
    for (const s of allStatuses) expect(isTerminal(s)).toBe(['succeeded', 'failed', 'cancelled', 'timed_out'].includes(s));
  });

  it('has 121 pairs, 27 of them legal', () => {
    expect(pairs).toHaveLength(121);
    expect(pairs.filter(([, , ok]) => ok)).toHaveLength(27);
  });
});

describe('checkTransition over every pair', () => {
  it.each(pairs)('%s → %s legal=%s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
    const err = thrown(() => checkTransition('t-1', from, to, fullFacts));
    if (ok) {
      expect(err).toBeUndefined();
    } else {
      expect(err).toBeInstanceOf(TetoraError);
      const e = err as TetoraError;
      expect(e.code).toBe('TET_ERR_TASK_TRANSITION');
      expect(e.status).toBe(409);
      expect(e.details).toEqual({ taskId: 't-1', from, to });
      expect(e.message).toContain('t-1');
      expect(e.message).toContain(`cannot become ${to}`);
    }
  });

  it('says a terminal task already ended', () => {
    const e = thrown(() => checkTransition('abc', 'succeeded', 'running', fullFacts)) as TetoraError;
    expect(e.message).toBe('task abc cannot become running: it already ended as succeeded.');
  });

  it('names the illegal move of a live task', () => {
    const e = thrown(() => checkTransition('abc', 'queued', 'succeeded', fullFacts)) as TetoraError;
    expect(e.message).toBe('task abc cannot become succeeded: queued → succeeded is not a legal move.');
  });

  it('checks legality before facts (illegal move with no facts is a legality error)', () => {
    const e = thrown(() => checkTransition('abc', 'failed', 'cancelled')) as TetoraError;
    expect(e.message).toContain('it already ended as failed');
  });
});

describe('facts a state needs', () => {
  const needMessage: Array<[TaskStatus, TaskStatus]> = [
    ['running', 'failed'],
    ['running', 'cancelled'],
    ['running', 'timed_out'],
    ['queued', 'failed'],
    ['queued', 'cancelled'],
    ['retry_wait', 'failed'],
    ['retry_wait', 'cancelled'],
    ['rate_limited', 'failed'],
    ['rate_limited', 'cancelled'],
    ['interrupted', 'failed'],
    ['interrupted', 'cancelled'],
  ];

  it.each(needMessage)('%s → %s refuses a missing, null, empty or blank message', (from, to) => {
    for (const message of [undefined, null, '', '   ', '\n\t']) {
      const facts = message === undefined ? {} : { message };
      const e = thrown(() => checkTransition('t', from, to, facts)) as TetoraError;
      expect(e).toBeInstanceOf(TetoraError);
      expect(e.code).toBe('TET_ERR_TASK_TRANSITION');
      expect(e.message).toBe(`task t cannot become ${to} without a message saying why.`);
    }
    expect(() => checkTransition('t', from, to, { message: 'x' })).not.toThrow();
  });

  it('refuses succeeded with missing, null, empty or whitespace-only output', () => {
    for (const output of [undefined, null, '', '  ', '\n\n\t ']) {
      const facts = output === undefined ? {} : { output };
      const e = thrown(() => checkTransition('t', 'running', 'succeeded', facts)) as TetoraError;
      expect(e).toBeInstanceOf(TetoraError);
      expect(e.code).toBe('TET_ERR_TASK_TRANSITION');
      expect(e.message).toBe('task t cannot succeed with empty output.');
    }
  });

  it('accepts succeeded with any non-blank output and no message', () => {
    expect(() => checkTransition('t', 'running', 'succeeded', { output: ' x ' })).not.toThrow();
  });

  it.each([
    ['retry_wait'],
    ['rate_limited'],
  ] as Array<[TaskStatus]>)('running → %s needs a numeric notBefore', (to) => {
    for (const notBefore of [undefined, null]) {
      const facts = notBefore === undefined ? {} : { notBefore };
      const e = thrown(() => checkTransition('t', 'running', to, facts)) as TetoraError;
      expect(e).toBeInstanceOf(TetoraError);
      expect(e.message).toBe(`task t cannot become ${to} without a time to wake.`);
    }
    expect(() => checkTransition('t', 'running', to, { notBefore: 0 })).not.toThrow();
    expect(() => checkTransition('t', 'running', to, { notBefore: 1234 })).not.toThrow();
  });

  it('needs no facts for moves into queued, running or interrupted', () => {
    expect(() => checkTransition('t', 'queued', 'running')).not.toThrow();
    expect(() => checkTransition('t', 'running', 'queued')).not.toThrow();
    expect(() => checkTransition('t', 'running', 'interrupted')).not.toThrow();
    expect(() => checkTransition('t', 'retry_wait', 'queued')).not.toThrow();
    expect(() => checkTransition('t', 'rate_limited', 'queued')).not.toThrow();
    expect(() => checkTransition('t', 'interrupted', 'queued')).not.toThrow();
  });
});
