import type { ResolvedProvider } from '../config/types.js';
import type { EventSink, Outcome, ProviderAdapter, ProviderEvent, RunRequest, SessionUsage } from '../engine/provider.js';
import { CONNECTION_ERROR, firstLine, retryInFromText, tail, tryAgainAtFromText, type Classified } from './classify.js';
import { abortMessage, cliEnv, holdSession, inGitRepo, runJsonLines, spawnFailure } from './cli.js';
import { costOfUse, priceOf, type Price } from './pricing.js';

/**
 * The `codex-cli` provider: `codex exec --json` (or `codex exec resume <id>`), the prompt on stdin.
 * Parses thread.started, item.*, error, turn.failed and turn.completed. Codex reports no cost and its
 * usage is cumulative for the thread, so the per-run figures are the difference from the session's
 * previous reading, priced with the provider's pricing (or the built-in table).
 */

export interface CodexUsage {
  input_tokens?: number;
  cached_input_tokens?: number;
  output_tokens?: number;
}

/** The environment variable the adapter passes `apiKey` in when it defines the provider from `baseUrl`. */
const KEY_VAR = 'TETORA_CODEX_API_KEY';

export function codexArgs(cfg: Pick<ResolvedProvider, 'args' | 'baseUrl' | 'apiKey'>, req: RunRequest, isRepo: boolean): string[] {
  const a = ['exec'];
  if (req.resumeSessionId) a.push('resume');
  a.push('--json');
  if (!isRepo) a.push('--skip-git-repo-check');
  // Without this, a dead endpoint makes codex "wait for network" for ever.
  a.push('--disable', 'unbounded_connection_retries');
  if (req.model) a.push('-m', req.model);
  if (req.permissionMode === 'bypassPermissions') a.push('--dangerously-bypass-approvals-and-sandbox');
  else a.push('-c', `sandbox_mode="${req.permissionMode === 'plan' ? 'read-only' : 'workspace-write'}"`, '-c', 'approval_policy="never"');
  if (req.addDirs?.length) a.push('-c', `sandbox_workspace_write.writable_roots=${JSON.stringify(req.addDirs)}`);
  if (cfg.baseUrl) {
    a.push('-c', 'model_provider="tetora"', '-c', 'model_providers.tetora.name="tetora"', '-c', `model_providers.tetora.base_url=${JSON.stringify(cfg.baseUrl)}`, '-c', 'model_providers.tetora.wire_api="responses"');
    if (cfg.apiKey) a.push('-c', `model_providers.tetora.env_key="${KEY_VAR}"`);
  }
  a.push(...cfg.args);
  if (req.resumeSessionId) a.push(req.resumeSessionId);
  a.push('-'); // the prompt comes on stdin
  return a;
}

const RETRY_NOTICE = /^Reconnecting\.\.\./i;

