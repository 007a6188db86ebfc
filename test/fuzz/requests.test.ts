/**
 * Fuzzing request bodies: a task request (src/engine/request.ts buildTask / taskRequestSchema), a board
 * ticket (src/board/input.ts parseBoard), and the HTTP routes that take them — POST /api/dispatch,
 * POST /api/workflows/:name/run, POST /api/workflows/validate, POST /api/workflows/:name/dry-run and
 * POST /api/board — through fastify's inject on a real engine and store (not started: accepted tasks stay
 * queued, nothing runs). Properties: no body gives a 500 (or any uncaught error); a refusal is a 4xx
 * carrying a TET_ERR code, and one about a field names it (details.field, also in the message).
 */
import fc from 'fast-check';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { buildTask, taskRequestSchema } from '../../src/engine/request.js';
import { newTicketSchema, parseBoard, ticketEditSchema, moveSchema, commentSchema } from '../../src/board/input.js';
import { BoardService } from '../../src/board/service.js';
import { WorkflowRunner } from '../../src/workflows/runner.js';
import { silentLogger } from '../../src/engine/logger.js';
import type { Engine } from '../../src/engine/engine.js';
import { TetoraError } from '../../src/errors.js';
import { Harness } from '../helpers/engine-harness.js';
import { anyJson, oddValue, runs } from './fc.js';

const taskFields = Object.keys(taskRequestSchema.shape);
/** A task-shaped body: known fields with odd or good values, sometimes an unknown key. */
const taskBody = fc.dictionary(
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...taskFields) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'handoffFrom', 'extra') }),
  fc.oneof(oddValue, fc.constantFrom('hello', 'a', 'b', 'nobody', 'fake', 'constructor', '/tmp', 'relative/dir', '90s', 5, 0, 1000, 1001, true, ['Bash'])),
  { maxKeys: 6 },
);
const withPrompt = fc.tuple(taskBody, fc.oneof(fc.constant('do it'), oddValue)).map(([o, p]) => JSON.parse(JSON.stringify({ prompt: p, ...o })) as unknown);
const dispatchBody = fc.oneof(withPrompt, fc.array(withPrompt, { maxLength: 3 }), withPrompt.map((t) => ({ tasks: [t] })), anyJson);

let h: Harness;
let engine: Engine;
let app: FastifyInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  h = new Harness({ taskBoard: { enabled: true, autoDispatch: { enabled: false } } });
  mkdirSync(join(h.home, 'workflows'), { recursive: true });
  writeFileSync(
    join(h.home, 'workflows', 'wf.json'),
    JSON.stringify({ name: 'wf', variables: { topic: 'x' }, steps: [{ id: 's', agent: 'a', prompt: 'about {{topic}}' }, { id: 't', agent: 'b', prompt: '{{steps.s.output}}', dependsOn: ['s'] }] }),
  );
  engine = h.engine();
  const workflows = new WorkflowRunner({ engine, config: () => engine.config });
  const board = new BoardService({ engine, config: () => engine.config, log: silentLogger });
  const built = buildApp({ engine, version: 't', apiToken: () => undefined, requestDrain: () => {}, draining: () => false, workflows, board });
  app = built.app;
  close = async () => {
    await app.close();
    built.metrics.close();
    workflows.stop();
    await engine.stop();
  };
});
afterAll(async () => close());

interface ErrorBody {
  error?: { code?: string; message?: string; details?: { field?: string; errors?: Array<{ path: string; message: string }> } };
}

/** The contract of every answer: not a 500; an error is a TET_ERR body; one about a field names it. */
function checkAnswer(status: number, body: ErrorBody, ok: number[]): void {
  if (ok.includes(status)) return;
  if (status >= 500 || status < 400) throw new Error(`answered ${status}: ${JSON.stringify(body).slice(0, 500)}`);
  expect(body.error?.code).toMatch(/^TET_ERR_/);
  expect(body.error?.message?.length).toBeGreaterThan(0);
  const field = body.error?.details?.field;
  if (field !== undefined) {
    expect(field.length).toBeGreaterThan(0);
    // The message names the field (a batch's `tasks[i].field`, or the field itself); the whole body
    // ("(body)"), the task list ("tasks") and an idempotency key are named in words.
    const words: Record<string, RegExp> = { '(body)': /\bbody\b/, tasks: /\btask list\b|\btasks\b/, idempotencyKey: /idempotency key/i };
    const named = Object.hasOwn(words, field) && words[field]!.test(body.error!.message!);
    // `dependsOn.0` may be written `dependsOn[0]`.
    const spellings = [field, field.replace(/^tasks\[\d+\]\./, ''), field.replace(/\.(\d+)(?=\.|$)/g, '[$1]')];
    if (!named && !spellings.some((f) => body.error!.message!.includes(f))) {
      throw new Error(`the message does not name ${field}: ${body.error!.message}`);
    }
  }
  if (body.error?.code === 'TET_ERR_TASK_INVALID' || body.error?.code === 'TET_ERR_BOARD_INVALID') expect(field).toBeDefined();
  if (body.error?.code === 'TET_ERR_WORKFLOW_INVALID') for (const e of body.error.details?.errors ?? []) expect(e.path.length).toBeGreaterThan(0);
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) });
  return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : {}) as ErrorBody };
}

