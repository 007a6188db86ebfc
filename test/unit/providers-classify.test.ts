import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiErrorInfo, classifyApiError } from '../../src/providers/api.js';
import { redactSecrets, retryAfterFromHeaders, retryInFromText, tryAgainAtFromText } from '../../src/providers/classify.js';
import { claudeArgs, claudeEvents, classifyClaude, type ClaudeResult, type ClaudeRetry } from '../../src/providers/claude.js';
import { classifyCodex, codexArgs, codexEvents, perTurn } from '../../src/providers/codex.js';
import { costOf, isLocalEndpoint, priceOf } from '../../src/providers/pricing.js';
import type { RunRequest } from '../../src/engine/provider.js';

/**
 * The classifiers are pure functions; these tests feed them outputs recorded from the real claude 2.1.331
 * and codex 0.169.0 CLIs against the fake model server (test/fixtures/providers/<cli>/<case>.*).
 */
const FIXTURES = resolve(import.meta.dirname, '../fixtures/providers');

function fixture(cli: 'claude' | 'codex', name: string): { events: Array<Record<string, unknown>>; rawText: string; exitCode: number } {
  const base = join(FIXTURES, cli, name);
  const events: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  for (const line of readFileSync(`${base}.stdout.jsonl`, 'utf8').split('\n').filter(Boolean)) {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      raw.push(line);
    }
  }
  if (existsSync(`${base}.stderr.txt`)) raw.push(readFileSync(`${base}.stderr.txt`, 'utf8'));
  return { events, rawText: raw.join('\n'), exitCode: Number(readFileSync(`${base}.exit`, 'utf8').trim()) };
}

function claudeCase(name: string) {
  const f = fixture('claude', name);
  const result = f.events.find((e) => e.type === 'result') as ClaudeResult | undefined;
  const retry = f.events.filter((e) => e.type === 'system' && e.subtype === 'api_retry').at(-1) as ClaudeRetry | undefined;
  return classifyClaude({ exitCode: f.exitCode, rawText: f.rawText, providerName: 'claude', ...(result ? { result } : {}), ...(retry ? { retry } : {}) });
}

// 08:00 local time on a fixed day: "try again at 9:30 AM" is 90 minutes later.
const NOW = new Date(2026, 10, 25, 8, 0, 0).getTime();

function codexCase(name: string) {
  const f = fixture('codex', name);
  const errors: string[] = [];
  for (const e of f.events) {
    if (e.type === 'error') errors.push(String(e.message));
    if (e.type === 'turn.failed') errors.push(String((e.error as { message: string }).message));
  }
  return classifyCodex({ exitCode: f.exitCode, completed: f.events.some((e) => e.type === 'turn.completed'), errors, rawText: f.rawText, providerName: 'codex', now: NOW });
}

