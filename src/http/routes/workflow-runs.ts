import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TetoraError } from '../../errors.js';
import { RUN_ENDED, type WorkflowEvent } from '../../store/workflows.js';
import type { WorkflowRunner } from '../../workflows/runner.js';
import { runView, runSummary } from '../../workflows/view.js';
import type { AppDeps } from '../deps.js';
import { eventsQuery, lastEventIdOf, parseQuery } from '../query.js';
import { streamEvents } from '../sse.js';
import { streamOptions, type SseStreams } from './events.js';

const runsQuery = z
  .object({
    workflow: z.string().min(1, { message: 'must be a workflow name' }).optional(),
    limit: z
      .string()
      .regex(/^\d+$/, { message: 'must be a whole number from 1 to 1000' })
      .transform(Number)
      .refine((n) => n >= 1 && n <= 1000, { message: 'must be a whole number from 1 to 1000' })
      .optional(),
  })
  .strict();

function body<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.join('.') || '(body)';
  throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `${what}: ${path} ${issue?.message ?? 'is wrong'}.`, { field: path });
}

const runBody = z.object({ variables: z.record(z.string(), z.unknown(), { message: 'must be an object of name → value' }).optional() }).passthrough();
const resumeBody = z.object({ from: z.string().min(1, { message: 'must be a step id' }).optional() }).passthrough();
const decisionBody = z.object({ text: z.string({ message: 'must be a string' }).optional(), by: z.string({ message: 'must be a string' }).optional() }).passthrough();

/** The workflow run frame: the run event's seq is its SSE id. */
function runFrame(e: WorkflowEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ seq: e.seq, runId: e.runId, at: new Date(e.at).toISOString(), type: e.type, ...e.data })}\n\n`;
}

/**
 * Workflow runs (§8.5 of the original, with the run id returned): start, list, show, cancel, resume,
 * decide a human step, and a per-run SSE stream replayed from Last-Event-ID.
 */
export function registerWorkflowRunRoutes(app: FastifyInstance, deps: AppDeps & { workflows: WorkflowRunner }, streams: SseStreams): void {
  const { workflows, engine } = deps;
  const draining = () => {
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and starts no new workflow runs; retry after it restarts.');
  };
  const view = (id: string) => runView(workflows.getRun(id), workflows.steps(id), (taskId) => engine.get(taskId));

  app.post('/api/workflows/:name/run', async (req, reply) => {
    draining();
    const { name } = req.params as { name: string };
    const b = body(runBody, req.body, `POST /api/workflows/${name}/run`);
    const source = req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http';
    const { runId } = await workflows.start(name, b.variables ?? {}, { source });
    return reply.status(202).send({ status: 'accepted', workflow: name, runId, run: view(runId) });
  });

  app.get('/api/workflows/:name/runs', async (req) => {
    const { name } = req.params as { name: string };
    const q = parseQuery(runsQuery, req.query);
    return { runs: workflows.store.listRuns({ workflow: name, limit: q.limit ?? 20 }).map((r) => runSummary(r, workflows.steps(r.id))) };
  });

  app.get('/api/workflow-runs', async (req) => {
    const q = parseQuery(runsQuery, req.query);
    return { runs: workflows.store.listRuns({ ...(q.workflow ? { workflow: q.workflow } : {}), limit: q.limit ?? 20 }).map((r) => runSummary(r, workflows.steps(r.id))) };
  });

  app.get('/api/workflow-runs/:id', async (req) => {
    const { id } = req.params as { id: string };
    return view(id);
  });

  app.post('/api/workflow-runs/:id/cancel', async (req) => {
    const { id } = req.params as { id: string };
    await workflows.cancel(id, req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http');
    return view(id);
  });

  app.post('/api/workflow-runs/:id/resume', async (req, reply) => {
    draining();
    const { id } = req.params as { id: string };
    const b = body(resumeBody, req.body, `POST /api/workflow-runs/${id}/resume`);
    const { runId } = await workflows.resume(id, { ...(b.from ? { from: b.from } : {}), source: req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http' });
    return reply.status(202).send({ status: 'accepted', resumedFrom: id, runId, run: view(runId) });
  });

  for (const kind of ['approve', 'reject', 'answer'] as const) {
    app.post(`/api/workflow-runs/:id/steps/:step/${kind}`, async (req) => {
      const { id, step } = req.params as { id: string; step: string };
      const b = body(decisionBody, req.body, `POST /api/workflow-runs/${id}/steps/${step}/${kind}`);
      workflows.decide(id, step, { kind, ...(b.text !== undefined ? { text: b.text } : {}), by: b.by ?? (req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http') });
      return view(id);
    });
  }

  app.get('/api/workflow-runs/:id/events', async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = parseQuery(eventsQuery, req.query);
    const from = lastEventIdOf(req.headers['last-event-id'], q.lastEventId);
    workflows.getRun(id);
    await streamEvents<WorkflowEvent>(reply, {
      from,
      subscribe: (fn) => workflows.subscribeEvents(fn),
      replay: (after, limit, maxBytes) => workflows.store.events(id, after, limit, maxBytes),
      filter: (e) => e.runId === id,
      isEnd: (e) => e.type === 'workflow_completed',
      endedAfterReplay: () => RUN_ENDED.has(workflows.getRun(id).status),
      frame: runFrame,
      ...streamOptions(deps, streams, `/api/workflow-runs/${id}/events`),
    });
  });
}
