// Types only: the SDKs (~35 MB of memory together) are loaded on first use, so a daemon or a CLI
// command that uses no API provider never pays for them.
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import type { ResolvedProvider } from '../config/types.js';
import type { EventSink, Outcome, ProviderAdapter, RunRequest } from '../engine/provider.js';
import { CONNECTION_ERROR, classOfStatus, hintForStatus, redactSecrets, resetFromHeaders, retryAfterFromHeaders, retryInFromText, tryAgainAtFromText, type Classified } from './classify.js';
import { abortMessage } from './cli.js';
import { costOf, priceOf } from './pricing.js';

/**
 * The `anthropic` and `openai-compatible` providers, through the official SDKs (their own retries off:
 * the engine's policy decides). The conversation of a session lives in the store: the runner passes the
 * earlier turns as `history` and keeps the turns this run returns. Cost is usage × the price table,
 * zero for a local endpoint.
 */

/** What an SDK error (or a mid-stream error event) says, in plain fields. */
export interface ApiErrorInfo {
  status?: number;
  headers: Record<string, string>;
  type?: string;
  code?: string;
  message: string;
  /** No HTTP answer at all: connection refused or reset, DNS, timeout. */
  connection: boolean;
}

export function apiErrorInfo(err: unknown): ApiErrorInfo {
  const e = err as { status?: unknown; headers?: unknown; error?: unknown; message?: unknown; name?: unknown; cause?: unknown };
  const headers: Record<string, string> = {};
  if (e?.headers && typeof (e.headers as Headers).forEach === 'function') (e.headers as Headers).forEach((v, k) => (headers[k.toLowerCase()] = v));
  else if (e?.headers && typeof e.headers === 'object') for (const [k, v] of Object.entries(e.headers)) headers[k.toLowerCase()] = String(v);
  const body = (e?.error ?? {}) as { error?: Record<string, unknown> } & Record<string, unknown>;
  const inner = (body.error && typeof body.error === 'object' ? body.error : body) as Record<string, unknown>;
  const info: ApiErrorInfo = {
    headers,
    message: String(inner.message ?? e?.message ?? err),
    connection: /Connection|Timeout/i.test(String(e?.name ?? '')) || (e?.status === undefined && CONNECTION_ERROR.test(`${String(e?.message ?? '')} ${String((e?.cause as Error | undefined)?.message ?? '')}`)),
  };
  if (typeof e?.status === 'number') info.status = e.status;
  if (typeof inner.type === 'string') info.type = inner.type;
  if (typeof inner.code === 'string') info.code = inner.code;
  if (typeof inner.resets_at === 'number') info.headers['x-tetora-resets-at'] = String(inner.resets_at);
  return info;
}

/** Classify a model API failure (pure). */
export function classifyApiError(info: ApiErrorInfo, ctx: { providerName: string; keyHint: string; now: number }): Classified & { message: string } {
  const kind = [info.type, info.code].filter(Boolean).join('/');
  const detail = `${info.status ? `HTTP ${info.status} ` : ''}${kind ? `${kind}: ` : ''}${info.message.replace(/[.\s]+$/, '')}`;
  const name = `provider ${ctx.providerName}`;
  const text = `${kind} ${info.message}`;
  // Quota walls by their machine-readable type (OpenAI); Anthropic's usage wall is a 429 with a reset header.
  if (/insufficient_quota|usage_limit_reached/i.test(kind) || /quota exceeded|exceeded your current quota/i.test(info.message)) {
    const out: Classified & { message: string } = { class: 'quota', message: `${name}: ${detail}` };
    const resetsAt = info.headers['x-tetora-resets-at'];
    const at = resetsAt ? Number(resetsAt) * 1000 : (resetFromHeaders(info.headers) ?? tryAgainAtFromText(info.message, ctx.now));
    if (at !== undefined) out.resetAt = at;
    return out;
  }
  if (/billing|credit balance/i.test(text)) return { class: 'permanent', message: `${name}: ${detail}; add credits to the account or use another provider` };
  if (/prompt is too long|context.?(length|window)|maximum context|too many tokens/i.test(text)) {
    return { class: 'permanent', message: `${name}: ${detail}; shorten the prompt or start a new session key` };
  }
  let cls = classOfStatus(info.status);
  if (!cls && (info.connection || /overloaded|api_error|server_error|rate_limit/i.test(kind))) cls = /rate_limit/i.test(kind) ? 'rate_limited' : 'transient';
  if (cls === 'rate_limited') {
    const out: Classified & { message: string } = { class: 'rate_limited', message: `${name}: ${detail}` };
    const after = retryAfterFromHeaders(info.headers, ctx.now) ?? retryInFromText(info.message);
    const reset = info.headers['anthropic-ratelimit-unified-status'] === 'rejected' ? resetFromHeaders(info.headers) : undefined;
    if (reset !== undefined) out.resetAt = reset;
    else if (after !== undefined) {
      out.retryAfterMs = after;
      out.resetAt = ctx.now + after;
    }
    return out;
  }
  if (cls === 'transient') {
    const out: Classified & { message: string } = { class: 'transient', message: `${name}: ${detail}${info.connection ? '; is the endpoint up? check the provider baseUrl' : ''}` };
    const after = retryAfterFromHeaders(info.headers, ctx.now);
    if (after !== undefined) out.retryAfterMs = after;
    return out;
  }
  // No HTTP status but a complaint about credentials: the SDK refused to send without a key.
  const hint = hintForStatus(info.status ?? (/authentication|api.?key/i.test(info.message) ? 401 : undefined), ctx.keyHint);
  return { class: 'permanent', message: `${name}: ${detail}${hint ? `; ${hint}` : ''}` };
}