/** Classify a finished codex run from every message it printed (JSON errors, plain stdout, stderr). Pure. */
export function classifyCodex(input: { exitCode: number | null; completed: boolean; errors: string[]; rawText: string; providerName: string; now: number }): Classified & { message?: string } {
  const { exitCode, completed, errors, rawText, now } = input;
  const finalErrors = errors.filter((m) => !RETRY_NOTICE.test(m));
  const all = `${errors.join('\n')}\n${rawText}`;
  const name = `codex-cli provider ${input.providerName}`;
  const said = finalErrors.at(-1) ?? tail(rawText.split('\n').filter((l) => !/^(WARNING: proceeding|Reading (prompt|additional input) from stdin)/.test(l)).join('\n'), 1500);
  const detail = said || `codex exited with code ${exitCode ?? 'null'} and printed no error`;
  // A completed turn is a success whatever stderr says (a usage-limit warning, an answer quoting one).
  if (completed && exitCode === 0) return { class: 'success' };
  // Quota and usage walls, wherever they appear.
  if (/quota exceeded|insufficient_quota|usage limit|usage_limit_reached|purchase more credits/i.test(all)) {
    const quotaLine = [...errors, ...rawText.split('\n')].find((l) => /quota|usage limit|usage_limit/i.test(l)) ?? detail;
    const out: Classified & { message?: string } = { class: 'quota', message: `${name}: ${quotaLine.trim()}` };
    const at = tryAgainAtFromText(quotaLine, now) ?? tryAgainAtFromText(all, now);
    const inMs = retryInFromText(all);
    if (at !== undefined) out.resetAt = at;
    else if (inMs !== undefined) out.resetAt = now + inMs;
    return out;
  }
  if (/no rollout found|thread\/resume failed|conversation not found|session not found/i.test(all)) {
    return { class: 'session_invalid', message: `${name}: ${firstLine(detail)} — the session is gone; starting a new one` };
  }
  if (/Missing environment variable|401 Unauthorized|403 Forbidden|invalid_api_key|Incorrect API key/i.test(detail)) {
    return { class: 'permanent', message: `${name}: ${detail}; check the API key (the provider's env_key variable, or providers.${input.providerName}.apiKey)` };
  }
  if (/context window|context_length_exceeded|maximum context length/i.test(detail)) {
    return { class: 'permanent', message: `${name}: ${detail}; shorten the prompt or start a new session key` };
  }
  if (/\b429\b|rate limit/i.test(detail)) {
    const out: Classified & { message?: string } = { class: 'rate_limited', message: `${name}: ${detail}` };
    const inMs = retryInFromText(detail);
    if (inMs !== undefined) out.retryAfterMs = inMs;
    return out;
  }
  if (/high demand|at capacity|overloaded|status:? 5\d\d|\b5\d\d (Internal|Bad Gateway|Service|Gateway)/i.test(detail) || CONNECTION_ERROR.test(detail)) {
    return { class: 'transient', message: `${name}: ${detail}` };
  }
  if (/\b400 Bad Request|invalid_request_error|"error"\s*:/i.test(detail)) return { class: 'permanent', message: `${name}: ${detail}; the request was rejected as invalid — check the model name and prompt` };
  if (exitCode === 0 && !completed) return { class: 'transient', message: `${name}: codex exited without finishing the turn` };
  return { class: 'permanent', message: `${name}: ${detail}` };
}

/** One --json line → the task events it carries (pure). */
export function codexEvents(e: Record<string, unknown>): ProviderEvent[] {
  const item = (e.item ?? {}) as Record<string, unknown>;
  switch (e.type) {
    case 'thread.started':
      return [{ type: 'session', data: { sessionId: e.thread_id } }];
    case 'error':
      return [RETRY_NOTICE.test(String(e.message)) ? { type: 'provider_retry', data: { message: e.message } } : { type: 'info', data: { error: e.message } }];
    case 'turn.failed':
      return [{ type: 'info', data: { error: (e.error as { message?: string } | undefined)?.message ?? null, turnFailed: true } }];
    case 'item.started':
    case 'item.updated':
    case 'item.completed': {
      const done = e.type === 'item.completed';
      switch (item.type) {
        case 'agent_message':
          return done ? [{ type: 'text', data: { text: item.text } }] : [];
        case 'command_execution':
          if (e.type === 'item.started') return [{ type: 'tool_call', data: { id: item.id, name: 'exec_command', input: { command: item.command } } }];
          return done ? [{ type: 'tool_result', data: { id: item.id, output: item.aggregated_output, exitCode: item.exit_code ?? null, isError: item.status === 'failed' || (typeof item.exit_code === 'number' && item.exit_code !== 0) } }] : [];
        case 'mcp_tool_call':
          if (e.type === 'item.started') return [{ type: 'tool_call', data: { id: item.id, name: `${String(item.server)}.${String(item.tool)}`, input: item.arguments ?? null } }];
          return done ? [{ type: 'tool_result', data: { id: item.id, output: item.result ?? item.error ?? null, isError: item.status === 'failed' } }] : [];
        case 'file_change':
          return done ? [{ type: 'tool_result', data: { id: item.id, name: 'file_change', changes: item.changes ?? null, isError: item.status === 'failed' } }] : [];
        case 'error':
          return done ? [{ type: 'info', data: { warning: item.message } }] : [];
        default:
          return done ? [{ type: 'info', data: { item } }] : [];
      }
    }
    default:
      return [];
  }
}

