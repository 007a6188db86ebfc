import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { TetoraError } from '../errors.js';
import { ticketPriorities, ticketStatuses, type TicketStatus } from '../store/board.js';

/**
 * Requests about tickets (HTTP bodies; the CLI sends the same), validated before anything is written. Pure.
 * A wrong field is TET_ERR_BOARD_INVALID naming the field, the value and what was expected.
 */
const text = (what: string) => z.string({ error: what }).refine((s) => s.trim().length > 0 && !s.includes('\0'), { error: what });
const ticketId = z.string({ error: 'a ticket id such as T-1' }).regex(/^T-\d{1,15}$/, { error: 'a ticket id such as T-1' });

const fields = {
  title: text('a non-empty title'),
  description: z.string({ error: 'a string' }),
  project: text('a non-empty project name'),
  assignee: z.union([text('an agent of the config or a person\'s name'), z.null()], { error: 'an agent of the config or a person\'s name (null: the default agent)' }),
  priority: z.enum(ticketPriorities, { error: `one of ${ticketPriorities.join(', ')}` }),
  dependsOn: z.array(ticketId, { error: 'a list of ticket ids such as ["T-1"]' }),
  workdir: z.union([z.string({ error: 'an absolute path' }).refine(isAbsolute, { error: 'an absolute path (the daemon does not know the client\'s current folder)' }), z.null()]),
  worktree: z.union([z.boolean({ error: 'true or false' }), z.null()], { error: 'true or false' }),
};

/** PATCH /api/board/:id: any field but the status (moves have their own route). */
export const ticketEditSchema = z.object(fields).partial().strict();

/** POST /api/board: a title, the other fields optional, and where the ticket starts. */
export const newTicketSchema = ticketEditSchema
  .extend({
    title: fields.title,
    status: z.enum(['backlog', 'todo'], { error: 'backlog or todo (a new ticket starts there)' }).optional(),
  })
  .strict();
export type NewTicketRequest = z.infer<typeof newTicketSchema>;
export type TicketEdit = z.infer<typeof ticketEditSchema>;

export const moveSchema = z
  .object({
    status: z.enum(ticketStatuses, { error: `one of ${ticketStatuses.join(', ')}` }),
    reason: z.string({ error: 'a string' }).optional(),
  })
  .strict();

export const commentSchema = z
  .object({
    body: text('the comment\'s text (non-empty)'),
    author: text('a non-empty name').optional(),
  })
  .strict();

/** Parse `body` with `schema`, or throw TET_ERR_BOARD_INVALID naming the first wrong field. */
export function parseBoard<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    throw new TetoraError('TET_ERR_BOARD_INVALID', `"${key}" is not a ticket field; the fields are ${Object.keys((schema as unknown as z.ZodObject).shape).join(', ')}.`, { field: key });
  }
  const field = issue?.path.map(String).join('.') || '(body)';
  const value = issue ? issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], body) : body;
  const expected = issue && issue.path.length > 0 ? issue.message : 'a JSON object';
  const shown = value === undefined ? 'missing' : JSON.stringify(value).slice(0, 200);
  throw new TetoraError('TET_ERR_BOARD_INVALID', `${field} is ${shown}: expected ${expected}.`, { field, expected });
}

/** Whether making `id` depend on `deps` closes a cycle, given every ticket's dependencies. Pure. The cycle, or undefined. */
export function dependencyCycle(id: string, deps: readonly string[], dependsOf: (id: string) => readonly string[] | undefined): string[] | undefined {
  const path: string[] = [id];
  const seen = new Set<string>();
  const visit = (cur: readonly string[]): boolean => {
    for (const d of cur) {
      path.push(d);
      if (d === id) return true;
      if (!seen.has(d)) {
        seen.add(d);
        if (visit(dependsOf(d) ?? [])) return true;
      }
      path.pop();
    }
    return false;
  };
  return visit(deps) ? path : undefined;
}

export const isTicketStatus = (s: string): s is TicketStatus => (ticketStatuses as readonly string[]).includes(s);
