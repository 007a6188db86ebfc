import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TetoraError } from '../../errors.js';
import { DiscordStore, type OutboxRow } from '../../store/discord.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

const outboxQuery = z
  .object({
    state: z.enum(['pending', 'dead', 'sent'], { error: 'must be pending, dead or sent' }).optional(),
    limit: z.string().regex(/^\d+$/, { message: 'must be a whole number from 1 to 1000' }).transform(Number).refine((n) => n >= 1 && n <= 1000, { message: 'must be a whole number from 1 to 1000' }).optional(),
  })
  .strict();

/** An outbox row for clients: everything but the full body (its length and first line instead), with its chunks. */
export function outboxView(r: OutboxRow, store: DiscordStore): Record<string, unknown> {
  const chunks = store.chunks(r.id);
  return {
    id: r.id,
    key: r.key,
    channelId: r.channelId,
    kind: r.kind,
    taskId: r.taskId,
    replyTo: r.replyTo,
    state: r.state,
    attempts: r.attempts,
    nextAt: r.nextAt || null,
    lastError: r.lastError,
    createdAt: r.createdAt,
    doneAt: r.doneAt,
    bodyChars: r.body.length,
    preview: (r.body.split('\n')[0] ?? '').slice(0, 120),
    chunks: chunks.map((c) => ({ idx: c.idx, chars: c.content.length, attachment: c.attachment, nonce: c.nonce, messageId: c.messageId })),
  };
}

/**
 * `GET /api/discord/outbox?state=pending|dead|sent` (newest first) and `POST /api/discord/outbox/:id/retry`
 * (a dead letter is sent again, from its first chunk not yet acknowledged).
 */
export function registerDiscordOutboxRoutes(app: FastifyInstance, deps: AppDeps): void {
  let store: DiscordStore | undefined;
  const s = () => (store ??= new DiscordStore(deps.engine.db));
  app.get('/api/discord/outbox', async (req) => {
    const q = parseQuery(outboxQuery, req.query);
    const rows = s().outboxList(q.state, q.limit ?? 100);
    return { rows: rows.map((r) => outboxView(r, s())), counts: s().outboxCounts() };
  });
  app.post('/api/discord/outbox/:id/retry', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const { id: raw } = req.params as { id: string };
    const id = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    const row = Number.isNaN(id) ? undefined : s().outbox(id);
    if (!row) throw new TetoraError('TET_ERR_DISCORD_OUTBOX_NOT_FOUND', `no Discord outbox row has id ${raw}; list them with \`tetora discord outbox --dead\`.`, { id: raw });
    if (!s().outboxRetry(id)) {
      throw new TetoraError('TET_ERR_DISCORD_OUTBOX_NOT_DEAD', `outbox row ${id} is ${row.state}, not a dead letter; only dead letters are sent again.`, { id, state: row.state });
    }
    deps.discordWake?.(row.channelId);
    return reply.status(202).send({ row: outboxView(s().outbox(id) as OutboxRow, s()), delivering: deps.discordWake !== undefined });
  });
}