describe('claude-code classifier on recorded outputs', () => {
  it.each([
    ['success', 'success'],
    ['tool-call', 'success'],
    ['rate-limit-429', 'rate_limited'],
    ['rate-limit-429-retried', 'rate_limited'],
    ['usage-limit', 'rate_limited'],
    ['overloaded-529', 'transient'],
    ['server-500', 'transient'],
    ['auth-401', 'permanent'],
    ['not-logged-in', 'permanent'],
    ['billing-400', 'permanent'],
    ['context-too-long', 'permanent'],
    ['max-turns', 'permanent'],
    ['resume-unknown', 'session_invalid'],
    ['root-bypass', 'permanent'],
  ])('%s → %s', (name, cls) => {
    expect(claudeCase(name).class).toBe(cls);
  });

  it('never trusts subtype "success" on an API error', () => {
    const f = fixture('claude', 'auth-401');
    const result = f.events.find((e) => e.type === 'result') as unknown as ClaudeResult;
    expect(result.subtype).toBe('success');
    expect(claudeCase('auth-401').message).toBe('claude-code provider claude: Invalid API key · Fix external API key (HTTP 401 authentication_error); check the API key (ANTHROPIC_API_KEY or providers.claude.apiKey)');
  });

  it('takes the wait from the CLI\'s own retry line when there is one', () => {
    expect(claudeCase('rate-limit-429-retried').retryAfterMs).toBe(1207);
    expect(claudeCase('rate-limit-429').retryAfterMs).toBeUndefined();
  });

  it('words the other failures with what to do', () => {
    expect(claudeCase('billing-400').message).toMatch(/Credit balance is too low.*add credits/);
    expect(claudeCase('context-too-long').message).toMatch(/Prompt is too long.*start a new session key/);
    expect(claudeCase('max-turns').message).toMatch(/Reached maximum number of turns \(1\); raise the agent's maxTurns/);
    expect(claudeCase('not-logged-in').message).toMatch(/Not logged in.*set ANTHROPIC_API_KEY/);
    expect(claudeCase('resume-unknown').message).toMatch(/No conversation found with session ID/);
    expect(claudeCase('root-bypass').message).toMatch(/cannot be used with root.*IS_SANDBOX=1 in providers\.claude\.env/);
  });

  it('keeps unparseable output in the message when there is no result event', () => {
    const c = classifyClaude({ exitCode: 1, rawText: 'Error: claude native binary not installed.', providerName: 'claude' });
    expect(c).toEqual({ class: 'permanent', message: 'claude-code provider claude: Error: claude native binary not installed.' });
  });

  it('turns the stream into task events: session, tool call, tool result, text, usage', () => {
    const evs = fixture('claude', 'tool-call').events.flatMap(claudeEvents);
    expect(evs.map((e) => e.type)).toEqual(['session', 'tool_call', 'tool_result', 'text', 'usage']);
    expect(evs[1]!.data).toMatchObject({ name: 'Bash', input: { command: 'echo hi' } });
    expect(evs[2]!.data).toMatchObject({ output: 'hi', isError: false });
    expect(evs[4]!.data.costUsd).toBe(0.000376);
    const retry = fixture('claude', 'rate-limit-429-retried').events.flatMap(claudeEvents);
    expect(retry.find((e) => e.type === 'provider_retry')?.data).toMatchObject({ attempt: 1, delayMs: 1207, status: 429 });
  });

  it('builds the command line', () => {
    const req: RunRequest = {
      taskId: 't', attempt: 1, prompt: 'p', workdir: '/w', env: {}, model: 'sonnet', permissionMode: 'bypassPermissions', systemPrompt: 'soul',
      allowedTools: ['Bash(echo:*)', 'Read'], addDirs: ['/x'], maxTurns: 3, newSessionId: 'u-1',
    };
    expect(claudeArgs({ args: ['--foo'] }, req)).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--model', 'sonnet', '--permission-mode', 'bypassPermissions', '--dangerously-skip-permissions',
      '--append-system-prompt', 'soul', '--allowedTools', 'Bash(echo:*),Read', '--add-dir', '/x', '--max-turns', '3', '--session-id', 'u-1', '--foo',
    ]);
    expect(claudeArgs({ args: [] }, { ...req, permissionMode: 'acceptEdits', resumeSessionId: 's-9' })).toEqual(expect.arrayContaining(['--resume', 's-9']));
    expect(claudeArgs({ args: [] }, { ...req, resumeSessionId: 's-9' })).not.toContain('--session-id');
  });
});