/** One streamed completion: text so far, token counts, and how it ended. */
export interface StreamState {
  text: string;
  tokensIn: number;
  tokensOut: number;
  /** The stream said it was complete (Anthropic message_stop; OpenAI a finish_reason). */
  complete: boolean;
  /** Why the model stopped (stop_reason / finish_reason), when it said. */
  stopReason?: string;
}

/**
 * A stream that ended without failing may still not hold a whole answer (pure): cut off before its end →
 * transient; stopped at the output-token limit → permanent, with what to raise.
 */
export function incompleteAnswer(st: Pick<StreamState, 'complete' | 'stopReason'>, ctx: { providerName: string; maxTokens: number | undefined }): (Classified & { message: string }) | undefined {
  const name = `provider ${ctx.providerName}`;
  if (st.stopReason === 'max_tokens' || st.stopReason === 'length') {
    const limit = ctx.maxTokens ? `maxTokens (${ctx.maxTokens} tokens)` : "maxTokens (the model's default output limit)";
    return { class: 'permanent', message: `${name}: the answer was cut at ${limit}; raise providers.${ctx.providerName}.maxTokens or ask for a shorter answer` };
  }
  if (!st.complete) return { class: 'transient', message: `${name}: the stream ended before the answer was complete` };
  return undefined;
}

/** The secrets an API adapter may hold: the config's key and any key-like variable of the environments. */
export function apiSecrets(apiKey: string | undefined, ...envs: Array<Record<string, string | undefined>>): string[] {
  const out: string[] = apiKey ? [apiKey] : [];
  for (const env of envs) for (const [k, v] of Object.entries(env)) if (v && /KEY|TOKEN|SECRET/i.test(k)) out.push(v);
  return out;
}

abstract class ApiProvider implements ProviderAdapter {
  abstract readonly type: string;
  protected abstract readonly keyHint: string;
  constructor(
    protected readonly cfg: ResolvedProvider,
    private readonly now: () => number = Date.now,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  /** The output-token limit the request sets, if any (for the message of a cut answer). */
  protected abstract readonly maxTokens: number | undefined;

  protected abstract stream(req: RunRequest, model: string, signal: AbortSignal, st: StreamState, progress: () => void, sink: EventSink): Promise<void>;

  async run(req: RunRequest, signal: AbortSignal, sink: EventSink): Promise<Outcome> {
    const model = req.model ?? this.cfg.model;
    const sessionId = req.resumeSessionId ?? req.newSessionId ?? `${this.name}:${req.taskId}`;
    if (!model) return { class: 'permanent', output: '', message: `provider ${this.name}: no model given; set providers.${this.name}.model or the agent's model` };
    sink.event({ type: 'session', data: { sessionId, model, historyTurns: req.history?.length ?? 0 } });
    const price = priceOf(this.cfg, model);
    const idleMs = this.cfg.firstTokenTimeoutMs ?? 120_000;
    const local = new AbortController();
    const onAbort = () => local.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const progress = () => {
      // Tokens arriving are liveness for the engine's no-output watchdog too.
      sink.alive?.();
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        local.abort();
      }, idleMs);
    };
    const st: StreamState = { text: '', tokensIn: 0, tokensOut: 0, complete: false };
    let failure: (Classified & { message: string }) | undefined;
    progress();
    try {
      // An aborted SDK stream may just end: the abort is checked whether or not it threw.
      await this.stream(req, model, local.signal, st, progress, sink);
      if (local.signal.aborted) throw new Error('aborted');
      failure = incompleteAnswer(st, { providerName: this.name, maxTokens: this.maxTokens });
    } catch (err) {
      if (signal.aborted) failure = { class: 'cancelled', message: abortMessage(signal) };
      else if (stalled) failure = { class: 'transient', message: `provider ${this.name}: the stream stalled (no data for ${Math.round(idleMs / 1000)} s); providers.${this.name}.firstTokenTimeout sets this limit` };
      else failure = classifyApiError(apiErrorInfo(err), { providerName: this.name, keyHint: this.keyHint, now: this.now() });
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    const costUsd = costOf(price, st.tokensIn, st.tokensOut);
    sink.event({ type: 'usage', data: { tokensIn: st.tokensIn, tokensOut: st.tokensOut, costUsd, priced: price !== undefined } });
    sink.cost?.(costUsd);
    const outcome: Outcome = { class: 'success', output: st.text.trim(), sessionId, costUsd, tokensIn: st.tokensIn, tokensOut: st.tokensOut };
    if (failure) return { ...outcome, ...failure, message: redactSecrets(failure.message, apiSecrets(this.cfg.apiKey, this.cfg.env, req.env)) };
    outcome.turns = [
      { role: 'user', content: req.prompt },
      { role: 'assistant', content: outcome.output },
    ];
    return outcome;
  }
}