export class CodexCliProvider implements ProviderAdapter {
  readonly type = 'codex-cli';
  constructor(
    private readonly cfg: ResolvedProvider,
    private readonly now: () => number = Date.now,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  async run(req: RunRequest, signal: AbortSignal, outerSink: EventSink): Promise<Outcome> {
    const sink = holdSession(outerSink);
    let sessionId: string | undefined;
    let usage: CodexUsage | undefined;
    let completed = false;
    const errors: string[] = [];
    const texts: string[] = [];
    const env = cliEnv(this.cfg, req, { [KEY_VAR]: this.cfg.baseUrl ? this.cfg.apiKey : undefined });
    const stdin = codexStdin(req);
    const prior: SessionUsage = (req.resumeSessionId ? req.sessionUsage : undefined) ?? { tokensIn: 0, tokensOut: 0 };
    const price = priceOf(this.cfg, req.model);
    const { result: res, rawText } = await runJsonLines(this.cfg, {
      args: codexArgs(this.cfg, req, inGitRepo(req.workdir)),
      env,
      stdin,
      req,
      signal,
      sink,
      onEvent: (e) => {
        if (e.type === 'error' && typeof e.message === 'string') errors.push(e.message);
        if (e.type === 'turn.failed') errors.push((e.error as { message?: string } | undefined)?.message ?? 'turn failed');
        for (const ev of codexEvents(e)) {
          if (ev.type === 'session') sessionId = ev.data.sessionId as string;
          if (ev.type === 'text') texts.push(String(ev.data.text));
          sink.event(ev);
        }
        if (e.type === 'turn.completed') {
          completed = true;
          usage = e.usage as CodexUsage;
          const turn = perTurn(usage, prior);
          const costUsd = codexCost(price, turn);
          const data: Record<string, unknown> = { ...turn, costUsd, cumulative: usage, priced: price !== undefined };
          if (sessionId) data.sessionUsage = { sessionId, ...codexReading(usage) };
          sink.event({ type: 'usage', data });
          sink.cost?.(costUsd);
        }
      },
    });
    if (res.spawnError) return { class: 'permanent', output: '', message: spawnFailure(this.cfg, res.spawnError, 'npm i -g @openai/codex') };
    const turn = usage ? perTurn(usage, prior) : { tokensIn: 0, tokensOut: 0, cachedIn: 0 };
    const outcome: Outcome = { class: 'success', output: texts.join('\n\n').trim(), tokensIn: turn.tokensIn, tokensOut: turn.tokensOut, costUsd: codexCost(price, turn) };
    if (sessionId) outcome.sessionId = sessionId;
    if (usage) outcome.sessionUsage = codexReading(usage);
    if (res.aborted) return { ...outcome, class: 'cancelled', message: abortMessage(signal) };
    const cls = classifyCodex({ exitCode: res.code, completed, errors, rawText, providerName: this.name, now: this.now() });
    return { ...outcome, ...cls };
  }
}

/** What codex sends on stdin: the system prompt goes first only when a session starts (a resumed one has it). */
export function codexStdin(req: Pick<RunRequest, 'prompt' | 'systemPrompt' | 'resumeSessionId'>): string {
  return req.systemPrompt && !req.resumeSessionId ? `${req.systemPrompt}\n\n${req.prompt}` : req.prompt;
}

/** A cumulative codex reading as the session's usage to remember. */
export function codexReading(u: CodexUsage): SessionUsage {
  return { tokensIn: u.input_tokens ?? 0, tokensOut: u.output_tokens ?? 0, cachedIn: u.cached_input_tokens ?? 0 };
}

/** This run's tokens priced: cached input (a part of `tokensIn`) at the cached-input price. */
export function codexCost(price: Price | undefined, turn: { tokensIn: number; tokensOut: number; cachedIn: number }): number {
  const cached = Math.min(turn.cachedIn, turn.tokensIn);
  return costOfUse(price, { input: turn.tokensIn - cached, cacheRead: cached, output: turn.tokensOut });
}

/** Codex's usage is cumulative for the thread: this run's share is the difference from the last reading. */
export function perTurn(cumulative: CodexUsage, prior: SessionUsage): { tokensIn: number; tokensOut: number; cachedIn: number } {
  const cin = cumulative.input_tokens ?? 0;
  const cout = cumulative.output_tokens ?? 0;
  const ccached = cumulative.cached_input_tokens ?? 0;
  // A reading below the previous one means a different thread: count it whole.
  if (cin < prior.tokensIn || cout < prior.tokensOut || ccached < (prior.cachedIn ?? 0)) return { tokensIn: cin, tokensOut: cout, cachedIn: ccached };
  // A prior reading without a cached count (stored before it was kept): assume the same share of cached input.
  const priorCached = prior.cachedIn ?? (cin > 0 ? Math.round((prior.tokensIn * ccached) / cin) : 0);
  return { tokensIn: cin - prior.tokensIn, tokensOut: cout - prior.tokensOut, cachedIn: Math.max(0, ccached - priorCached) };
}