describe('codex-cli classifier on recorded outputs', () => {
  it.each([
    ['success', 'success'],
    ['tool-call', 'success'],
    ['rate-limit-429', 'rate_limited'],
    ['rate-limit-stream', 'rate_limited'],
    ['quota', 'quota'],
    ['usage-limit', 'quota'],
    ['server-500', 'transient'],
    ['overloaded', 'transient'],
    ['stall', 'transient'],
    ['auth-401', 'permanent'],
    ['missing-key', 'permanent'],
    ['bad-request-400', 'permanent'],
    ['context-too-long', 'permanent'],
    ['resume-unknown', 'session_invalid'],
  ])('%s → %s', (name, cls) => {
    expect(codexCase(name).class).toBe(cls);
  });

  it('parses the reset time of a usage limit ("try again at 9:30 AM")', () => {
    const c = codexCase('usage-limit');
    // The recording holds a local time of day ("… or try again at 9:55 AM."): the next such moment after NOW.
    const [, h, min, ampm] = /try again at (\d{1,2}):(\d{2}) ([AP])M/.exec(readFileSync(join(FIXTURES, 'codex/usage-limit.stdout.jsonl'), 'utf8'))!;
    const expected = new Date(2026, 10, 25, (Number(h) % 12) + (ampm === 'P' ? 12 : 0), Number(min), 0).getTime();
    expect(c.resetAt).toBe(expected > NOW ? expected : expected + 86_400_000);
    expect(c.message).toMatch(/You’ve hit your usage limit/);
    expect(codexCase('quota').resetAt).toBeUndefined();
  });

  it('detects quota text on stderr or plain stdout too', () => {
    const c = classifyCodex({ exitCode: 1, completed: false, errors: [], rawText: "ERROR: You've hit your usage limit. Try again at 11:05 PM.", providerName: 'codex', now: NOW });
    expect(c.class).toBe('quota');
    expect(c.resetAt).toBe(new Date(2026, 10, 25, 23, 5, 0).getTime());
  });

  it('reads "try again in 1.5s" as the wait of a rate limit', () => {
    expect(codexCase('rate-limit-stream').retryAfterMs).toBe(1500);
  });

  it('says what to fix', () => {
    expect(codexCase('auth-401').message).toMatch(/401 Unauthorized: Incorrect API key provided.*check the API key/);
    expect(codexCase('missing-key').message).toMatch(/Missing environment variable.*check the API key/);
    expect(codexCase('resume-unknown').message).toMatch(/no rollout found for thread id/);
  });

  it('turns the stream into task events', () => {
    const evs = fixture('codex', 'tool-call').events.flatMap(codexEvents);
    expect(evs.map((e) => e.type)).toEqual(['session', 'tool_call', 'tool_result', 'text']);
    expect(evs[1]!.data).toMatchObject({ name: 'exec_command', input: { command: "/bin/bash -lc 'echo hi'" } });
    expect(evs[2]!.data).toMatchObject({ output: 'hi\n', exitCode: 0, isError: false });
  });

  it('prices a resumed turn as the difference of the cumulative usage', () => {
    expect(perTurn({ input_tokens: 36, output_tokens: 21 }, { tokensIn: 24, tokensOut: 14 })).toEqual({ tokensIn: 12, tokensOut: 7, cachedIn: 0 });
    expect(perTurn({ input_tokens: 12, output_tokens: 7 }, { tokensIn: 24, tokensOut: 14 })).toEqual({ tokensIn: 12, tokensOut: 7, cachedIn: 0 });
  });

  it('builds the command line: resume, no git repo, no unbounded retries, prompt on stdin', () => {
    const req: RunRequest = { taskId: 't', attempt: 1, prompt: 'p', workdir: '/w', env: {}, model: 'gpt-5.5', permissionMode: 'acceptEdits', resumeSessionId: 'th-1' };
    expect(codexArgs({ args: [], baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'k' }, req, false)).toEqual([
      'exec', 'resume', '--json', '--skip-git-repo-check', '--disable', 'unbounded_connection_retries', '-m', 'gpt-5.5',
      '-c', 'sandbox_mode="workspace-write"', '-c', 'approval_policy="never"',
      '-c', 'model_provider="tetora"', '-c', 'model_providers.tetora.name="tetora"', '-c', 'model_providers.tetora.base_url="http://127.0.0.1:9/v1"',
      '-c', 'model_providers.tetora.wire_api="responses"', '-c', 'model_providers.tetora.env_key="TETORA_CODEX_API_KEY"', 'th-1', '-',
    ]);
    const fresh = codexArgs({ args: [] }, { ...req, resumeSessionId: undefined as never, permissionMode: 'bypassPermissions' }, true);
    expect(fresh).toEqual(['exec', '--json', '--disable', 'unbounded_connection_retries', '-m', 'gpt-5.5', '--dangerously-bypass-approvals-and-sandbox', '-']);
  });
});

