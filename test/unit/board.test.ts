import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMPT_LIMITS } from '../../src/config/board.js';
import { dependencyCycle, newTicketSchema, parseBoard } from '../../src/board/input.js';
import { afterReview, afterRun, blockedMarker, parseVerdict } from '../../src/board/outcome.js';
import { promptTooLarge, reviewPrompt, ticketPrompt } from '../../src/board/prompt.js';
import type { TicketComment } from '../../src/store/board.js';
import { configHomes, load, thrown } from '../helpers/config.js';

const ticket = { id: 'T-3', title: 'Use the parser', description: 'Wire it into the CLI.', project: 'tools', priority: 'high' as const };
const comment = (body: string, kind: TicketComment['kind'] = 'comment'): TicketComment => ({ id: 1, ticketId: 'T-3', author: 'ann', body, kind, taskId: null, createdAt: Date.UTC(2026, 0, 2) });

describe('board prompts', () => {
  it('holds the ticket, its comments and every dependency finding whole (no 500 / 16,000 cap)', () => {
    const big = `${'漢字🎉 code(){}\n'.repeat(3000)}END`; // ~51 kB, 45,000+ characters
    const p = ticketPrompt(ticket, [comment('use v2'), comment('[auto-retry 1/3] failed', 'system')], [
      { ticket: { id: 'T-1', title: 'parse', findingTask: 'task-1' }, finding: big },
      { ticket: { id: 'T-2', title: 'lex', findingTask: null }, finding: 'short' },
    ]);
    expect(p.startsWith('# Ticket T-3: Use the parser\n')).toBe(true);
    expect(p).toContain('Wire it into the CLI.');
    expect(p).toContain('ann at 2026-01-02T00:00:00.000Z\n\nuse v2');
    expect(p).toContain('[system] ann');
    expect(p).toContain(`<<<FINDING T-1\n${big}\nFINDING T-1>>>`);
    expect(p.indexOf('T-1: parse (task task-1)')).toBeLessThan(p.indexOf('T-2: lex'));
    expect(p).toContain('[T-3] Use the parser');
  });

  it('review prompts hold the finding whole and ask for a verdict', () => {
    const p = reviewPrompt(ticket, [], 'x'.repeat(20_000), 'task-9');
    expect(p.startsWith('# Review of ticket T-3: Use the parser')).toBe(true);
    expect(p).toContain(`\n${'x'.repeat(20_000)}\n`);
    expect(p).toContain('"verdict": "approve" | "fix" | "escalate"');
  });

  it('refuses a prompt larger than the provider takes, naming both sizes and the setting; command has no limit', () => {
    const claude = { name: 'claude', type: 'claude-code' as const, maxPromptBytes: DEFAULT_PROMPT_LIMITS['claude-code'] as number };
    const limit = claude.maxPromptBytes;
    expect(promptTooLarge('a'.repeat(limit), 'coder', claude, DEFAULT_PROMPT_LIMITS)).toBeUndefined();
    const msg = promptTooLarge('a'.repeat(limit + 1), 'coder', claude, DEFAULT_PROMPT_LIMITS);
    expect(msg).toContain('is 640,001 bytes, but provider "claude" of agent "coder" takes at most 640,000 bytes (providers.claude.maxPromptBytes, the default for a claude-code provider)');
    expect(msg).toContain('nothing was cut');
    // Bytes, not characters: 300 CJK characters are 900 bytes.
    expect(promptTooLarge('漢'.repeat(300), 'c', { name: 'p', type: 'openai-compatible', maxPromptBytes: 899 }, DEFAULT_PROMPT_LIMITS)).toContain('900 bytes');
    expect(promptTooLarge('x'.repeat(5_000_000), 'c', { name: 'cmd', type: 'command' }, DEFAULT_PROMPT_LIMITS)).toBeUndefined();
    expect(DEFAULT_PROMPT_LIMITS.command).toBeUndefined();
  });
});

