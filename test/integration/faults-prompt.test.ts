import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonPool, TOKEN, type DaemonHarness } from '../helpers/daemon.js';
import { FAKE_AGENT } from '../helpers/engine-harness.js';
import { postRaw } from '../helpers/faults.js';
import { getRun, writeWorkflow } from '../helpers/workflow.js';

// Issue 14, faults beyond crashes: a prompt of 10 MB through HTTP, the CLI and a workflow step.
const pool = daemonPool();
const MiB = 1024 * 1024;
const TEN_MB = 10_000_000;

/** Agents a/b on the fake provider (no prompt limit) and `small` on one that takes at most 1 MB. */
const config = (extra: Record<string, unknown> = {}) => ({
  providers: {
    fake: { type: 'command', path: process.execPath, args: [FAKE_AGENT] },
    small: { type: 'command', path: process.execPath, args: [FAKE_AGENT], maxPromptBytes: 1_000_000 },
  },
  agents: { a: { provider: 'fake' }, b: { provider: 'fake' }, small: { provider: 'small' } },
  ...extra,
});

/** A fake-agent prompt of exactly `bytes` bytes whose agent answers with the byte count of what it read. */
function hugePrompt(d: DaemonHarness, bytes: number): string {
  const head = d.prompt({ inputBytes: true });
  const pad = bytes - Buffer.byteLength(head) - ',"pad":""'.length;
  const p = `${head.slice(0, -1)},"pad":"${'p'.repeat(pad)}"}`;
  expect(Buffer.byteLength(p)).toBe(bytes);
  return p;
}

