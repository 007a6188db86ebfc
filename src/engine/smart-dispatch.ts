import { randomUUID } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.js';
import { messageOf, TetoraError } from '../errors.js';
import { classifierPrompt, parseClassifierAnswer, type ClassifierAnswer } from '../routing/classifier.js';
import { testPattern } from '../routing/regex.js';
import { decideByTiers, type RouteRecord, type TierDecision } from '../routing/tiers.js';
import type { RouteStore } from '../store/routing.js';
import type { TaskRow } from '../store/tasks.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';
import { fullOutput } from './output.js';
import { buildTask, taskRequestSchema, type EnqueueContext, type Routing, type TaskOptions } from './request.js';
import { isTerminal } from './states.js';

export interface SmartDispatchDeps {
  ledger: Ledger;
  /** Which agent a chat session is with (sticky sessions). */
  routes: RouteStore;
  config(): ResolvedConfig;
  now(): number;
  log: Logger;
  /** Wakes the scheduler: a task was queued (a classifier, or a routed task). */
  poke(): void;
}

function parseJson(text: string | null): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text ?? '{}');
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** What a classifier task's end says: its parsed answer, or why there is none (it failed, timed out, …). */
function classifierAnswer(task: TaskRow, agents: string[]): ClassifierAnswer {
  if (task.status !== 'succeeded') {
    const how = task.status === 'timed_out' ? 'timed out' : task.errorClass === 'budget' ? 'ran out of budget' : task.status;
    return { ok: false, problem: `the classifier task ${task.id} ${how}: ${task.errorMessage ?? 'no message'}` };
  }
  let output: string;
  try {
    output = fullOutput(task);
  } catch (err) {
    return { ok: false, problem: messageOf(err) };
  }
  return parseClassifierAnswer(output, agents);
}

/**
 * Smart dispatch inside the engine (the pure part is src/routing/; see "Smart dispatch" in
 * docs/ARCHITECTURE.md):
 * - `routingOf(…)`: at accept, the tiers' routing of a request, handed to `buildTask`.
 * - `classify(task)`: inside the accept transaction of a task left to the model (`routing`), its first
 *   classifier task and their `route` link.
 * - `onTerminal(row)`: a terminal hook. A classifier's end routes the task it classified, in the
 *   classifier's terminal transaction.
 * - `route(…)` / `routed(…)`: `tetora route` / `POST /api/route` (`run: true` waits with `routed`).
 */
export class SmartDispatch {
  constructor(private readonly d: SmartDispatchDeps) {}

  /**
   * Smart dispatch at accept (see src/routing/tiers.ts): with `smartDispatch.enabled`, a request without
   * an agent is routed by the tiers (its agent and `route` set now) or left to a classifier (`pending`);
   * a request whose agent differs from its chat session's starts a new session. Undefined: today's
   * behaviour (the request's agent, or `defaultAgent`). A request the schema refuses is left to buildTask.
   */
  routingOf(input: unknown, ctx: EnqueueContext): Routing | undefined {
    const d = this.decision(input, ctx);
    if (!d) return undefined;
    if (d.kind === 'classify') return { pending: true };
    const { route } = d;
    // An explicit agent is no route, unless it leaves the chat's agent: then the route says a new session starts.
    if (route.method === 'explicit') return route.newSession ? { route, freshSession: route.reason } : undefined;
    const out: Routing = { agent: route.agent, route };
    if (route.newSession) out.freshSession = route.reason;
    return out;
  }

  /** The tiers' decision for a request (undefined when smart dispatch is off or the request is invalid). Runs no model. */
  decision(input: unknown, ctx: Pick<EnqueueContext, 'source' | 'routeHints'>): TierDecision | undefined {
    const cfg = this.d.config();
    const sd = cfg.smartDispatch;
    if (!sd?.enabled) return undefined;
    const p = taskRequestSchema.safeParse(input);
    if (!p.success) return undefined;
    const r = p.data;
    const key = r.sessionKey ?? r.sessionId;
    const agent = key ? this.d.routes.sessionAgent(key) : undefined;
    return decideByTiers(
      { prompt: r.prompt, source: ctx.source, hints: ctx.routeHints, explicitAgent: r.agent, session: key && agent ? { key, agent } : undefined },
      sd,
      cfg.agents,
      testPattern,
    );
  }

  /** A task smart dispatch leaves to the model (just accepted, `routing`): its first classifier and their link, in the transaction in progress. */
  classify(task: TaskRow): TaskRow {
    return this.#startClassifier(task, 1);
  }

