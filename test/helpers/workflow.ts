import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DaemonHarness } from './daemon.js';
import { Harness } from './engine-harness.js';

export const WF_AGENT = resolve(import.meta.dirname, 'wf-agent.mjs');

/** Config for a daemon whose agents `a` and `b` run wf-agent.mjs (see there) through the `command` provider. */
export function workflowConfig(home: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: {
      fake: { type: 'command', path: process.execPath, args: [WF_AGENT], env: { WF_LOG: join(home, 'wf-log.jsonl'), WF_STATE: join(home, 'wf-state') } },
    },
    agents: { a: { provider: 'fake' }, b: { provider: 'fake' } },
    ...extra,
  };
}

/**
 * A daemon (tracked by `pool`, killed after the test) whose agents run wf-agent.mjs, with one engine
 * attempt per task (a failure is the step's to retry), started.
 */
export async function workflowDaemon(pool: { track(d: DaemonHarness): DaemonHarness }, extra: Record<string, unknown> = {}): Promise<DaemonHarness> {
  const d = pool.track(await DaemonHarness.create({}));
  const current = JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
  d.writeConfig({ ...current, retry: { base: 20, cap: 200, maxAttempts: 1 }, ...workflowConfig(d.home, extra) });
  await d.start();
  return d;
}

/** A home for an in-process engine and runner (see engine-harness.ts) holding the given workflow definitions. */
export function workflowHome(...defs: Array<Record<string, unknown>>): Harness {
  const h = new Harness();
  h.writeConfig({ ...(JSON.parse(readFileSync(h.configPath, 'utf8')) as Record<string, unknown>), ...workflowConfig(h.home) });
  mkdirSync(join(h.home, 'workflows'));
  for (const def of defs) writeFileSync(join(h.home, 'workflows', `${String(def.name)}.json`), JSON.stringify(def));
  return h;
}

export interface RunJson {
  id: string;
  workflow: string;
  status: string;
  error: string | null;
  resumedFrom: string | null;
  resumedAs: string | null;
  totalCostUsd: number;
  steps: Array<{ id: string; parent: string | null; dependsOn: string[]; type: string; status: string; attempt: number; taskId: string | null; output: string | null; outputFile: string | null; error: string | null; note: string | null; carried: boolean; agent: string | null }>;
}

export function writeWorkflow(d: DaemonHarness, def: Record<string, unknown>, file = `${String(def.name)}.json`): void {
  mkdirSync(join(d.home, 'workflows'), { recursive: true });
  writeFileSync(join(d.home, 'workflows', file), JSON.stringify(def, null, 2));
}

export async function startRun(d: DaemonHarness, name: string, variables: Record<string, unknown> = {}): Promise<string> {
  const r = await d.json<{ runId: string }>(`/api/workflows/${name}/run`, { method: 'POST', body: JSON.stringify({ variables }) });
  if (r.status !== 202) throw new Error(`run refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.runId;
}

export async function getRun(d: DaemonHarness, id: string): Promise<RunJson> {
  return (await d.json<RunJson>(`/api/workflow-runs/${id}`)).body;
}

const ENDED = new Set(['success', 'error', 'cancelled', 'timeout', 'resumed']);

/** Polls until the run ended (or `until` holds); fails after the deadline. */
export async function waitRun(d: DaemonHarness, id: string, until: (r: RunJson) => boolean = (r) => ENDED.has(r.status), deadlineMs = 45_000): Promise<RunJson> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const r = await getRun(d, id).catch(() => undefined);
    if (r && until(r)) return r;
    if (Date.now() > end) throw new Error(`run ${id} not there within ${deadlineMs} ms: ${JSON.stringify(r && { status: r.status, steps: r.steps.map((s) => `${s.id}=${s.status}`) })}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export const step = (r: RunJson, id: string) => {
  const s = r.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id} in run ${r.id}`);
  return s;
};

/** The agent starts logged so far, as step ids (in order). */
export function agentStarts(d: DaemonHarness): string[] {
  let text = '';
  try {
    text = readFileSync(join(d.home, 'wf-log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; step: string | null })
    .filter((e) => e.event === 'start')
    .map((e) => String(e.step));
}
