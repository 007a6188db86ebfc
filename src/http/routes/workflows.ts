import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { TetoraError } from '../../errors.js';
import { deleteWorkflow, findWorkflow, saveWorkflow } from '../../workflows/load.js';
import { checkLoaded, dryRunWorkflow, invalidError, listWorkflows, report, variablesFrom } from '../../workflows/service.js';
import { checkWorkflow } from '../../workflows/validate.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

/**
 * Workflow definitions (the original's §8.5 endpoints, definitions only; runs are in workflow-runs routes):
 * files in the config's `workflowDir`, read at each request (an edit or a reload applies at once). A
 * `:name` is a workflow name (or a file name in that folder), never a path: no file elsewhere is read.
 * An invalid definition is a 400 with the catalog's error body plus the original's `{errors: [{path,
 * message}]}` and `warnings` at the top level; nothing is written.
 */

const createQuery = z
  .object({
    overwrite: z
      .string({ error: 'must be true or false' })
      .refine((s) => ['true', 'false', '1', '0'].includes(s), { message: 'must be true or false' })
      .transform((s) => s === 'true' || s === '1')
      .optional(),
  })
  .strict();

/**
 * The 400 answer for TET_ERR_WORKFLOW_INVALID (from `invalidError`): the catalog's error body plus the
 * original's top-level `errors: [{path, message}]`, `warnings`, `valid: false`, `name`. Other routes that
 * refuse an invalid workflow (run) answer the same way.
 */
export function sendInvalid(reply: FastifyReply, err: TetoraError): FastifyReply {
  const d = err.details ?? {};
  return reply.status(400).send({
    error: { code: err.code, message: err.message, details: d },
    valid: false,
    name: d.name ?? '',
    errors: d.errors ?? [],
    warnings: d.warnings ?? [],
  });
}

export function registerWorkflowRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  app.get('/api/workflows', async (req) => {
    parseQuery(noQuery, req.query);
    return listWorkflows(engine.config);
  });

  /** The validation of a body, nothing written: 200 when valid (with the execution order), else 400. */
  app.post('/api/workflows/validate', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const checked = checkWorkflow(req.body, { config: engine.config });
    if (checked.errors.length > 0) return sendInvalid(reply, invalidError(checked.def.name, checked));
    return report(checked.def, checked);
  });

  app.get('/api/workflows/:name', async (req) => {
    const { name } = req.params as { name: string };
    parseQuery(noQuery, req.query);
    const loaded = findWorkflow(engine.config.workflowDir, name, { allowPath: false });
    const checked = checkLoaded(loaded, engine.config);
    let workflow: unknown = loaded.def;
    try {
      workflow = JSON.parse(readFileSync(loaded.file, 'utf8').replace(/^\uFEFF/, ''));
    } catch {
      /* the parsed form stands in for a file that is not JSON (its errors say so) */
    }
    return { workflow, ...report(loaded.def, checked, loaded.file) };
  });

  /** The original's validate of a stored workflow: 200 with `valid` either way. */
  app.post('/api/workflows/:name/validate', async (req) => {
    const { name } = req.params as { name: string };
    parseQuery(noQuery, req.query);
    const loaded = findWorkflow(engine.config.workflowDir, name, { allowPath: false });
    return report(loaded.def, checkLoaded(loaded, engine.config), loaded.file);
  });

  /** Create (201) or, with ?overwrite=true, replace (200): validated first, written as `<name>.json` (0600). */
  app.post('/api/workflows', async (req, reply) => {
    const { overwrite } = parseQuery(createQuery, req.query);
    const checked = checkWorkflow(req.body, { config: engine.config });
    if (checked.errors.length > 0) return sendInvalid(reply, invalidError(checked.def.name, checked));
    const saved = saveWorkflow(engine.config.workflowDir, checked.def.name, JSON.stringify(req.body, null, 2), { overwrite: overwrite === true });
    return reply.status(saved.created ? 201 : 200).send({ status: saved.created ? 'created' : 'updated', name: checked.def.name, file: saved.file, warnings: checked.warnings });
  });

  app.delete('/api/workflows/:name', async (req) => {
    const { name } = req.params as { name: string };
    parseQuery(noQuery, req.query);
    const { file } = deleteWorkflow(engine.config.workflowDir, name);
    return { status: 'deleted', name, file };
  });

  /** The plan of a run (no provider call): body `{variables: {…}}` (optional). */
  app.post('/api/workflows/:name/dry-run', async (req, reply) => {
    const { name } = req.params as { name: string };
    parseQuery(noQuery, req.query);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the body must be an object such as {"variables": {"topic": "AI"}}');
    const vars = variablesFrom(body.variables, 'variables');
    try {
      return dryRunWorkflow(engine.config, name, vars, { allowPath: false });
    } catch (err) {
      if (err instanceof TetoraError && err.code === 'TET_ERR_WORKFLOW_INVALID') return sendInvalid(reply, err);
      throw err;
    }
  });
}
