import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TetoraError } from '../../errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook, webhookVariables } from '../../schedules/webhook.js';
import { bearerToken, tokenMatches } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

/** Route config of the webhook: the app's token check lets it through to verify a signature itself (see app.ts). */
export const SIGNED_WEBHOOK = { signedWebhook: true } as const;

/** Whether a request's route authenticates itself (the signed webhook); every other route needs the token. */
export function authenticatesItself(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { signedWebhook?: boolean } | undefined)?.signedWebhook === true;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function unauthorized(reason: string): TetoraError {
  return new TetoraError(
    'TET_ERR_HTTP_UNAUTHORIZED',
    `this webhook needs \`Authorization: Bearer <apiToken>\` or, for a trigger with a secret, X-Tetora-Timestamp and X-Tetora-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the trigger's secret> (${reason}).`,
    { reason },
  );
}

function variablesOf(body: unknown): Record<string, string> {
  if (body === undefined || body === null) return {};
  const vars = (body as { variables?: unknown }).variables;
  if (typeof body !== 'object' || Array.isArray(body) || (vars !== undefined && (vars === null || typeof vars !== 'object' || Array.isArray(vars)))) {
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the body must be {"variables": {"name": "value", ...}} (or empty).', { field: 'variables' });
  }
  return Object.fromEntries(Object.entries((vars ?? {}) as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

export function registerTriggerRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.schedules;
  if (!svc) return;

  app.get('/api/triggers', async (req) => {
    parseQuery(noQuery, req.query);
    return { triggers: svc.listTriggers() };
  });

  /** Fire a trigger now (`tetora trigger fire NAME`); body `{variables}` adds to the trigger's own. */
  app.post('/api/triggers/:name/fire', async (req, reply) => {
    parseQuery(noQuery, req.query);
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and starts nothing new; retry after it restarts.', { retryAfterSeconds: 30 });
    const { name } = req.params as { name: string };
    const firing = await svc.fire(name, variablesOf(req.body), 'manual');
    return reply.status(202).send({ status: 'accepted', trigger: name, runId: firing.workflowRunId, firing });
  });

  // The webhook reads its body as raw bytes (the signature covers them exactly), in a scope of its own.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    /**
     * POST /api/triggers/webhook/:name — authenticated by the API token, or by the trigger's secret
     * (HMAC-SHA256 of "<timestamp>.<raw body>", timestamp within 5 minutes). The JSON body's keys become
     * the workflow's variables. Without either: 401, and nothing starts.
     */
    scope.post('/api/triggers/webhook/:name', { config: SIGNED_WEBHOOK }, async (req, reply) => {
      const { name } = req.params as { name: string };
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const t = svc.trigger(name);
      const token = deps.apiToken();
      let signature: string | undefined;
      const byToken = Boolean(token) && tokenMatches(bearerToken(req.headers.authorization), token as string);
      if (!byToken) {
        if (t?.secret !== undefined) {
          const check = verifyWebhook(t.secret, { timestamp: header(req, TIMESTAMP_HEADER), signature: header(req, SIGNATURE_HEADER) }, body, Date.now());
          if (!check.ok) throw unauthorized(check.reason);
          signature = check.signature;
        } else if (token) {
          // Unknown triggers and triggers without a secret look the same to a caller without the token.
          throw unauthorized(req.headers.authorization ? 'wrong token' : 'no Authorization header');
        }
        // No apiToken configured and no secret: open, as the rest of the API on loopback.
      }
      if (!t || t.type !== 'webhook') {
        throw new TetoraError('TET_ERR_TRIGGER_NOT_FOUND', `no webhook trigger is named "${name}"; list them with \`tetora trigger list\` (type webhook).`, { name });
      }
      if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and starts nothing new; retry after it restarts.', { retryAfterSeconds: 30 });
      const vars = webhookVariables(body);
      if (!vars) throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the webhook body must be a JSON object (its keys become the workflow\'s variables), or empty.', { field: '(body)' });
      // The same signed request a second time (captured and replayed within the window): refused. Claimed
      // only once the request is otherwise acceptable, so a sender may retry a delivery refused before this.
      if (signature !== undefined && !svc.claimWebhookSignature(name, signature)) {
        throw unauthorized('this signature was already used: a replayed request; sign each delivery with its own timestamp');
      }
      const firing = await svc.fire(name, vars, 'webhook');
      return reply.status(202).send({ status: 'accepted', trigger: name, workflow: t.workflowName, runId: firing.workflowRunId, firing });
    });
  });
}
