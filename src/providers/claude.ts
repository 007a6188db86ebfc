import type { ResolvedProvider } from '../config/types.js';
import type { EventSink, Outcome, ProviderAdapter, ProviderEvent, RunRequest, SessionUsage } from '../engine/provider.js';
import { CONNECTION_ERROR, firstLine, classOfStatus, hintForStatus, tail, type Classified } from './classify.js';
import { abortMessage, cliEnv, holdSession, runJsonLines, spawnFailure } from './cli.js';
import { costOfUse, priceOf } from './pricing.js';

/**
 * The `claude-code` provider: `claude -p --output-format stream-json --verbose`, the prompt on stdin.
 * Every stream-json line becomes a task event; the outcome comes from the final `result` event
 * (`is_error`, `terminal_reason`, `api_error_status`, …), never from `subtype` alone, which says
 * `success` on API errors.
 */

/** The subset of claude's final `result` event the classifier reads. */
export interface ClaudeResult {
  type: 'result';
  subtype?: string;
  is_error?: boolean;
  terminal_reason?: string | null;
  api_error_status?: number | null;
  api_error_type?: string | null;
  result?: string | null;
  errors?: string[] | null;
  session_id?: string;
  total_cost_usd?: number;
  usage?: { input_tokens?: number; output_tokens?: number; cache_creation_input_tokens?: number; cache_read_input_tokens?: number };
}

interface ClaudeMessage {
  id?: string;
  model?: string;
  usage?: ClaudeResult['usage'];
}

/** The last `system/api_retry` line: the retries claude made itself and the delay it would have waited. */
export interface ClaudeRetry {
  attempt?: number;
  retry_delay_ms?: number;
  error_status?: number | null;
  error?: string;
}

export function claudeArgs(cfg: Pick<ResolvedProvider, 'args'>, req: RunRequest): string[] {
  const a = ['-p', '--output-format', 'stream-json', '--verbose'];
  if (req.model) a.push('--model', req.model);
  if (req.permissionMode) {
    a.push('--permission-mode', req.permissionMode);
    if (req.permissionMode === 'bypassPermissions') a.push('--dangerously-skip-permissions');
  }
  if (req.systemPrompt) a.push('--append-system-prompt', req.systemPrompt);
  if (req.allowedTools?.length) a.push('--allowedTools', req.allowedTools.join(','));
  for (const d of req.addDirs ?? []) a.push('--add-dir', d);
  if (req.maxTurns) a.push('--max-turns', String(req.maxTurns));
  if (req.resumeSessionId) a.push('--resume', req.resumeSessionId);
  else if (req.newSessionId) a.push('--session-id', req.newSessionId);
  return [...a, ...cfg.args];
}

const SESSION_GONE = /No conversation found|Session ID .* is already in use|session .* not found/i;

/**
 * Classify a finished claude run. Pure: the parsed `result` (if any), the exit code, the last api_retry
 * line, and the non-JSON output and stderr.
 */