function vmHwm(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** Polls the store (not the API, whose answers carry the 10 MB prompt) until `sql` gives a row with a terminal `status`. */
async function settled(d: DaemonHarness, sql: string, id: string, done: Set<string>): Promise<void> {
  const end = Date.now() + 120_000;
  for (;;) {
    const row = d.query<{ status: string }>(sql, id)[0];
    if (row && done.has(row.status)) return;
    if (Date.now() > end) throw new Error(`${id} not settled within 120 s: ${row?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const TASK_ENDED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const RUN_ENDED = new Set(['success', 'error', 'cancelled', 'timeout']);
const taskDone = (d: DaemonHarness, id: string) => settled(d, 'SELECT status FROM tasks WHERE id = ?', id, TASK_ENDED).then(() => d.task(id));
const runDone = (d: DaemonHarness, id: string) => settled(d, 'SELECT status FROM workflow_runs WHERE id = ?', id, RUN_ENDED).then(() => getRun(d, id));

const taskCount = (d: DaemonHarness) => d.query<{ n: number }>('SELECT count(*) AS n FROM tasks')[0]!.n;

interface ApiError {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('faults: a prompt of 10 MB', () => {
  it('HTTP: accepted whole under the 10 MiB body limit with bounded memory; beyond it 413 naming the limit and maxRequestBytes; over a provider\'s maxPromptBytes 413 naming that setting; nothing recorded for a refusal', async () => {
    const d = await pool.start(config());
    const before = vmHwm(d.child!.pid!);
    const ok = await d.dispatch({ agent: 'a', prompt: hugePrompt(d, TEN_MB) });
    expect(ok.status).toBe(202);
    const t = await taskDone(d, ok.body.id!);
    expect(t).toMatchObject({ status: 'succeeded', output: String(TEN_MB) }); // the agent read all of it
    const peak = vmHwm(d.child!.pid!);
    console.log(`faults: 10 MB prompt over HTTP: daemon VmHWM ${Math.round(before / MiB)} → ${Math.round(peak / MiB)} MiB`);
    expect(peak).toBeLessThan(512 * MiB);

    const n = taskCount(d);
    const raw = await postRaw(d.port, '/api/dispatch', JSON.stringify({ agent: 'a', prompt: 'p'.repeat(10 * MiB) }), TOKEN);
    expect(raw.status).toBe(413);
    const over = JSON.parse(raw.body) as ApiError;
    expect(over.error.code).toBe('TET_ERR_HTTP_BODY_TOO_LARGE');
    expect(over.error.message).toContain('10240 KiB limit');
    expect(over.error.message).toContain('maxRequestBytes');

    const small = await d.json<ApiError>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'small', prompt: hugePrompt(d, TEN_MB) }) });
    expect(small.status).toBe(413);
    expect(small.body.error.code).toBe('TET_ERR_PROMPT_TOO_LARGE');
    expect(small.body.error.message).toMatch(/^prompt is 10,000,000 bytes, but provider "small" of agent "small" takes at most 1,000,000 bytes \(providers\.small\.maxPromptBytes\); nothing was recorded\./);
    expect(small.body.error.details).toMatchObject({ field: 'prompt', bytes: TEN_MB, limitBytes: 1_000_000 });
    expect(taskCount(d)).toBe(n);
  }, 180_000);

  it('maxRequestBytes sets the body limit: with 1 MiB, a 2 MB prompt gets 413 naming 1024 KiB and the setting, a 0.5 MB one is accepted', async () => {
    const d = await pool.start(config({ maxRequestBytes: MiB }));
    const raw = await postRaw(d.port, '/api/dispatch', JSON.stringify({ agent: 'a', prompt: hugePrompt(d, 2_000_000) }), TOKEN);
    expect(raw.status).toBe(413);
    const over = JSON.parse(raw.body) as ApiError;
    expect(over.error.message).toContain('1024 KiB limit (1048576 bytes: maxRequestBytes in the config');
    expect(over.error.details).toMatchObject({ limitBytes: MiB });
    const ok = await d.dispatch({ agent: 'a', prompt: hugePrompt(d, 500_000) });
    expect(ok.status).toBe(202);
    expect(await taskDone(d, ok.body.id!)).toMatchObject({ status: 'succeeded', output: '500000' });
  });

  it('CLI: `tetora dispatch -` takes 10 MB on stdin and waits for the answer; over maxPromptBytes it exits 64 naming the setting', async () => {
    const d = await pool.start(config());
    const r = await d.cli(['dispatch', '-', '--agent', 'a', '--wait'], hugePrompt(d, TEN_MB));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(String(TEN_MB));
    const n = taskCount(d);
    const small = await d.cli(['dispatch', '-', '--agent', 'small'], hugePrompt(d, TEN_MB));
    expect(small.code).toBe(64);
    expect(small.stderr).toContain('providers.small.maxPromptBytes');
    expect(taskCount(d)).toBe(n);
  }, 180_000);

  it('workflow: a step whose prompt takes a 10 MB output of the step before runs with all of it; a step over its provider\'s maxPromptBytes ends in error naming the setting', async () => {
    const d = await pool.start(config());
    const big = d.prompt({ bigOutput: TEN_MB, lineBytes: TEN_MB, silent: true }); // one line of 9,999,999 bytes and its newline
    const use = (agent: string) => ({ agent, prompt: `${d.prompt({ inputBytes: true }).slice(0, -1)},"pad":"{{steps.big.output}}"}`, dependsOn: ['big'] });
    writeWorkflow(d, { name: 'huge', steps: [{ id: 'big', agent: 'a', prompt: big }, { id: 'use', ...use('b') }] });
    const run = await d.json<{ runId: string }>('/api/workflows/huge/run', { method: 'POST', body: JSON.stringify({ variables: {} }) });
    expect(run.status).toBe(202);
    const r = await runDone(d, run.body.runId);
    expect(r.status).toBe('success');
    const expected = Buffer.byteLength(use('b').prompt) - '{{steps.big.output}}'.length + TEN_MB - 1;
    expect(r.steps.find((s) => s.id === 'use')!.output).toBe(String(expected));

    writeWorkflow(d, { name: 'toobig', steps: [{ id: 'big', agent: 'a', prompt: big }, { id: 'use', ...use('small') }] });
    const run2 = await d.json<{ runId: string }>('/api/workflows/toobig/run', { method: 'POST', body: JSON.stringify({ variables: {} }) });
    const r2 = await runDone(d, run2.body.runId);
    expect(r2.status).toBe('error');
    const s = r2.steps.find((x) => x.id === 'use')!;
    expect(s.status).toBe('error');
    expect(s.error).toContain('providers.small.maxPromptBytes');
  }, 240_000);
});
