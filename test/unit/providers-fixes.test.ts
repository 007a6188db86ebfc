import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedProvider } from '../../src/config/types.js';
import type { EventSink, ProviderEvent } from '../../src/engine/provider.js';
import { budgetExceeded, fallbackModel } from '../../src/engine/runner.js';
import { apiSecrets, incompleteAnswer } from '../../src/providers/api.js';
import { redactSecrets, retryInFromText, tryAgainAtFromText } from '../../src/providers/classify.js';
import { claudeEvents, claudeMessageCost, claudeRunCost } from '../../src/providers/claude.js';
import { cliSecrets, runJsonLines } from '../../src/providers/cli.js';
import { classifyCodex, codexCost, codexReading, codexStdin, perTurn } from '../../src/providers/codex.js';
import { CommandProvider } from '../../src/providers/command.js';
import { costOfUse } from '../../src/providers/pricing.js';
import { openDb } from '../../src/store/db.js';
import { SessionStore } from '../../src/store/sessions.js';
import { TaskStore } from '../../src/store/tasks.js';

/** Regression tests for the provider review (one describe per finding). */

const tmp = () => mkdtempSync(join(tmpdir(), 'tetora-prov-'));
const provider = (over: Partial<ResolvedProvider>): ResolvedProvider => ({ name: 'p', type: 'command', args: [], env: {}, transientPatterns: [], rateLimitPatterns: [], ...over }) as ResolvedProvider;
const recorder = () => {
  const events: ProviderEvent[] = [];
  let alive = 0;
  const sink: EventSink = { event: (e) => void events.push(e), alive: () => void (alive += 1) };
  return { sink, events, alive: () => alive };
};

describe('1. claude after --resume: total_cost_usd covers the whole session', () => {
  it('charges the run only the difference from the session total recorded last', () => {
    expect(claudeRunCost(0.5, 0.3)).toBeCloseTo(0.2);
    expect(claudeRunCost(0.5, undefined)).toBe(0.5);
    // Below the previous total: another session, counted whole.
    expect(claudeRunCost(0.1, 0.3)).toBe(0.1);
    const [usage] = claudeEvents({ type: 'result', total_cost_usd: 0.5, usage: {} }, 0.3);
    expect(usage!.data.costUsd).toBeCloseTo(0.2);
    expect(usage!.data.sessionCostUsd).toBe(0.5);
  });

  it('finds the last reading of a session in the usage events of the key\'s tasks (a retry of the same task too)', () => {
    const db = openDb(join(tmp(), 'db.sqlite'));
    const tasks = new TaskStore(db);
    const sessions = new SessionStore(db);
    const add = (id: string, sessionKey?: string) =>
      tasks.insert({ id, source: 'test', prompt: 'p', status: 'queued', maxAttempts: 3, priority: 0, createdAt: 1, ...(sessionKey ? { sessionKey } : {}) }, { type: 'queued', data: {} });
    add('t1', 'chat');
    add('t2', 'chat');
    add('t3');
    add('other', 'elsewhere');
    expect(sessions.lastReading('s1', { taskId: 't2', sessionKey: 'chat' })).toBeUndefined();
    tasks.appendEvent('t1', 'provider.usage', { costUsd: 0.3, sessionUsage: { sessionId: 's1', tokensIn: 0, tokensOut: 0, costUsd: 0.3 } }, 2);
    tasks.appendEvent('t1', 'provider.usage', { costUsd: 0.1, sessionUsage: { sessionId: 's1', tokensIn: 0, tokensOut: 0, costUsd: 0.4 } }, 3);
    tasks.appendEvent('other', 'provider.usage', { sessionUsage: { sessionId: 's1', tokensIn: 0, tokensOut: 0, costUsd: 9 } }, 4);
    tasks.appendEvent('t3', 'provider.usage', { sessionUsage: { sessionId: 's3', tokensIn: 10, tokensOut: 5, cachedIn: 4 } }, 5);
    expect(sessions.lastReading('s1', { taskId: 't2', sessionKey: 'chat' })).toEqual({ tokensIn: 0, tokensOut: 0, costUsd: 0.4 });
    expect(sessions.lastReading('s3', { taskId: 't3', sessionKey: null })).toEqual({ tokensIn: 10, tokensOut: 5, cachedIn: 4 });
    expect(sessions.lastReading('s1', { taskId: 't3' })).toBeUndefined();
    db.close();
  });
});