export function classifyClaude(input: { result?: ClaudeResult; exitCode: number | null; retry?: ClaudeRetry; rawText: string; providerName: string }): Classified & { message?: string } {
  const { result: r, exitCode, retry, rawText } = input;
  const said = [r?.result ?? '', ...(r?.errors ?? [])].filter(Boolean).join('; ');
  const all = `${said}\n${rawText}`;
  const name = `claude-code provider ${input.providerName}`;
  if (r && r.is_error !== true && (r.terminal_reason ?? 'completed') === 'completed' && exitCode === 0) return { class: 'success' };
  if (SESSION_GONE.test(all)) return { class: 'session_invalid', message: `${name}: ${firstLine(said || rawText)} — the session is gone; starting a new one` };
  const status = r?.api_error_status ?? retry?.error_status ?? null;
  const type = r?.api_error_type ?? '';
  const detail = said || tail(rawText) || `claude exited with code ${exitCode ?? 'null'} and printed no result`;
  const withStatus = status ? `${detail} (HTTP ${status}${type ? ` ${type}` : ''})` : detail;
  if (r?.terminal_reason === 'max_turns') return { class: 'permanent', message: `${name}: ${detail}; raise the agent's maxTurns or split the task` };
  if (r?.terminal_reason === 'prompt_too_long' || /prompt is too long|context (window|length)/i.test(said)) {
    return { class: 'permanent', message: `${name}: ${detail}; shorten the prompt or start a new session key` };
  }
  if (/credit balance|billing/i.test(all) || type === 'billing_error') return { class: 'permanent', message: `${name}: ${withStatus}; add credits to the Anthropic account or use another provider` };
  let cls = classOfStatus(status);
  if (!cls && type === 'overloaded_error') cls = 'transient';
  if (!cls && /Not logged in|Invalid API key|authentication/i.test(all)) cls = 'permanent';
  if (!cls && (/Request timed out|overloaded|API Error: 5\d\d/i.test(said) || CONNECTION_ERROR.test(said))) cls = 'transient';
  if (cls === 'rate_limited') {
    const out: Classified & { message?: string } = { class: 'rate_limited', message: `${name}: ${withStatus}` };
    if (retry?.retry_delay_ms !== undefined && retry.error_status === 429) out.retryAfterMs = retry.retry_delay_ms;
    return out;
  }
  if (cls === 'transient') return { class: 'transient', message: `${name}: ${withStatus}` };
  if (/cannot be used with root/i.test(all)) {
    return { class: 'permanent', message: `${name}: ${firstLine(rawText)}; as root, bypassPermissions needs IS_SANDBOX=1 in providers.${input.providerName}.env (only inside a sandbox), or use permissionMode acceptEdits with allowedTools` };
  }
  const hint = /Not logged in/i.test(all) ? `set ANTHROPIC_API_KEY (or providers.${input.providerName}.apiKey) or log in with \`claude /login\`` : hintForStatus(status, `ANTHROPIC_API_KEY or providers.${input.providerName}.apiKey`);
  return { class: 'permanent', message: `${name}: ${withStatus}${hint ? `; ${hint}` : ''}` };
}

/**
 * This run's cost from claude's `total_cost_usd`, which after `--resume` covers the whole session: the
 * difference from the session's previous total. A total below it means another session: counted whole.
 */
export function claudeRunCost(total: number, priorTotal: number | undefined): number {
  if (priorTotal === undefined || total < priorTotal) return total;
  return total - priorTotal;
}

/** The running estimate of one assistant message: cache reads at 0.1×, cache writes at 1.25× the input price. */
export function claudeMessageCost(price: Parameters<typeof costOfUse>[0], u: NonNullable<ClaudeResult['usage']>): number {
  return costOfUse(price, { input: u.input_tokens ?? 0, cacheRead: u.cache_read_input_tokens ?? 0, cacheWrite: u.cache_creation_input_tokens ?? 0, output: u.output_tokens ?? 0 });
}

/** One stream-json line → the task events it carries (pure). `priorCostUsd`: the resumed session's previous total. */
export function claudeEvents(e: Record<string, unknown>, priorCostUsd?: number): ProviderEvent[] {
  const out: ProviderEvent[] = [];
  if (e.type === 'system' && e.subtype === 'init') out.push({ type: 'session', data: { sessionId: e.session_id, model: e.model ?? null } });
  else if (e.type === 'system' && e.subtype === 'api_retry') {
    out.push({ type: 'provider_retry', data: { attempt: e.attempt, maxRetries: e.max_retries, delayMs: e.retry_delay_ms, status: e.error_status ?? null, error: e.error ?? null } });
  } else if (e.type === 'assistant' || e.type === 'user') {
    const msg = e.message as { content?: unknown } | undefined;
    const content = Array.isArray(msg?.content) ? (msg.content as Array<Record<string, unknown>>) : [];
    for (const c of content) {
      if (c.type === 'text' && typeof c.text === 'string') {
        out.push(e.is_api_error_message ? { type: 'info', data: { error: c.text, status: e.api_error_status ?? null } } : { type: 'text', data: { text: c.text } });
      } else if (c.type === 'tool_use') out.push({ type: 'tool_call', data: { id: c.id, name: c.name, input: c.input } });
      else if (c.type === 'tool_result') {
        const text = typeof c.content === 'string' ? c.content : JSON.stringify(c.content);
        out.push({ type: 'tool_result', data: { id: c.tool_use_id, isError: c.is_error === true, output: text.length > 16_384 ? `${text.slice(0, 16_384)}…` : text, truncated: text.length > 16_384 } });
      }
    }
  } else if (e.type === 'result') {
    const total = typeof e.total_cost_usd === 'number' ? e.total_cost_usd : 0;
    out.push({ type: 'usage', data: { costUsd: claudeRunCost(total, priorCostUsd), sessionCostUsd: total, usage: e.usage ?? null, numTurns: e.num_turns ?? null, terminalReason: e.terminal_reason ?? null } });
  }
  return out;
}

