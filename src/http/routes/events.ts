import type { FastifyInstance } from 'fastify';
import { isTerminal, type TaskStatus } from '../../engine/states.js';
import type { AppDeps } from '../deps.js';
import { eventsQuery, lastEventIdOf, parseQuery } from '../query.js';
import { streamEvents } from '../sse.js';
import { silentLogger } from '../../engine/logger.js';

/** Open SSE streams (the `tetora_sse_streams` gauge). */
export interface SseStreams {
  open: number;
}

/** The options every SSE route shares: limits, the shutdown signal, the open-streams gauge and the stall log. */
export function streamOptions(deps: AppDeps, streams: SseStreams, path: string) {
  const log = deps.log ?? silentLogger;
  return {
    ...(deps.sse ? { limits: deps.sse } : {}),
    ...(deps.shutdown ? { shutdown: deps.shutdown } : {}),
    onOpen: () => void streams.open++,
    onClose: (reason?: string) => {
      streams.open--;
      if (reason) log.warn({ path, reason }, 'SSE client disconnected');
    },
  };
}

export function registerEventRoutes(app: FastifyInstance, deps: AppDeps, streams: SseStreams): void {
  const { engine } = deps;
  const common = (path: string) => ({
    subscribe: (fn: Parameters<typeof engine.subscribe>[0]) => engine.subscribe(fn),
    ...streamOptions(deps, streams, path),
  });

  /** One task's events: full replay (or from Last-Event-ID), then live, ending after its terminal event. */
  app.get('/api/tasks/:id/events', async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = parseQuery(eventsQuery, req.query);
    const from = lastEventIdOf(req.headers['last-event-id'], q.lastEventId);
    engine.require(id);
    await streamEvents(reply, {
      ...common(`/api/tasks/${id}/events`),
      from,
      replay: (after, limit, maxBytes) => engine.store.eventsPage(id, after, limit, maxBytes),
      filter: (e) => e.taskId === id,
      isEnd: (e) => isTerminal(e.type as TaskStatus),
      endedAfterReplay: () => isTerminal(engine.require(id).status),
    });
  });

  /** Every task's events, live; with Last-Event-ID, replayed from there first. */
  app.get('/api/events', async (req, reply) => {
    const q = parseQuery(eventsQuery, req.query);
    const header = req.headers['last-event-id'];
    const hasCursor = header !== undefined || q.lastEventId !== undefined;
    const from = hasCursor ? lastEventIdOf(header, q.lastEventId) : engine.store.lastEventSeq();
    await streamEvents(reply, {
      ...common('/api/events'),
      from,
      replay: (after, limit, maxBytes) => engine.store.eventsPage(null, after, limit, maxBytes),
      filter: () => true,
      isEnd: () => false,
    });
  });
}
