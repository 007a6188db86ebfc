#!/usr/bin/env node
import { createServer } from 'node:http';
import { appendFileSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { anthropicError, anthropicMessage, anthropicUsageLimit } from './anthropic.mjs';
import { openaiChat, openaiError, openaiResponses, openaiUsageLimit } from './openai.mjs';
import { sendJson } from './sse.mjs';

/**
 * A fake model server for tests (node:http only). It speaks the Anthropic Messages API, the OpenAI
 * Responses API and OpenAI Chat Completions on 127.0.0.1, streamed and not, and answers from a script:
 * per family (`anthropic` for /v1/messages, `openai` for /v1/responses and /v1/chat/completions) a queue
 * of steps, each one of
 *   text {text, usage?:{input,output}} | tool_use {name, input} | function_call {name, arguments}
 *   | error {status, headers?, errorType?, message?, code?, body?} | stream_error {errorType?, message?, code?}
 *   | hang (never answers) | stall (headers and first events, then silence)
 *   | usage_limit {resetsInSeconds? | resetAt?} (anthropic: 429 + unified-status rejected; openai: usage_limit_reached)
 * with `times` (default 1, -1 = for ever), `match` (a substring the raw request body must contain),
 * `delayMs` and `gate` (a name: the answer waits until the test releases that gate, after any delay;
 * a gate released before its request comes lets it through at once). An empty queue answers with a
 * default text.
 *
 * Control: POST /__fake/script {anthropic?:[…], openai?:[…], append?} · GET /__fake/log · POST /__fake/reset
 * · POST /__fake/release {gate}.
 * Import it (`start()` → handle with `close()`), or run it: `node server.mjs --port 0 [--script s.json]
 * [--log requests.jsonl]` prints `LISTENING <port>`; SIGTERM closes hung connections and exits.
 */

const FAMILIES = ['anthropic', 'openai'];

function familyOf(path) {
  if (path.startsWith('/v1/messages')) return 'anthropic';
  if (path.startsWith('/v1/responses') || path.startsWith('/v1/chat/completions')) return 'openai';
  return undefined;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export async function start(options = {}) {
  const queues = { anthropic: [], openai: [] };
  const log = [];
  const timers = new Set();
  /** gate name → the answers waiting for it, or 'open' once released. */
  const gates = new Map();
  let closed = false;
  const release = (gate) => {
    const waiting = gates.get(gate);
    gates.set(gate, 'open');
    if (Array.isArray(waiting)) for (const go of waiting) go();
  };
  const whenOpen = (gate, go) => {
    const waiting = gates.get(gate);
    if (waiting === 'open') return go();
    if (waiting) waiting.push(go);
    else gates.set(gate, [go]);
  };

  const setScript = (script, append = false) => {
    for (const family of FAMILIES) {
      const steps = script[family];
      if (!steps) continue;
      const normalised = steps.map((s) => ({ ...s, times: s.times ?? 1 }));
      queues[family] = append ? [...queues[family], ...normalised] : normalised;
    }
  };
  const reset = () => {
    queues.anthropic = [];
    queues.openai = [];
    log.length = 0;
    gates.clear();
  };
  const take = (family, raw) => {
    const queue = queues[family];
    const index = queue.findIndex((s) => s.match === undefined || raw.includes(s.match));
    if (index < 0) return { type: 'text' };
    const step = queue[index];
    if (step.times > 0) {
      step.times -= 1;
      if (step.times === 0) queue.splice(index, 1);
    }
    return step;
  };
  if (options.script) setScript(options.script);

  const respond = (family, path, res, step, body) => {
    if (step.type === 'hang') return; // the socket stays open until the client or close() ends it
    if (family === 'anthropic') {
      if (step.type === 'error') return anthropicError(res, step);
      if (step.type === 'usage_limit') return anthropicUsageLimit(res, step);
      return anthropicMessage(res, step, body);
    }
    if (step.type === 'error') return openaiError(res, step);
    if (step.type === 'usage_limit') return openaiUsageLimit(res, step);
    if (path.startsWith('/v1/chat/completions')) return openaiChat(res, step, body);
    return openaiResponses(res, step, body);
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const raw = await readBody(req);
    if (path === '/__fake/script' && req.method === 'POST') {
      const body = JSON.parse(raw || '{}');
      if (body.family) setScript({ [body.family]: body.steps ?? [] }, body.append);
      else setScript(body, body.append);
      return sendJson(res, 200, { ok: true, queued: { anthropic: queues.anthropic.length, openai: queues.openai.length } });
    }
    if (path === '/__fake/log') return sendJson(res, 200, { requests: log });
    if (path === '/__fake/release' && req.method === 'POST') {
      release(JSON.parse(raw || '{}').gate);
      return sendJson(res, 200, { ok: true });
    }
    if (path === '/__fake/reset' && req.method === 'POST') {
      reset();
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === 'HEAD' || path === '/api/hello') {
      res.writeHead(200);
      return res.end();
    }
    if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', owned_by: 'fake' }] });
    if (path === '/v1/messages/count_tokens') return sendJson(res, 200, { input_tokens: 12 });
    const family = familyOf(path);
    if (!family || req.method !== 'POST') return sendJson(res, 404, { error: { type: 'not_found_error', message: `fake server: no route ${req.method} ${path}` } });
    let body;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const step = take(family, raw);
    const entry = { family, method: req.method, path: `${path}${url.search}`, headers: req.headers, body, step: step.type, at: Date.now() };
    log.push(entry);
    if (options.logFile) appendFileSync(options.logFile, `${JSON.stringify(entry)}\n`);
    const answer = () => {
      if (!closed) respond(family, path, res, step, typeof body === 'object' ? body : undefined);
    };
    const go = step.gate === undefined ? answer : () => whenOpen(step.gate, answer);
    if (step.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        go();
      }, step.delayMs);
      timers.add(t);
    } else go();
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    script: (script, append = false) => setScript(script, append),
    reset,
    release,
    requests: (family) => (family ? log.filter((r) => r.family === family) : [...log]),
    close: () =>
      new Promise((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--port') (opts.port = Number(v)), (i += 1);
    else if (a === '--host') (opts.host = v), (i += 1);
    else if (a === '--script') (opts.script = JSON.parse(readFileSync(v, 'utf8'))), (i += 1);
    else if (a === '--log') (opts.logFile = v), (i += 1);
    else throw new Error(`fake-model-server: unknown argument ${a}; use --port N, --host H, --script FILE, --log FILE`);
  }
  return opts;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const handle = await start(parseArgs(process.argv.slice(2)));
  process.stdout.write(`LISTENING ${handle.port}\n`);
  const stop = () => void handle.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
