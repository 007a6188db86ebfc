import type { ResolvedConfig } from '../config/types.js';

/**
 * Why a queued task cannot start under this config — its agent or its provider was removed (a reload) —
 * or undefined when it can. Such a task waits in the queue (it is not failed: the user may add the agent
 * back and reload, or cancel the task). Pure.
 */
export function waitingReason(task: { agent: string | null; provider: string | null }, cfg: Pick<ResolvedConfig, 'agents' | 'providers' | 'configPath'>): string | undefined {
  if (task.agent && !Object.hasOwn(cfg.agents, task.agent)) {
    return `agent "${task.agent}" is not in the config (${cfg.configPath}); the task waits until it is added back (then reload with SIGHUP) or the task is cancelled`;
  }
  if (task.provider && !Object.hasOwn(cfg.providers, task.provider)) {
    return `provider "${task.provider}" is not in the config (${cfg.configPath}); the task waits until it is added back (then reload with SIGHUP) or the task is cancelled`;
  }
  return undefined;
}

/** The agents and providers named by queued tasks that this config lacks: the scheduler skips their tasks. */
export function missingNames(queued: { agents: string[]; providers: string[] }, cfg: Pick<ResolvedConfig, 'agents' | 'providers'>): { agents: string[]; providers: string[] } {
  return {
    agents: queued.agents.filter((a) => !Object.hasOwn(cfg.agents, a)),
    providers: queued.providers.filter((p) => !Object.hasOwn(cfg.providers, p)),
  };
}