export class ClaudeCodeProvider implements ProviderAdapter {
  readonly type = 'claude-code';
  constructor(private readonly cfg: ResolvedProvider) {}

  get name(): string {
    return this.cfg.name;
  }

  async run(req: RunRequest, signal: AbortSignal, outerSink: EventSink): Promise<Outcome> {
    const sink = holdSession(outerSink);
    // After --resume claude's total_cost_usd covers the whole session: this run is charged the difference.
    const prior: SessionUsage | undefined = req.resumeSessionId ? req.sessionUsage : undefined;
    let result: ClaudeResult | undefined;
    let retry: ClaudeRetry | undefined;
    let sessionId: string | undefined;
    const texts: string[] = [];
    // Claude reports its cost only at the end: until then, a running estimate from each message's usage
    // lets a task budget stop a long multi-turn run early.
    const costById = new Map<string, number>();
    const estimate = (m: ClaudeMessage | undefined) => {
      if (!m?.id || !m.usage || m.model === '<synthetic>') return;
      costById.set(m.id, claudeMessageCost(priceOf(this.cfg, m.model), m.usage));
      sink.cost?.([...costById.values()].reduce((a, b) => a + b, 0));
    };
    const env = cliEnv(this.cfg, req, {
      // Our retry policy decides, not a silent 3-minute loop inside the CLI.
      CLAUDE_CODE_MAX_RETRIES: '0',
      DISABLE_AUTOUPDATER: '1',
      ANTHROPIC_BASE_URL: this.cfg.baseUrl,
      ANTHROPIC_API_KEY: this.cfg.apiKey,
    });
    const { result: res, rawText } = await runJsonLines(this.cfg, {
      args: claudeArgs(this.cfg, req),
      env,
      stdin: req.prompt,
      req,
      signal,
      sink,
      onEvent: (e) => {
        if (e.type === 'result') result = e as unknown as ClaudeResult;
        if (e.type === 'system' && e.subtype === 'api_retry') retry = e as ClaudeRetry;
        for (const ev of claudeEvents(e, prior?.costUsd)) {
          if (ev.type === 'session' && typeof ev.data.sessionId === 'string') sessionId = ev.data.sessionId;
          if (ev.type === 'text' && e.type === 'assistant') texts.push(ev.data.text as string);
          if (ev.type === 'usage') {
            const reading = sessionReading(e as unknown as ClaudeResult);
            const sid = (typeof e.session_id === 'string' ? e.session_id : undefined) ?? sessionId;
            if (reading && sid) ev.data.sessionUsage = { sessionId: sid, ...reading };
          }
          sink.event(ev);
        }
        if (e.type === 'assistant') estimate(e.message as ClaudeMessage | undefined);
        if (e.type === 'result' && typeof e.total_cost_usd === 'number') sink.cost?.(claudeRunCost(e.total_cost_usd, prior?.costUsd));
      },
    });
    if (res.spawnError) return { class: 'permanent', output: '', message: spawnFailure(this.cfg, res.spawnError, 'npm i -g @anthropic-ai/claude-code') };
    const u = result?.usage;
    const outcome: Outcome = {
      class: 'success',
      output: (result && !result.is_error && typeof result.result === 'string' ? result.result : texts.join('\n\n')).trim(),
      costUsd: claudeRunCost(result?.total_cost_usd ?? 0, prior?.costUsd),
      tokensIn: (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0),
      tokensOut: u?.output_tokens ?? 0,
    };
    const reading = result ? sessionReading(result) : undefined;
    if (reading) outcome.sessionUsage = reading;
    const sid = result?.session_id ?? sessionId;
    if (sid) outcome.sessionId = sid;
    if (res.aborted) return { ...outcome, class: 'cancelled', message: abortMessage(signal) };
    const cls = classifyClaude({ exitCode: res.code, rawText, providerName: this.name, ...(result ? { result } : {}), ...(retry ? { retry } : {}) });
    return { ...outcome, ...cls };
  }
}

/**
 * What to remember of a claude session after a run: its total cost so far (claude's `total_cost_usd`). The
 * token counts claude reports are this run's, so they are not a session reading.
 */
function sessionReading(r: ClaudeResult): SessionUsage | undefined {
  if (typeof r.total_cost_usd !== 'number') return undefined;
  return { tokensIn: 0, tokensOut: 0, costUsd: r.total_cost_usd };
}