describe('2. claude running estimate', () => {
  it('prices cache reads at 0.1× and cache creation at 1.25× the input price', () => {
    const price = { input: 3, output: 15 };
    const cost = claudeMessageCost(price, { input_tokens: 5, cache_read_input_tokens: 100_000, cache_creation_input_tokens: 1000, output_tokens: 100 });
    expect(cost).toBeCloseTo((5 * 3 + 100_000 * 0.3 + 1000 * 3.75 + 100 * 15) / 1e6, 10);
    expect(costOfUse(undefined, { input: 1, output: 1 })).toBe(0);
  });
});

describe('3. codex cached input', () => {
  it('prices cached_input_tokens at 0.1× input, per turn as a difference of the cumulative readings', () => {
    const price = { input: 1.25, output: 10 };
    const first = perTurn({ input_tokens: 100_000, cached_input_tokens: 90_000, output_tokens: 100 }, { tokensIn: 0, tokensOut: 0 });
    expect(first).toEqual({ tokensIn: 100_000, tokensOut: 100, cachedIn: 90_000 });
    expect(codexCost(price, first)).toBeCloseTo((10_000 * 1.25 + 90_000 * 0.125 + 100 * 10) / 1e6, 10);
    const prior = codexReading({ input_tokens: 100_000, cached_input_tokens: 90_000, output_tokens: 100 });
    expect(prior).toEqual({ tokensIn: 100_000, tokensOut: 100, cachedIn: 90_000 });
    const second = perTurn({ input_tokens: 150_000, cached_input_tokens: 130_000, output_tokens: 150 }, prior);
    expect(second).toEqual({ tokensIn: 50_000, tokensOut: 50, cachedIn: 40_000 });
    expect(codexCost(price, second)).toBeCloseTo((10_000 * 1.25 + 40_000 * 0.125 + 50 * 10) / 1e6, 10);
  });
});

describe('4. API streams that did not finish', () => {
  const ctx = { providerName: 'anthropic', maxTokens: 4096 };
  it('a stream cut before message_stop / finish_reason is transient', () => {
    expect(incompleteAnswer({ complete: false }, ctx)).toEqual({ class: 'transient', message: 'provider anthropic: the stream ended before the answer was complete' });
    expect(incompleteAnswer({ complete: true, stopReason: 'end_turn' }, ctx)).toBeUndefined();
    expect(incompleteAnswer({ complete: true, stopReason: 'stop' }, ctx)).toBeUndefined();
  });
  it('stop_reason max_tokens / finish_reason length is a permanent failure that says to raise maxTokens', () => {
    const cut = incompleteAnswer({ complete: true, stopReason: 'max_tokens' }, ctx);
    expect(cut?.class).toBe('permanent');
    expect(cut?.message).toMatch(/cut at maxTokens \(4096 tokens\).*raise providers\.anthropic\.maxTokens/);
    expect(incompleteAnswer({ complete: true, stopReason: 'length' }, { providerName: 'local', maxTokens: undefined })?.message).toMatch(/raise providers\.local\.maxTokens/);
  });
});

describe('5. liveness for the no-output watchdog', () => {
  it('the CLI line reader signals every line, JSON or not, stdout and stderr', async () => {
    const dir = tmp();
    const script = join(dir, 'cli.sh');
    writeFileSync(script, '#!/bin/sh\ncat >/dev/null\necho \'{"type":"noise"}\'\necho\necho plain\necho oops >&2\n');
    chmodSync(script, 0o755);
    const r = recorder();
    await runJsonLines(provider({ path: script }), { args: [], env: { PATH: process.env.PATH ?? '' }, stdin: 'x', req: { taskId: 't', attempt: 1, prompt: 'x', workdir: dir, env: {} }, signal: new AbortController().signal, sink: r.sink, onEvent: () => {} });
    expect(r.alive()).toBe(4);
  });
});

