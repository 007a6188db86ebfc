import type { FastifyInstance } from 'fastify';
import { isTerminal, type TaskStatus } from '../../engine/states.js';
import type { AppDeps } from '../app.js';
import { streamEvents } from '../sse.js';

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  /** One task's events: full replay (or from Last-Event-ID), then live, ending after its terminal event. */
  app.get('/api/tasks/:id/events', async (req, reply) => {
    const { id } = req.params as { id: string };
    engine.require(id);
    streamEvents(req, reply, {
      subscribe: (fn) => engine.subscribe(fn),
      replay: (after) => engine.events(id, after),
      filter: (e) => e.taskId === id,
      isEnd: (e) => isTerminal(e.type as TaskStatus),
      endedAfterReplay: () => isTerminal(engine.require(id).status),
      ...(deps.shutdown ? { shutdown: deps.shutdown } : {}),
    });
  });

  /** Every task's events, live; with Last-Event-ID, replayed from there first. */
  app.get('/api/events', async (req, reply) => {
    const hasCursor = req.headers['last-event-id'] !== undefined || (req.query as Record<string, unknown>).lastEventId !== undefined;
    streamEvents(req, reply, {
      subscribe: (fn) => engine.subscribe(fn),
      replay: (after) => (hasCursor ? engine.store.allEvents(after, 1000) : []),
      filter: () => true,
      isEnd: () => false,
      ...(deps.shutdown ? { shutdown: deps.shutdown } : {}),
    });
  });
}