describe('board outcomes', () => {
  it('BLOCKED / NEEDS_CONTEXT only at the start of a line, in capitals', () => {
    expect(blockedMarker('BLOCKED: no key')).toBe('BLOCKED');
    expect(blockedMarker('done part\n- **NEEDS_CONTEXT** which DB?')).toBe('NEEDS_CONTEXT');
    expect(blockedMarker('> BLOCKED by CI')).toBe('BLOCKED');
    expect(blockedMarker('the BLOCKED flag is set in code')).toBeUndefined();
    expect(blockedMarker('blocked: lower case is prose')).toBeUndefined();
    expect(blockedMarker('UNBLOCKED now')).toBeUndefined();
  });

  it('reads a verdict from JSON (wrapped in text, `decision` too) or a leading word; anything else escalates', () => {
    expect(parseVerdict('Sure.\n{"verdict": "approve", "comment": "ok"}\nbye')).toEqual({ verdict: 'approve', comment: 'ok', understood: true });
    expect(parseVerdict('{"decision": "FIX", "reason": "tests"}')).toEqual({ verdict: 'fix', comment: 'tests', understood: true });
    expect(parseVerdict('Approved. Nice work.').verdict).toBe('approve');
    expect(parseVerdict('**Escalate**: license question').verdict).toBe('escalate');
    expect(parseVerdict('{"verdict": "maybe"}')).toMatchObject({ verdict: 'escalate', understood: false });
    expect(parseVerdict('I think it is fine')).toMatchObject({ verdict: 'escalate', understood: false });
  });

  const cfg = { maxRetries: 2 };
  it('a run: succeeded → done (or review with a reviewer, or review when BLOCKED); failed → retry, then failed; cancelled → failed, never retried', () => {
    expect(afterRun('succeeded', 'ok', null, { retries: 0 }, cfg, 't')).toMatchObject({ kind: 'move', to: 'done' });
    expect(afterRun('succeeded', 'ok', null, { retries: 0 }, { ...cfg, reviewAgent: 'r' }, 't')).toEqual({ kind: 'review' });
    expect(afterRun('succeeded', 'NEEDS_CONTEXT: which?', null, { retries: 0 }, { ...cfg, reviewAgent: 'r' }, 't')).toMatchObject({ to: 'review', escalate: true });
    expect(afterRun('failed', '', 'exit 3', { retries: 1 }, cfg, 't')).toMatchObject({ to: 'todo', retry: true, comment: '[auto-retry 2/2] Task t failed: exit 3' });
    expect(afterRun('timed_out', '', 'too slow', { retries: 2 }, cfg, 't')).toMatchObject({ to: 'failed', reason: 'task t timed out and the 2 automatic retries (taskBoard.maxRetries) are used: too slow' });
    const cancelled = afterRun('cancelled', '', 'cancelled by user', { retries: 0 }, cfg, 't');
    expect(cancelled).toMatchObject({ to: 'failed' });
    expect(cancelled).not.toHaveProperty('retry');
  });

  it('a review: approve → done; fix → another run while retries last, then review; escalate, unreadable or failed → review', () => {
    expect(afterReview('succeeded', '{"verdict":"approve"}', null, { retries: 0 }, cfg, 'r')).toMatchObject({ to: 'done' });
    expect(afterReview('succeeded', '{"verdict":"fix","comment":"add tests"}', null, { retries: 1 }, cfg, 'r')).toMatchObject({ kind: 'fix', comment: 'add tests' });
    expect(afterReview('succeeded', '{"verdict":"fix"}', null, { retries: 2 }, cfg, 'r')).toMatchObject({ to: 'review', escalate: true });
    expect(afterReview('succeeded', '{"verdict":"escalate","comment":"legal"}', null, { retries: 0 }, cfg, 'r')).toMatchObject({ to: 'review', reason: expect.stringContaining('legal') });
    expect(afterReview('succeeded', 'hmm', null, { retries: 0 }, cfg, 'r')).toMatchObject({ to: 'review', reason: expect.stringContaining('no verdict') });
    // A review that failed never approves (the original's bug, spec §12 item 2).
    expect(afterReview('failed', '', 'boom', { retries: 0 }, cfg, 'r')).toMatchObject({ to: 'review', escalate: true });
  });
});