describe('6–8. reading waits from text', () => {
  const at = (h: number, m: number, s = 0) => new Date(2026, 10, 25, h, m, s).getTime();
  it('6. "try again at H:MM" that is now or just past means now + 60 s, not tomorrow', () => {
    const now = at(5, 50, 10);
    expect(tryAgainAtFromText('purchase more credits or try again at 5:50 AM.', now)).toBe(now + 60_000);
    expect(tryAgainAtFromText('try again at 5:10 AM.', now)).toBe(now + 60_000);
    // More than an hour ago: tomorrow.
    expect(tryAgainAtFromText('try again at 4:30 AM.', now)).toBe(new Date(2026, 10, 26, 4, 30).getTime());
    expect(tryAgainAtFromText('try again at 6:00 AM.', now)).toBe(at(6, 0));
    const c = classifyCodex({ exitCode: 1, completed: false, errors: ["You've hit your usage limit. Try again at 5:50 AM."], rawText: '', providerName: 'codex', now });
    expect(c).toMatchObject({ class: 'quota', resetAt: now + 60_000 });
  });

  describe('7. across a DST change', () => {
    const tz = process.env.TZ;
    afterEach(() => {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    });
    it('rolls to tomorrow by the calendar, not by +24 h', () => {
      process.env.TZ = 'America/New_York';
      // 2026-03-08 02:00 the clocks go forward: 23:00 on the 7th → "9:30 AM" is the 8th at 9:30 local, 9.5 h later.
      const now = new Date(2026, 2, 7, 23, 0, 0).getTime();
      const t = tryAgainAtFromText('try again at 9:30 AM.', now)!;
      expect(new Date(t).getDate()).toBe(8);
      expect(new Date(t).getHours()).toBe(9);
      expect(new Date(t).getMinutes()).toBe(30);
      // Past by more than an hour on the day before the change: the next day's 9:30 local.
      const evening = new Date(2026, 2, 7, 20, 0, 0).getTime();
      const t2 = tryAgainAtFromText('try again at 6:00 PM.', evening)!;
      expect([new Date(t2).getDate(), new Date(t2).getHours(), new Date(t2).getMinutes()]).toEqual([8, 18, 0]);
      expect(t2 - evening).toBe(21 * 3_600_000);
    });
  });

  it('8. reads OpenAI-style durations: 1m30s, 6m0s, 2h5m, 250ms', () => {
    expect(retryInFromText('Rate limit reached. Please try again in 1m30s.')).toBe(90_000);
    expect(retryInFromText('Please try again in 6m0s.')).toBe(360_000);
    expect(retryInFromText('try again in 2h5m')).toBe(2 * 3_600_000 + 5 * 60_000);
    expect(retryInFromText('try again in 250ms')).toBe(250);
    expect(retryInFromText('try again in 1.5s')).toBe(1500);
    expect(retryInFromText('retry after 3 minutes')).toBe(180_000);
    expect(retryInFromText('try again in 20 seconds')).toBe(20_000);
    expect(retryInFromText('try again in 1h 2m 3s')).toBe(3_723_000);
    expect(retryInFromText('try again later')).toBeUndefined();
  });
});

