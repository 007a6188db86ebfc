import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { commentSchema, moveSchema, newTicketSchema, parseBoard, ticketEditSchema } from '../../board/input.js';
import { commentJson, ticketJson } from '../../board/view.js';
import { TetoraError } from '../../errors.js';
import { ticketStatuses, type TicketStatus } from '../../store/board.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';
import { taskJson } from '../serialize.js';

const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean));

/** GET /api/board: `status` (several: comma-separated or repeated), `project`, `assignee`. */
export const boardListQuery = z
  .object({
    status: list
      .refine((l) => l.every((s) => (ticketStatuses as readonly string[]).includes(s)), {
        error: (iss) => `includes "${(iss.input as string[]).find((s) => !(ticketStatuses as readonly string[]).includes(s))}", which is not a ticket status; use ${ticketStatuses.join(', ')}`,
      })
      .optional(),
    project: z.string({ error: 'must be one project name' }).min(1).optional(),
    assignee: z.string({ error: 'must be one assignee' }).min(1).optional(),
  })
  .strict();

/**
 * The task board over HTTP (`tetora board …` uses these): list, add, show, edit, delete, move, comment and
 * run now. Authenticated like every other route (the app's bearer check).
 */
export function registerBoardRoutes(app: FastifyInstance, deps: AppDeps): void {
  const board = deps.board;
  if (!board) return;
  const draining = () => {
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and starts nothing new; retry after it restarts.', { retryAfterSeconds: 30 });
  };
  const id = (req: { params: unknown }) => (req.params as { id: string }).id;

  app.get('/api/board', async (req) => {
    const q = parseQuery(boardListQuery, req.query);
    const filter: { status?: TicketStatus[]; project?: string; assignee?: string } = {};
    if (q.status?.length) filter.status = q.status as TicketStatus[];
    if (q.project) filter.project = q.project;
    if (q.assignee) filter.assignee = q.assignee;
    return { tickets: board.list(filter).map((t) => ticketJson(t)) };
  });

  app.post('/api/board', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const ticket = board.add(parseBoard(newTicketSchema, req.body));
    return reply.status(201).send({ ticket: ticketJson(ticket) });
  });

  app.get('/api/board/:id', async (req) => {
    parseQuery(noQuery, req.query);
    const { ticket, comments } = board.show(id(req));
    return { ticket: ticketJson(ticket, { finding: true }), comments: comments.map(commentJson) };
  });

  app.patch('/api/board/:id', async (req) => {
    parseQuery(noQuery, req.query);
    return { ticket: ticketJson(board.edit(id(req), parseBoard(ticketEditSchema, req.body))) };
  });

  app.delete('/api/board/:id', async (req) => {
    parseQuery(noQuery, req.query);
    board.remove(id(req));
    return { deleted: id(req) };
  });

  app.post('/api/board/:id/move', async (req) => {
    parseQuery(noQuery, req.query);
    const body = parseBoard(moveSchema, req.body);
    if (body.status === 'doing') draining();
    const r = board.move(id(req), body.status, body.reason);
    return { ticket: ticketJson(r.ticket), task: r.task ? taskJson(r.task) : null };
  });

  app.post('/api/board/:id/comments', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const body = parseBoard(commentSchema, req.body);
    return reply.status(201).send({ comment: commentJson(board.comment(id(req), body.body, body.author)) });
  });

  /** Run now, whatever autoDispatch says (unmet dependencies and people's tickets are refused). */
  app.post('/api/board/:id/run', async (req, reply) => {
    parseQuery(noQuery, req.query);
    draining();
    const r = board.run(id(req));
    return reply.status(r.task ? 202 : 200).send({ ticket: ticketJson(r.ticket), task: r.task ? taskJson(r.task) : null });
  });
}