describe('API error classifier', () => {
  const ctx = { providerName: 'api', keyHint: 'providers.api.apiKey', now: 1_000_000 };
  const err = (status: number | undefined, body: unknown, headers: Record<string, string> = {}, name = 'APIError') =>
    apiErrorInfo(Object.assign(new Error('x'), { status, error: body, headers: new Headers(headers), name }));

  it('429 → rate_limited with Retry-After', () => {
    const c = classifyApiError(err(429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, { 'retry-after': '7' }), ctx);
    expect(c).toEqual({ class: 'rate_limited', retryAfterMs: 7000, resetAt: 1_007_000, message: 'provider api: HTTP 429 rate_limit_error: slow down' });
  });

  it('429 with the unified rejected status → rate_limited until the reset header', () => {
    const c = classifyApiError(err(429, { error: { type: 'rate_limit_error', message: 'usage' } }, { 'retry-after': '5', 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': '5000' }), ctx);
    expect(c.class).toBe('rate_limited');
    expect(c.resetAt).toBe(5_000_000);
  });

  it('OpenAI usage_limit_reached / insufficient_quota → quota', () => {
    expect(classifyApiError(err(429, { error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', resets_at: 4000 } }), ctx)).toMatchObject({ class: 'quota', resetAt: 4_000_000 });
    expect(classifyApiError(err(429, { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'You exceeded your current quota' } }), ctx).class).toBe('quota');
  });

  it.each([
    [529, 'overloaded_error', 'transient'],
    [500, 'api_error', 'transient'],
    [503, 'server_error', 'transient'],
    [401, 'authentication_error', 'permanent'],
    [403, 'permission_error', 'permanent'],
    [400, 'invalid_request_error', 'permanent'],
    [404, 'not_found_error', 'permanent'],
  ])('%i %s → %s', (status, type, cls) => {
    expect(classifyApiError(err(status, { error: { type, message: 'm' } }), ctx).class).toBe(cls);
  });

  it('mid-stream overloaded event, connection resets → transient; billing and context too long → permanent', () => {
    expect(classifyApiError(err(undefined, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), ctx).class).toBe('transient');
    expect(classifyApiError(apiErrorInfo(Object.assign(new Error('Connection error.'), { name: 'APIConnectionError', cause: new Error('read ECONNRESET') })), ctx)).toMatchObject({ class: 'transient', message: expect.stringMatching(/check the provider baseUrl/) });
    expect(classifyApiError(err(400, { error: { type: 'billing_error', message: 'Your credit balance is too low' } }), ctx).message).toMatch(/add credits/);
    expect(classifyApiError(err(400, { error: { type: 'invalid_request_error', message: 'prompt is too long: 250000 tokens > 200000 maximum' } }), ctx)).toMatchObject({ class: 'permanent', message: expect.stringMatching(/new session key/) });
    expect(classifyApiError(err(401, { error: { type: 'authentication_error', message: 'invalid x-api-key' } }), ctx).message).toBe('provider api: HTTP 401 authentication_error: invalid x-api-key; check the API key (providers.api.apiKey)');
  });
});

describe('shared helpers', () => {
  it('reads waits and reset times from text and headers', () => {
    expect(retryAfterFromHeaders({ 'retry-after': '2.5' }, 0)).toBe(2500);
    expect(retryAfterFromHeaders({ 'retry-after-ms': '150' }, 0)).toBe(150);
    expect(retryAfterFromHeaders({ 'retry-after': new Date(60_000).toUTCString() }, 0)).toBe(60_000);
    expect(retryInFromText('Please try again in 20s.')).toBe(20_000);
    expect(retryInFromText('try again in 3 minutes')).toBe(180_000);
    expect(tryAgainAtFromText('or try again at 6:15 AM.', NOW)).toBe(new Date(2026, 10, 26, 6, 15).getTime());
    expect(tryAgainAtFromText('try again at Nov 27th, 2026 9:30 AM.', NOW)).toBe(new Date(2026, 10, 27, 9, 30).getTime());
    expect(tryAgainAtFromText('nothing here', NOW)).toBeUndefined();
  });

  it('prices by config, by table, and zero for local endpoints', () => {
    expect(priceOf({ pricing: { input: 1, output: 2 } }, 'x')).toEqual({ input: 1, output: 2 });
    expect(priceOf({ baseUrl: 'http://localhost:11434/v1' }, 'claude-opus-5-5')).toEqual({ input: 0, output: 0 });
    expect(priceOf({}, 'claude-sonnet-4-5')).toEqual({ input: 3, output: 15 });
    expect(priceOf({}, 'llama3')).toBeUndefined();
    expect(costOf({ input: 3, output: 15 }, 1_000_000, 100_000)).toBeCloseTo(4.5);
    expect(isLocalEndpoint('http://192.168.1.5:1234/v1')).toBe(true);
    expect(isLocalEndpoint('https://api.openai.com/v1')).toBe(false);
  });

  it('removes keys from messages', () => {
    expect(redactSecrets('bad key sk-ant-api03-abcdefghijklmnop and Bearer abcdefghijkl12345', [])).toBe('bad key sk-ant-api…[redacted] and Bearer [redacted]');
    expect(redactSecrets('key=hunter2secret', ['hunter2secret'])).toBe('key=[redacted]');
  });
});
