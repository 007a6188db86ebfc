import { describe, expect, it } from 'vitest';
import { composeResult, matchBrace, parseDelegations, planDelegation, refusalNote } from '../../src/agents/delegate.js';

const block = (inner: Record<string, unknown>) => JSON.stringify({ _delegate: inner });
const limits = { maxChildrenPerTask: 3, maxDepth: 2 };
const known = (n: string) => ['a', 'b', 'c', 'd'].includes(n);

describe('parseDelegations', () => {
  it('finds blocks in prose and inside code fences, in order, with agent, task and reason', () => {
    const out = `Plan.\n${block({ agent: 'a', task: 'one', reason: 'r1' })}\nthen\n\`\`\`json\n${block({ agent: 'b', task: 'two' })}\n\`\`\`\ndone`;
    const blocks = parseDelegations(out);
    expect(blocks.map((b) => [b.agent, b.task, b.reason])).toEqual([
      ['a', 'one', 'r1'],
      ['b', 'two', undefined],
    ]);
    expect(blocks[0]!.index).toBe(out.indexOf('{"_delegate"'));
  });

  it('accepts role for agent, and spaces and newlines inside the block', () => {
    const out = '{ \n "_delegate" : {\n  "role": "c",\n  "task": "x"\n }\n}';
    expect(parseDelegations(out)).toEqual([{ index: 0, agent: 'c', task: 'x' }]);
  });

  it('matches nested braces and braces inside strings, with escaped quotes and backslashes', () => {
    const task = 'fix `if (a) { b("}") }` and say "done" \\ {not a brace}';
    const out = `pre ${block({ agent: 'a', task, meta: { deep: { deeper: [1, { x: '}' }] } } })} post {"_delegate": {"agent":"b","task":"t2"}}`;
    const blocks = parseDelegations(out);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]!.task).toBe(task);
    expect(blocks[1]!.agent).toBe('b');
  });

  it('skips what does not close or does not parse, and finds a later block', () => {
    const out = '{"_delegate": {"agent": "a", "task": "never closed" \n and {"_delegate": {"agent":"b","task":"t",}} bad comma {"_delegate": {"agent":"c","task":"ok"}}';
    expect(parseDelegations(out).map((b) => b.agent)).toEqual(['c']);
  });

  it('keeps a block whose _delegate has no agent or task (planDelegation refuses it) and never reads a block inside a block twice', () => {
    const inner = block({ agent: 'b', task: 'inner' });
    const out = `{"_delegate": {"agent": "a", "task": ${JSON.stringify(inner)}}} {"_delegate": {"task": "no agent"}} {"_delegate": "text"}`;
    const blocks = parseDelegations(out);
    expect(blocks.map((b) => [b.agent, b.task])).toEqual([
      ['a', inner],
      [undefined, 'no agent'],
      [undefined, undefined],
    ]);
  });

  it('ignores an escaped block inside a JSON string of the output and objects whose first key is not _delegate', () => {
    const out = `{"log": ${JSON.stringify(block({ agent: 'a', task: 't' }))}} {"x": 1, "_delegate": {"agent": "a", "task": "t"}}`;
    expect(parseDelegations(out)).toEqual([]);
  });

  it('matchBrace is string-aware and says -1 for an unclosed object', () => {
    expect(matchBrace('{"a": "}"} tail', 0)).toBe(10);
    expect(matchBrace('{"a": "\\"}"}', 0)).toBe(12);
    expect(matchBrace('{"a": {', 0)).toBe(-1);
  });
});

describe('planDelegation', () => {
  const blocks = (n: number, agent = 'a') => Array.from({ length: n }, (_, i) => ({ index: i, agent, task: `t${i}` }));

  it('accepts up to maxChildrenPerTask blocks in order and refuses the rest with a note', () => {
    const p = planDelegation(blocks(4), 0, limits, known);
    expect(p.accepted.map((c) => [c.task, c.ord])).toEqual([
      ['t0', 0],
      ['t1', 1],
      ['t2', 2],
    ]);
    expect(p.refused).toEqual([{ agent: 'a', why: 'over agentComm.maxChildrenPerTask (3) for one output' }]);
  });

  it('refuses every block of a task at maxDepth (top level is depth 0: depth 1 may still delegate with maxDepth 2)', () => {
    expect(planDelegation(blocks(1), 1, limits, known).accepted).toHaveLength(1);
    const p = planDelegation(blocks(2), 2, limits, known);
    expect(p.accepted).toEqual([]);
    expect(p.refused[0]!.why).toContain('depth 2 and agentComm.maxDepth is 2');
    expect(planDelegation(blocks(1), 0, { maxChildrenPerTask: 3, maxDepth: 0 }, known).accepted).toEqual([]);
  });

  it('refuses unknown agents and blocks without agent or task; they do not count against the cap', () => {
    const p = planDelegation(
      [
        { index: 0, agent: 'ghost', task: 'x' },
        { index: 1, task: 'x' },
        { index: 2, agent: 'a' },
        ...blocks(3, 'b'),
      ],
      0,
      limits,
      known,
    );
    expect(p.accepted.map((c) => c.agent)).toEqual(['b', 'b', 'b']);
    expect(p.refused.map((r) => r.why)).toEqual(['agent "ghost" is not in the config', 'the block names no agent ("agent" or "role")', 'the block has no "task"']);
  });
});

describe('composeResult', () => {
  it('appends each child output whole under [Delegated to X], failures as status and error, then the notes', () => {
    const big = '漢字🎉{"x"}\n'.repeat(10_000);
    const text = composeResult(
      'own',
      [
        { agent: 'a', status: 'succeeded', output: big },
        { agent: 'b', status: 'failed', error: 'exit 3' },
        { agent: 'c', status: 'cancelled', error: 'cancelled by api' },
      ],
      [refusalNote({ agent: 'd', why: 'over the cap' })],
    );
    expect(text).toBe(`own\n---\n[Delegated to a]\n${big}\n---\n[Delegated to b]\n(failed: exit 3)\n---\n[Delegated to c]\n(cancelled: cancelled by api)\n---\n[Delegation to d refused]\nover the cap`);
  });
});
