import { describe, expect, it } from 'vitest';
import { dailyBudgetProblem } from '../../src/engine/budget.js';

const NOW = Date.UTC(2026, 10, 25, 15, 30);
const MIDNIGHT = Date.UTC(2026, 10, 25);
const agents = { coder: { name: 'coder', dailyBudget: 2 }, writer: { name: 'writer' } } as never;

function spent(byAgent: Record<string, number>) {
  const calls: Array<[number, string | undefined]> = [];
  const fn = (since: number, agent?: string) => {
    calls.push([since, agent]);
    return agent ? (byAgent[agent] ?? 0) : Object.values(byAgent).reduce((a, b) => a + b, 0);
  };
  return { fn, calls };
}

describe('dailyBudgetProblem', () => {
  it('is undefined with no budgets, or with budget left, and counts from midnight UTC', () => {
    const s = spent({ coder: 1.5 });
    expect(dailyBudgetProblem({ agents, dailyBudget: undefined }, 'writer', NOW, s.fn)).toBeUndefined();
    expect(dailyBudgetProblem({ agents, dailyBudget: 10 }, 'coder', NOW, s.fn)).toBeUndefined();
    expect(s.calls).toEqual([
      [MIDNIGHT, undefined],
      [MIDNIGHT, 'coder'],
    ]);
  });

  it("names the agent's budget, the amounts and the field to raise once it is spent", () => {
    expect(dailyBudgetProblem({ agents, dailyBudget: undefined }, 'coder', NOW, spent({ coder: 2 }).fn)).toBe(
      'daily budget exhausted: agent "coder" spent $2.0000 of $2.0000 today (UTC); raise agents.coder.dailyBudget in the config or retry after midnight UTC',
    );
    // Another agent is not held back by coder's budget.
    expect(dailyBudgetProblem({ agents, dailyBudget: undefined }, 'writer', NOW, spent({ coder: 5 }).fn)).toBeUndefined();
  });

  it('the global budget counts every agent and comes first; 0 means no budget', () => {
    expect(dailyBudgetProblem({ agents, dailyBudget: 3 }, 'writer', NOW, spent({ coder: 2.5, writer: 0.5 }).fn)).toMatch(/^daily budget exhausted: all agents spent \$3\.0000 of \$3\.0000 today \(UTC\); raise dailyBudget /);
    expect(dailyBudgetProblem({ agents, dailyBudget: 0 }, 'writer', NOW, spent({ writer: 100 }).fn)).toBeUndefined();
  });
});
