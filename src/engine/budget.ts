import type { ResolvedConfig } from '../config/types.js';

/**
 * The global and per-agent daily budgets (USD, since 00:00 UTC). Returns why new work for `agentName`
 * is refused — how much was spent of what, and what to do — or undefined when there is budget left.
 * `spentSince(since, agent?)` sums the cost of tasks (of one agent, or all) since `since`.
 */
export function dailyBudgetProblem(
  cfg: Pick<ResolvedConfig, 'dailyBudget' | 'agents'>,
  agentName: string | null | undefined,
  now: number,
  spentSince: (since: number, agent?: string) => number,
): string | undefined {
  const since = new Date(now).setUTCHours(0, 0, 0, 0);
  const over = (limit: number | undefined, agent: string | undefined, what: string, field: string): string | undefined => {
    if (limit === undefined || limit <= 0) return undefined;
    const spent = spentSince(since, agent);
    return spent >= limit
      ? `daily budget exhausted: ${what} spent $${spent.toFixed(4)} of $${limit.toFixed(4)} today (UTC); raise ${field} in the config or retry after midnight UTC`
      : undefined;
  };
  const agent = agentName ? cfg.agents[agentName] : undefined;
  return (
    over(cfg.dailyBudget, undefined, 'all agents', 'dailyBudget') ??
    (agent ? over(agent.dailyBudget, agent.name, `agent "${agent.name}"`, `agents.${agent.name}.dailyBudget`) : undefined)
  );
}