describe('board requests', () => {
  it('finds dependency cycles', () => {
    const deps: Record<string, string[]> = { 'T-1': [], 'T-2': ['T-1'], 'T-3': ['T-2'] };
    expect(dependencyCycle('T-1', ['T-3'], (id) => deps[id])).toEqual(['T-1', 'T-3', 'T-2', 'T-1']);
    expect(dependencyCycle('T-1', ['T-1'], (id) => deps[id])).toEqual(['T-1', 'T-1']);
    expect(dependencyCycle('T-4', ['T-3'], (id) => deps[id])).toBeUndefined();
  });

  it('names the wrong field', () => {
    expect(thrown(() => parseBoard(newTicketSchema, { title: ' ' })).message).toBe('title is " ": expected a non-empty title.');
    expect(thrown(() => parseBoard(newTicketSchema, { title: 'x', dependsOn: ['1'] })).details).toMatchObject({ field: 'dependsOn.0' });
    expect(thrown(() => parseBoard(newTicketSchema, { title: 'x', workdir: 'rel/dir' })).message).toContain('an absolute path');
    expect(thrown(() => parseBoard(newTicketSchema, { title: 'x', status: 'done' })).code).toBe('TET_ERR_BOARD_INVALID');
  });
});

describe('taskBoard config', () => {
  const home = configHomes('tetora-board-config-');
  const agents = { coder: { provider: 'cmd' }, rev: { provider: 'cmd' } };
  const providers = { cmd: { type: 'command', path: '/bin/cat' } };

  it('has the original\'s defaults, and falls back to defaultAgent', () => {
    const { config } = load(home({ 'config.json': { providers, agents, defaultAgent: 'coder' } }));
    expect(config.taskBoard).toEqual({ enabled: true, maxRetries: 3, gitWorktree: false, autoDispatch: { enabled: false, intervalMs: 300_000, maxConcurrentTasks: 3, maxExecutions: 3, defaultAgent: 'coder' } });
  });

  it('reads the original\'s shape; its keys we do not implement warn, never crash', () => {
    const { config, warnings } = load(home({ 'config.json': { providers, agents, taskBoard: { enabled: true, maxRetries: 1, reviewAgent: 'rev', escalateAssignee: 'takuma', gitWorktree: true, autoDispatch: { enabled: true, interval: '30s', maxConcurrentTasks: 2, defaultAgent: 'coder', maxExecutions: 5, maxTasksPerAgent: 2 } } } }));
    expect(config.taskBoard).toMatchObject({ maxRetries: 1, reviewAgent: 'rev', escalateAssignee: 'takuma', gitWorktree: true, autoDispatch: { enabled: true, intervalMs: 30_000, maxConcurrentTasks: 2, defaultAgent: 'coder', maxExecutions: 5 } });
    expect(warnings.join('\n')).toContain('taskBoard.autoDispatch.maxTasksPerAgent');
  });

  it('refuses unknown agents, naming the field', () => {
    const e1 = thrown(() => load(home({ 'config.json': { providers, agents, taskBoard: { reviewAgent: 'ruri' } } })));
    expect(e1.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(e1.message).toContain('taskBoard.reviewAgent is "ruri", expected the name of an agent (coder, rev)');
    const e2 = thrown(() => load(home({ 'config.json': { providers, agents, taskBoard: { autoDispatch: { defaultAgent: 'ruri' } } } })));
    expect(e2.message).toContain('taskBoard.autoDispatch.defaultAgent is "ruri"');
  });

  it('gives each provider type its documented prompt limit; maxPromptBytes overrides, 0 means none', () => {
    const { config } = load(
      home({
        'config.json': {
          providers: { ...providers, api: { type: 'anthropic', apiKey: 'k' }, local: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1' }, big: { type: 'claude-code', maxPromptBytes: 2_000_000 }, free: { type: 'codex-cli', maxPromptBytes: 0 } },
          agents,
        },
      }),
    );
    expect(config.providers.cmd?.maxPromptBytes).toBeUndefined();
    expect(config.providers.claude?.maxPromptBytes).toBe(640_000);
    expect(config.providers.codex?.maxPromptBytes).toBe(960_000);
    expect(config.providers.api?.maxPromptBytes).toBe(720_000);
    expect(config.providers.local?.maxPromptBytes).toBe(128_000);
    expect(config.providers.big?.maxPromptBytes).toBe(2_000_000);
    expect(config.providers.free?.maxPromptBytes).toBeUndefined();
    expect(thrown(() => load(home({ 'config.json': { providers: { cmd: { type: 'command', path: '/bin/cat', maxPromptBytes: -1 } } } }))).message).toContain('providers.cmd.maxPromptBytes');
  });
});