describe('9. secrets', () => {
  it('every JSON line is redacted before it is parsed into an event', async () => {
    const dir = tmp();
    const script = join(dir, 'cli.sh');
    writeFileSync(script, '#!/bin/sh\ncat >/dev/null\nprintf \'{"type":"user","text":"OPENAI_API_KEY=%s and %s"}\\n\' "$OPENAI_API_KEY" "$MY_TOKEN"\n');
    chmodSync(script, 0o755);
    const seen: Array<Record<string, unknown>> = [];
    const env = { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'envkey-0123456789abcdef', MY_TOKEN: 'tok-abcdefghijkl' };
    await runJsonLines(provider({ path: script, apiKey: 'cfgkey-0123456789' }), { args: [], env, stdin: 'x', req: { taskId: 't', attempt: 1, prompt: 'x', workdir: dir, env: {} }, signal: new AbortController().signal, sink: recorder().sink, onEvent: (e) => void seen.push(e) });
    expect(seen).toEqual([{ type: 'user', text: 'OPENAI_API_KEY=[redacted] and [redacted]' }]);
  });

  it('API error messages lose keys taken from the environment, not only the configured one', () => {
    const secrets = apiSecrets(undefined, { ANTHROPIC_API_KEY: 'envkey-0123456789abcdef' }, { OTHER: 'x', OPENAI_API_KEY: 'envkey-openai-987654' });
    expect(redactSecrets('invalid x-api-key envkey-0123456789abcdef / envkey-openai-987654', secrets)).toBe('invalid x-api-key [redacted] / [redacted]');
    expect(cliSecrets({ apiKey: 'abcdefgh' }, { HOME: '/root', GITHUB_TOKEN: 'ghp_123456789' })).toEqual(['abcdefgh', 'ghp_123456789']);
  });
});

describe('10. fallback model', () => {
  it('a fallback provider without a model of its own runs with its default (null), not the first provider\'s model', () => {
    const cfg = { providers: { anthropic: provider({ name: 'anthropic' }), local: provider({ name: 'local', model: 'llama3' }) } };
    expect(fallbackModel(cfg, 'anthropic')).toBeNull();
    expect(fallbackModel(cfg, 'local')).toBe('llama3');
  });
});

describe('11. codex system prompt', () => {
  it('goes on stdin only when a session starts, not on every resumed turn', () => {
    expect(codexStdin({ prompt: 'hi', systemPrompt: 'SOUL' })).toBe('SOUL\n\nhi');
    expect(codexStdin({ prompt: 'again', systemPrompt: 'SOUL', resumeSessionId: 'th1' })).toBe('again');
    expect(codexStdin({ prompt: 'hi' })).toBe('hi');
  });
});

describe('12. command output', () => {
  it('is stdout as written: CRLF, lone CR and blank lines kept (less the final line ending)', async () => {
    const dir = tmp();
    const out = async (script: string) => {
      const p = new CommandProvider(provider({ path: '/bin/sh', args: ['-c', `cat >/dev/null; ${script}`] }));
      const r = recorder();
      return (await p.run({ taskId: 't', attempt: 1, prompt: 'x', workdir: dir, env: { PATH: process.env.PATH ?? '' } }, new AbortController().signal, r.sink)).output;
    };
    expect(await out("printf 'line1\\r\\nline2\\r\\n'")).toBe('line1\r\nline2');
    expect(await out("printf '50%%\\r100%%'")).toBe('50%\r100%');
    expect(await out("printf 'answer\\n\\n\\n'")).toBe('answer\n\n');
    expect(await out("printf 'caf\\303\\251 \\342\\202\\254\\n'")).toBe('café €');
  });
});

describe('13. task budget', () => {
  it('counts the cost of earlier attempts', () => {
    expect(budgetExceeded(1, 0.8, 0.3)).toMatch(/budget exceeded: \$1\.1000 of \$1\.0000 \(earlier attempts \$0\.8000\)/);
    expect(budgetExceeded(1, 0.5, 0.3)).toBeUndefined();
    expect(budgetExceeded(null, 5, 5)).toBeUndefined();
    expect(budgetExceeded(0, 5, 5)).toBeUndefined();
  });
});

describe('14. codex completed turn', () => {
  it('is a success even when stderr mentions a usage limit', () => {
    const c = classifyCodex({ exitCode: 0, completed: true, errors: [], rawText: 'WARNING: you are close to your usage limit', providerName: 'codex', now: 0 });
    expect(c).toEqual({ class: 'success' });
    expect(classifyCodex({ exitCode: 1, completed: false, errors: [], rawText: "You've hit your usage limit.", providerName: 'codex', now: 0 }).class).toBe('quota');
  });
});