export class AnthropicProvider extends ApiProvider {
  readonly type = 'anthropic';
  protected readonly keyHint: string;
  #client: { key: string; client: Anthropic } | undefined;
  constructor(cfg: ResolvedProvider, now?: () => number) {
    super(cfg, now);
    this.keyHint = `providers.${cfg.name}.apiKey or ANTHROPIC_API_KEY`;
  }

  protected get maxTokens(): number {
    return this.cfg.maxTokens ?? 4096;
  }

  /** The key comes from the config, else the environment the task sees (process env + .env). */
  async #clientFor(req: RunRequest): Promise<Anthropic> {
    const key = this.cfg.apiKey ?? this.cfg.env.ANTHROPIC_API_KEY ?? req.env.ANTHROPIC_API_KEY ?? '';
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    if (this.#client?.key !== key) this.#client = { key, client: new Anthropic({ apiKey: key, maxRetries: 0, ...(this.cfg.baseUrl ? { baseURL: this.cfg.baseUrl } : {}) }) };
    return this.#client.client;
  }

  protected async stream(req: RunRequest, model: string, signal: AbortSignal, st: StreamState, progress: () => void, sink: EventSink): Promise<void> {
    const messages = [...(req.history ?? []), { role: 'user' as const, content: req.prompt }];
    const stream = await (await this.#clientFor(req)).messages.create(
      { model, max_tokens: this.maxTokens, messages, stream: true, ...(req.systemPrompt ? { system: req.systemPrompt } : {}) },
      { signal },
    );
    let block = '';
    for await (const ev of stream) {
      progress();
      if (ev.type === 'message_start') st.tokensIn = ev.message.usage.input_tokens + (ev.message.usage.cache_read_input_tokens ?? 0) + (ev.message.usage.cache_creation_input_tokens ?? 0);
      else if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
        block += ev.delta.text;
        st.text += ev.delta.text;
      } else if (ev.type === 'content_block_stop' && block) {
        sink.event({ type: 'text', data: { text: block } });
        block = '';
      } else if (ev.type === 'message_delta') {
        st.tokensOut = ev.usage.output_tokens;
        if (ev.delta.stop_reason) st.stopReason = ev.delta.stop_reason;
      } else if (ev.type === 'message_stop') st.complete = true;
    }
    if (block) sink.event({ type: 'text', data: { text: block } });
  }
}

export class OpenAICompatibleProvider extends ApiProvider {
  readonly type = 'openai-compatible';
  protected readonly keyHint: string;
  #client: { key: string; client: OpenAI } | undefined;
  constructor(cfg: ResolvedProvider, now?: () => number) {
    super(cfg, now);
    this.keyHint = `providers.${cfg.name}.apiKey`;
  }

  protected get maxTokens(): number | undefined {
    return this.cfg.maxTokens;
  }

  async #clientFor(req: RunRequest): Promise<OpenAI> {
    // Local servers (Ollama, LM Studio) need no key; the SDK insists on one.
    const key = this.cfg.apiKey || this.cfg.env.OPENAI_API_KEY || req.env.OPENAI_API_KEY || 'not-needed';
    const { default: OpenAI } = await import('openai');
    if (this.#client?.key !== key) this.#client = { key, client: new OpenAI({ apiKey: key, baseURL: this.cfg.baseUrl ?? null, maxRetries: 0 }) };
    return this.#client.client;
  }

  protected async stream(req: RunRequest, model: string, signal: AbortSignal, st: StreamState, progress: () => void, sink: EventSink): Promise<void> {
    const messages = [
      ...(req.systemPrompt ? [{ role: 'system' as const, content: req.systemPrompt }] : []),
      ...(req.history ?? []),
      { role: 'user' as const, content: req.prompt },
    ];
    const stream = await (await this.#clientFor(req)).chat.completions.create(
      { model, messages, stream: true, stream_options: { include_usage: true }, ...(this.cfg.maxTokens ? { max_tokens: this.cfg.maxTokens } : {}) },
      { signal },
    );
    for await (const chunk of stream) {
      progress();
      const choice = chunk.choices[0];
      const delta = choice?.delta?.content;
      if (delta) st.text += delta;
      // A finish_reason is the end of the answer (the usage chunk and [DONE] may follow).
      if (choice?.finish_reason) {
        st.complete = true;
        st.stopReason = choice.finish_reason;
      }
      if (chunk.usage) {
        st.tokensIn = chunk.usage.prompt_tokens;
        st.tokensOut = chunk.usage.completion_tokens;
      }
    }
    if (st.text) sink.event({ type: 'text', data: { text: st.text } });
  }
}