describe('fuzz: task requests (buildTask)', () => {
  it('any body: a task row, or a TetoraError that names the field', () => {
    const config = h.config();
    fc.assert(
      fc.property(fc.oneof(withPrompt, anyJson), fc.option(fc.nat(5), { nil: undefined }), (input, index) => {
        try {
          const task = buildTask(input, { source: 'fuzz' }, config, 0, index);
          expect(task.prompt.trim().length).toBeGreaterThan(0);
        } catch (err) {
          if (!(err instanceof TetoraError)) throw new Error(`buildTask threw ${String((err as Error)?.stack ?? err)}`);
          expect(['TET_ERR_TASK_INVALID', 'TET_ERR_AGENT_UNKNOWN', 'TET_ERR_PROVIDER_UNKNOWN']).toContain(err.code);
          const field = err.details?.field as string;
          expect(typeof field).toBe('string');
          expect(err.message).toContain(index === undefined || field === 'agent' || field === 'provider' ? field : `tasks[${index}].`);
          // A long value is shown cut (the request may be megabytes).
          expect(err.message.length).toBeLessThan(2000);
        }
      }),
      runs(400),
    );
  });
});

describe('fuzz: board ticket bodies (parseBoard)', () => {
  const ticketBody = fc.dictionary(
    fc.constantFrom('title', 'description', 'project', 'assignee', 'priority', 'dependsOn', 'workdir', 'worktree', 'status', 'reason', 'body', 'author', 'bogus', '__proto__'),
    fc.oneof(oddValue, fc.constantFrom('t', 'high', 'todo', 'backlog', 'doing', ['T-1'], ['T-x'], '/abs', 'rel')),
    { maxKeys: 5 },
  );
  it('any body against each schema: the parsed request, or TET_ERR_BOARD_INVALID naming the field', () => {
    const schemas = [newTicketSchema, ticketEditSchema, moveSchema, commentSchema];
    fc.assert(
      fc.property(fc.oneof(ticketBody, anyJson), fc.nat(3), (raw, i) => {
        const body = JSON.parse(JSON.stringify(raw ?? null)) as unknown;
        try {
          parseBoard(schemas[i] as typeof newTicketSchema, body);
        } catch (err) {
          if (!(err instanceof TetoraError)) throw new Error(`parseBoard threw ${String((err as Error)?.stack ?? err)}`);
          expect(err.code).toBe('TET_ERR_BOARD_INVALID');
          const field = err.details?.field as string;
          // A key named "" is named by its quotes.
          expect(err.message).toContain(field === '' ? '""' : field);
        }
      }),
      runs(400),
    );
  });
});

describe('fuzz: HTTP bodies (fastify inject on a real engine and store)', () => {
  it('POST /api/dispatch: 202, or a 4xx naming the field; never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(dispatchBody, fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('k1', 'k1', '')), { nil: undefined }), async (body, key) => {
        const headers: Record<string, string> = key === undefined || /[^\x20-\x7e]/.test(key) ? {} : { 'idempotency-key': key };
        const { status, body: answer } = await post('/api/dispatch', body, headers);
        checkAnswer(status, answer, [202]);
      }),
      runs(150),
    );
  });

  it('POST /api/dispatch with text that is not JSON: a 400, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), async (text) => {
        const res = await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'content-type': 'application/json' }, payload: text });
        checkAnswer(res.statusCode, (res.body ? JSON.parse(res.body) : {}) as ErrorBody, [202]);
      }),
      runs(60),
    );
  });

  it('POST /api/workflows/wf/run: 202, or a 4xx naming the field; never a 500', async () => {
    const runBody = fc.oneof(
      anyJson,
      fc.record({ variables: fc.oneof(oddValue, fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('topic', '__proto__', '__x', 'constructor')), oddValue, { maxKeys: 3 })) }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(runBody, fc.constantFrom('wf', 'nope', '..%2Fwf', 'constructor'), async (body, name) => {
        const { status, body: answer } = await post(`/api/workflows/${name}/run`, body);
        checkAnswer(status, answer, [202]);
      }),
      runs(80),
    );
  });

  it('POST /api/workflows/validate and /api/workflows/wf/dry-run: 200, or a 4xx with paths; never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, fc.boolean(), async (body, dry) => {
        const payload = dry ? { variables: body } : body;
        const { status, body: answer } = await post(dry ? '/api/workflows/wf/dry-run' : '/api/workflows/validate', payload);
        checkAnswer(status, answer, [200]);
      }),
      runs(100),
    );
  });

  it('POST /api/board: 201, or a 4xx naming the field; never a 500', async () => {
    const body = fc.oneof(
      anyJson,
      fc.dictionary(fc.constantFrom('title', 'description', 'project', 'assignee', 'priority', 'dependsOn', 'workdir', 'worktree', 'status', 'bogus'), fc.oneof(oddValue, fc.constantFrom('t', 'a', 'nobody', 'high', 'todo', ['T-1'], ['T-999999'], '/abs')), { maxKeys: 5 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const { status, body: answer } = await post('/api/board', b);
        checkAnswer(status, answer, [201]);
      }),
      runs(120),
    );
  });
});