  /**
   * Enqueue a classifier task (source `route`, agent = the coordinator, under classifyBudget and
   * classifyTimeout, one attempt, no worktree, no session) for `parent` — its first (stage 1) or the
   * escalation on low confidence (stage 2, escalateModel) — and the `route` link, in the transaction in
   * progress. `parent` undefined: a classification for `tetora route` alone (no task is routed by it).
   */
  #startClassifier(parent: TaskRow | undefined, stage: 1 | 2, prompt?: string, first?: ClassifierAnswer, key?: string): TaskRow {
    const cfg = this.d.config();
    const sd = cfg.smartDispatch;
    if (!sd) throw new TetoraError('TET_ERR_ROUTE_DISABLED', 'smart dispatch is not configured (smartDispatch in config.json); name an agent, or configure smartDispatch and reload.');
    const req: Record<string, unknown> = {
      prompt: classifierPrompt(cfg.agents, parent?.prompt ?? prompt ?? '', stage === 2),
      agent: sd.coordinator,
      budget: sd.classifyBudget,
      timeout: sd.classifyTimeoutMs,
      maxAttempts: 1,
      worktree: false,
      priority: parent?.priority ?? 0,
      name: stage === 1 ? 'route: classify' : 'route: classify again (escalated)',
    };
    const model = stage === 2 ? (sd.escalateModel ?? sd.classifyModel) : sd.classifyModel;
    if (model) req.model = model;
    if (parent) req.idempotencyKey = `route:${parent.id}:${stage}`;
    else if (key) req.idempotencyKey = `${key}:${stage}`;
    const origin: Record<string, unknown> = { routeFor: parent?.id ?? null, stage };
    if (first?.ok) origin.first = { agent: first.agent, confidence: first.confidence, reason: first.reason };
    const now = this.d.now();
    const ctx: EnqueueContext = { source: 'route', origin };
    if (parent) ctx.parentId = parent.id;
    const { task } = this.d.ledger.accept(buildTask(req, ctx, cfg, now));
    if (parent) this.d.ledger.store.addLink({ fromTask: parent.id, toTask: task.id, kind: 'route', ord: stage - 1, reason: stage === 1 ? 'classify' : `escalate: ${first?.ok ? first.reason : 'low confidence'}` }, now);
    return task;
  }

  /**
   * A task ended: if it is the classifier of a task still `routing`, route that task now, in this same
   * terminal transaction — `routing → queued` for the agent chosen (provider, model, permission mode,
   * timeout, budget and workdir derived for it, what the request set itself first), or one escalation
   * classifier on low confidence, or the default agent with confidence low when the answer is unusable or
   * the classifier failed, timed out or ran out of budget. A routing step that cannot be made fails the
   * routed task with the reason; it never rolls the classifier's own end back.
   */
  onTerminal(task: TaskRow): void {
    if (task.source !== 'route' || !task.parentId) return;
    const { ledger } = this.d;
    const parent = ledger.store.get(task.parentId);
    if (!parent || parent.status !== 'routing') return;
    try {
      ledger.savepoint(() => this.#routeFromClassifier(task, parent));
    } catch (err) {
      this.d.log.error({ taskId: parent.id, classifier: task.id, err: messageOf(err) }, 'smart dispatch: routing after the classifier failed');
      ledger.savepoint(() =>
        ledger.move(parent, 'routing', 'failed', { errorClass: 'routing', errorMessage: `smart dispatch could not route this task after its classifier ${task.id} ended: ${messageOf(err)}` }, { classifier: task.id }),
      );
    }
  }

  #routeFromClassifier(task: TaskRow, parent: TaskRow): void {
    const next = this.#afterClassifier(task);
    let route: RouteRecord;
    if ('escalate' in next) {
      try {
        this.d.ledger.savepoint(() => this.#startClassifier(parent, 2, undefined, next.escalate));
        return; // the escalation decides
      } catch (err) {
        const a = next.escalate;
        route = { agent: a.agent, method: 'llm', confidence: 'low', reason: `${a.reason} (low confidence; asking again failed: ${messageOf(err)})` };
      }
    } else route = next.route;
    route.classifierTasks = this.d.ledger.store.links(parent.id).from.filter((l) => l.kind === 'route').map((l) => l.toTask);
    this.#finishRouting(parent, route);
  }

  /**
   * What a classifier's end decides: the route, or (a first classifier, low confidence) to ask once more.
   * Bad JSON, an unknown agent, a failure, a timeout or a spent budget: the default agent, confidence low
   * (after an escalation: the first answer, confidence low).
   */
  #afterClassifier(task: TaskRow): { route: RouteRecord } | { escalate: Extract<ClassifierAnswer, { ok: true }> } {
    const cfg = this.d.config();
    const origin = parseJson(task.origin);
    const stage = origin.stage === 2 ? 2 : 1;
    const first = origin.first as { agent: string; confidence: 'high' | 'medium' | 'low'; reason: string } | undefined;
    const answer = classifierAnswer(task, Object.keys(cfg.agents));
    if (answer.ok && answer.confidence === 'low' && stage === 1) return { escalate: answer };
    if (answer.ok) return { route: { agent: answer.agent, method: stage === 1 ? 'llm' : 'llm-escalated', confidence: answer.confidence, reason: answer.reason } };
    if (stage === 2 && first && Object.hasOwn(cfg.agents, first.agent)) {
      return { route: { agent: first.agent, method: 'llm', confidence: 'low', reason: `${first.reason} (low confidence; the escalated classifier gave nothing better: ${answer.problem})` } };
    }
    const fallback = cfg.smartDispatch?.defaultAgent || cfg.defaultAgent;
    if (!fallback) throw new Error(`${answer.problem}, and no default agent is configured (smartDispatch.defaultAgent or defaultAgent)`);
    return { route: { agent: fallback, method: 'fallback', confidence: 'low', reason: `${answer.problem}; sent to the default agent ${fallback}` } };
  }

  /**
   * `tetora route` / `POST /api/route`: the agent smart dispatch would choose for a request, without
   * running it. When the tiers fall through to the model, the classifier task itself runs (source
   * `route`, no parent; costed and visible like any task) and this waits for it (and its escalation).
   * The caller checks first that the engine accepts tasks.
   */
  async route(input: unknown, ctx: Pick<EnqueueContext, 'source' | 'routeHints'>, signal?: AbortSignal): Promise<RouteRecord> {
    const cfg = this.d.config();
    if (!cfg.smartDispatch?.enabled) {
      throw new TetoraError('TET_ERR_ROUTE_DISABLED', `smart dispatch is not enabled in ${cfg.configPath}; set "smartDispatch": {"enabled": true, "coordinator": "<agent>"} and reload the daemon (SIGHUP), or name an agent.`);
    }
    const d = this.decision(input, ctx);
    if (!d) {
      buildTask(input, { source: ctx.source }, cfg, this.d.now()); // throws the request's own error
      throw new TetoraError('TET_ERR_TASK_INVALID', 'the request cannot be routed: send a JSON object with at least a "prompt".', { field: '(body)' });
    }
    if (d.kind === 'route') return d.route;
    const prompt = (input as { prompt: string }).prompt;
    const key = `route-only:${randomUUID()}`;
    const classifiers: string[] = [];
    let stage: 1 | 2 = 1;
    let first: ClassifierAnswer | undefined;
    for (;;) {
      const c = this.d.ledger.atomically(() => this.#startClassifier(undefined, stage, prompt, first, key));
      classifiers.push(c.id);
      this.d.poke();
      const ended = await this.#terminal(c.id, signal);
      const next = this.#afterClassifier(ended);
      if ('route' in next) return { ...next.route, classifierTasks: classifiers };
      stage = 2;
      first = next.escalate;
    }
  }

  /** Resolves with the task once it has left `routing` (its agent chosen, or it ended). */
  routed(id: string, signal?: AbortSignal): Promise<TaskRow> {
    return this.#until(id, (t) => t.status !== 'routing', signal);
  }

  /** Resolves with the task once it is terminal (or rejects when `signal` aborts or the engine stops). */
  #terminal(id: string, signal?: AbortSignal): Promise<TaskRow> {
    return this.#until(id, (t) => isTerminal(t.status), signal);
  }

  #until(id: string, pred: (t: TaskRow) => boolean, signal?: AbortSignal): Promise<TaskRow> {
    const { store, bus } = this.d.ledger;
    return new Promise((resolve, reject) => {
      const check = () => {
        const t = store.get(id);
        if (t && pred(t)) {
          done();
          resolve(t);
          return true;
        }
        return false;
      };
      const abort = () => {
        done();
        reject(new TetoraError('TET_ERR_ENGINE_STOPPED', `stopped waiting for task ${id}; it goes on (\`tetora task show ${id}\`).`));
      };
      const off = bus.subscribe((e) => {
        if (e.taskId === id) check();
      });
      const done = () => {
        off();
        signal?.removeEventListener('abort', abort);
      };
      signal?.addEventListener('abort', abort, { once: true });
      // A signal that aborted before the wait began still ends it (an abort event never comes again).
      if (!check() && signal?.aborted) abort();
    });
  }

  /** `routing → queued` with the agent of `route` and everything derived for it (the request's own fields first). */
  #finishRouting(parent: TaskRow, route: RouteRecord): void {
    const options = parseJson(parent.options) as TaskOptions;
    const input = { ...(options.routeRequest ?? {}), prompt: parent.prompt, agent: route.agent };
    const built = buildTask(input, { source: parent.source }, this.d.config(), this.d.now());
    const patch = {
      agent: route.agent,
      route: JSON.stringify(route),
      provider: built.provider ?? null,
      model: built.model ?? null,
      permissionMode: built.permissionMode ?? null,
      timeoutMs: built.timeoutMs ?? null,
      budgetUsd: built.budgetUsd ?? null,
      workdir: built.workdir ?? null,
    };
    if (!this.d.ledger.move(parent, 'routing', 'queued', patch, { agent: route.agent, route })) return;
    this.d.poke();
  }
}
