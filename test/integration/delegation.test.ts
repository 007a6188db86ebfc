import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { handoffPrompt } from '../../src/agents/handoff.js';
import { daemonPool, type DaemonHarness, type TaskJson } from '../helpers/daemon.js';
import { startRun, step, waitRun, writeWorkflow } from '../helpers/workflow.js';

/**
 * Delegation (`_delegate` blocks) and handoffs against the real daemon, its agents run by
 * delegate-agent.mjs through the `command` provider: a prompt `SCRIPT {json}` says what to answer.
 */
const AGENT = resolve(import.meta.dirname, '../helpers/delegate-agent.mjs');
const pool = daemonPool();
const started: DaemonHarness[] = [];
afterEach(() => {
  for (const d of started.splice(0)) d.killMarked();
});

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: { del: { type: 'command', path: process.execPath, args: [AGENT] } },
    defaultProvider: 'del',
    agents: { a: { provider: 'del' }, b: { provider: 'del' }, c: { provider: 'del' } },
    ...extra,
  };
}

async function daemon(extra: Record<string, unknown> = {}): Promise<DaemonHarness> {
  const d = await pool.start(config(extra));
  started.push(d);
  return d;
}

const script = (s: Record<string, unknown>) => `SCRIPT ${JSON.stringify(s)}`;
const block = (agent: string, task: string, reason?: string, key: 'agent' | 'role' = 'agent') => JSON.stringify({ _delegate: { [key]: agent, task, ...(reason ? { reason } : {}) } });
const refused = (agent: string, why: string) => `\n---\n[Delegation to ${agent} refused]\n${why}`;

/** BYTES of UTF-8 mixing ASCII, code (braces, quotes, backslashes), CJK and emoji, cut on a character boundary. */
function mixed(bytes: number): string {
  const unit = Buffer.from('fn main() { let s = "}{\\"q\\""; } 漢字かな한국어 🎉🚀 é ñ\n', 'utf8');
  const out = Buffer.alloc(bytes);
  let pos = 0;
  while (pos + unit.length <= bytes) pos += unit.copy(out, pos);
  while (pos < bytes) out[pos++] = 0x2e;
  return out.toString('utf8');
}

interface Links {
  parent: { id: string; agent: string | null; status: string; kind?: string; reason?: string | null } | null;
  children: Array<{ id: string; agent: string | null; status: string; ord: number; reason: string | null }>;
  handoffsFrom: Array<{ id: string; status: string }>;
  handoffsTo: Array<{ id: string; status: string }>;
}
type Full = TaskJson & { links: Links; prompt: string; sessionKey: string | null; source: string; outputTruncated?: boolean };

async function until(pred: () => Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not reached within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const full = (d: DaemonHarness, id: string) => d.json<Full>(`/api/tasks/${id}`).then((r) => r.body);
const wholeOutput = async (d: DaemonHarness, id: string) => (await d.fetch(`/api/tasks/${id}/output`)).text();
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('delegation', () => {
  it('runs three children (one nested two levels) on a pool of maxConcurrent 1, appends their whole outputs byte for byte, refuses a fourth block, an unknown agent and a block past maxDepth with notes, and ?wait answers once, after the children', async () => {
    // maxOutputBytes below the big child's output: its output and the parent's result are kept in files.
    const d = await daemon({ maxConcurrent: 1, maxOutputBytes: 100_000 });
    const big = mixed(200_000);
    const bigFile = join(d.home, 'big.txt');
    writeFileSync(bigFile, big);

    // depth 2: may not delegate (maxDepth 2), its block is refused with a note.
    const grandOut = `grandchild here\n${block('a', script({ out: 'never runs' }), 'too deep')}`;
    const grandResult = grandOut + refused('a', 'this task is at delegation depth 2 and agentComm.maxDepth is 2; a delegated task may not delegate further');
    // depth 1: delegates once more.
    const child3Out = `child three {"not": "a block"}\n${block('c', script({ out: grandOut }), 'nested')}`;
    const child3Result = `${child3Out}\n---\n[Delegated to c]\n${grandResult}`;
    const parentOut = [
      'The parent answers, then delegates:',
      '```json',
      block('b', script({ outFile: bigFile }), 'the big one'),
      '```',
      block('c', script({ out: 'child two says "hi" {}' }), undefined, 'role'),
      block('b', script({ out: child3Out })),
      block('c', script({ out: 'a fourth child' }), 'over the cap'),
      block('ghost', script({ out: 'nobody' })),
      'end of the parent',
    ].join('\n');

    const res = await d.dispatch({ agent: 'a', sessionKey: 'chat-1', prompt: script({ out: parentOut }) }, '?wait=true&timeout=60000');
    expect(res.status).toBe(200);
    const answered = res.body.tasks[0] as Full;
    expect(answered.status).toBe('succeeded');

    const expected =
      `${parentOut}\n---\n[Delegated to b]\n${big}\n---\n[Delegated to c]\nchild two says "hi" {}\n---\n[Delegated to b]\n${child3Result}` +
      refused('c', 'over agentComm.maxChildrenPerTask (3) for one output') +
      refused('ghost', 'agent "ghost" is not in the config');
    // Larger than maxOutputBytes: the row keeps the head, the whole is served from its file.
    expect(answered.outputTruncated).toBe(true);
    expect(Buffer.from(await wholeOutput(d, answered.id)).equals(Buffer.from(expected))).toBe(true);

    // When ?wait answered, every child had ended; the parent ended once, after waiting.
    const parent = await full(d, answered.id);
    expect(parent.links.children.map((c) => [c.agent, c.status, c.ord, c.reason])).toEqual([
      ['b', 'succeeded', 0, 'the big one'],
      ['c', 'succeeded', 1, null],
      ['b', 'succeeded', 2, null],
    ]);
    const types = await eventTypes(d, answered.id);
    expect(types.filter((t) => t === 'succeeded')).toHaveLength(1);
    expect(types.indexOf('waiting')).toBeGreaterThan(-1);
    expect(types.indexOf('waiting')).toBeLessThan(types.indexOf('succeeded'));

    // Children: source delegate, their own session (never the parent's), parent link.
    for (const c of parent.links.children) {
      const child = await full(d, c.id);
      expect(child.source).toBe('delegate');
      expect(child.sessionKey).toBeNull();
      expect(child.links.parent).toMatchObject({ id: answered.id, kind: 'delegate' });
    }
    const third = await full(d, parent.links.children[2]!.id);
    expect(third.links.children).toHaveLength(1);
    expect(third.output).toBe(child3Result);
    // The big child's whole output, byte for byte (kept in its file).
    expect(Buffer.from(await wholeOutput(d, parent.links.children[0]!.id)).equals(Buffer.from(big))).toBe(true);

    // `tetora task show` lists the children, and a child its parent.
    const shown = await d.cli(['task', 'show', answered.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('children (delegated)');
    for (const c of parent.links.children) expect(shown.stdout).toContain(`${c.id}  ${c.agent}  succeeded`);
    const childShown = await d.cli(['task', 'show', parent.links.children[0]!.id]);
    expect(childShown.stdout).toContain(`parent    ${answered.id}  a  succeeded  — the big one  (delegate)`);
  });

  it('an output whose blocks are all refused succeeds at once with the notes', async () => {
    const d = await daemon({ agentComm: { maxDepth: 0 } });
    const out = `no delegation here\n${block('b', script({ out: 'x' }))}`;
    const res = await d.dispatch({ agent: 'a', prompt: script({ out }) }, '?wait=true');
    const t = res.body.tasks[0] as Full;
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe(out + refused('b', 'this task is at delegation depth 0 and agentComm.maxDepth is 0; a delegated task may not delegate further'));
    expect((await full(d, t.id)).links.children).toEqual([]);
  });

  it('cancelling a waiting parent cancels its children (the parent first: it is not completed by them); cancelling one child lets the parent compose', async () => {
    const d = await daemon({ maxConcurrent: 4 });
    const gate = join(d.home, 'gate');
    const count = join(d.home, 'count');
    const held = (n: number) => script({ out: `held ${n}`, gate, count });
    const res = await d.dispatch({ agent: 'a', prompt: script({ out: `${block('b', held(1))}\n${block('c', held(2))}` }) });
    const id = res.body.id!;
    await until(async () => (await full(d, id)).status === 'waiting' && lines(count).length === 2, 'parent waiting, both children started');
    const kids = (await full(d, id)).links.children;
    const cancelled = await d.json<TaskJson>(`/api/tasks/${id}/cancel`, { method: 'POST' });
    expect(cancelled.body.status).toBe('cancelled');
    const ended = await d.waitTerminal(kids.map((k) => k.id));
    for (const k of ended) {
      expect(k.status).toBe('cancelled');
      expect(k.error?.message).toContain(`cancelled with its parent task ${id}`);
    }
    const after = await full(d, id);
    expect(after.status).toBe('cancelled');
    expect(after.output).not.toContain('[Delegated to');

    // One child cancelled on its own: the parent composes with the child's status and message.
    const res2 = await d.dispatch({ agent: 'a', prompt: script({ out: `two children\n${block('b', script({ out: 'quick' }))}\n${block('c', held(3))}` }) });
    const id2 = res2.body.id!;
    await until(async () => {
      const p = await full(d, id2);
      return p.status === 'waiting' && p.links.children.length === 2 && p.links.children[0]!.status === 'succeeded' && lines(count).length === 3;
    }, 'first child done, second started');
    const second = (await full(d, id2)).links.children[1]!.id;
    await d.json(`/api/tasks/${second}/cancel`, { method: 'POST' });
    const [p2] = await d.waitTerminal([id2]);
    expect(p2!.status).toBe('succeeded');
    expect(p2!.output).toBe(`two children\n${block('b', script({ out: 'quick' }))}\n${block('c', held(3))}\n---\n[Delegated to b]\nquick\n---\n[Delegated to c]\n(cancelled: cancelled by api)`);
  });

  it('a composed result too large for the row that cannot be kept in a file fails the parent saying so (never cut), and the child still ends', async () => {
    const d = await daemon({ maxOutputBytes: 1000 });
    const gate = join(d.home, 'gate');
    const count = join(d.home, 'count');
    const res = await d.dispatch({ agent: 'a', prompt: script({ out: `${'x'.repeat(900)}\n${block('b', script({ out: 'y'.repeat(900), gate, count }))}` }) });
    const id = res.body.id!;
    await until(async () => (await full(d, id)).status === 'waiting' && lines(count).length === 1, 'parent waiting, child started');
    // Where the composed result would go is taken by a file: the folder cannot be made.
    mkdirSync(join(d.home, 'runtime', 'runs', id), { recursive: true });
    writeFileSync(join(d.home, 'runtime', 'runs', id, 'composed'), 'in the way');
    writeFileSync(gate, '');
    const [p] = await d.waitTerminal([id]);
    expect(p!.status).toBe('failed');
    expect(p!.error?.message).toContain('could not be kept in a file');
    const child = (await full(d, id)).links.children[0]!;
    expect(child.status).toBe('succeeded');
  });

  it('a workflow step whose task delegates ends once, after the children, with the composed result (and the next step gets it whole)', async () => {
    const d = await daemon({ maxConcurrent: 1 });
    const out = `step one\n${block('b', script({ out: 'child of the step' }))}`;
    const composed = `${out}\n---\n[Delegated to b]\nchild of the step`;
    writeWorkflow(d, {
      name: 'delegating',
      steps: [
        { id: 's1', agent: 'a', prompt: script({ out }) },
        { id: 's2', agent: 'c', prompt: '{{steps.s1.output}}', dependsOn: ['s1'] },
      ],
    });
    const r = await waitRun(d, await startRun(d, 'delegating'));
    expect(r.status).toBe('success');
    expect(step(r, 's1').output).toBe(composed);
    // s2 got the composed result whole as its prompt (its agent echoes it, so it delegates once more: a
    // block in a task's output is a block, wherever it came from).
    expect((await full(d, step(r, 's2').taskId!)).prompt).toBe(composed);
    const parent = await full(d, step(r, 's1').taskId!);
    expect(parent.links.children.map((c) => c.status)).toEqual(['succeeded']);
  });

  it('a daemon SIGKILLed while the parent runs (its run re-attached) and again while it waits finishes the parent after the restarts, the parent and each child run once', async () => {
    const d = await daemon({ maxConcurrent: 2 });
    const gate = join(d.home, 'gate');
    const parentGate = join(d.home, 'parent-gate');
    const parentCount = join(d.home, 'count-parent');
    const counts = [1, 2, 3].map((n) => join(d.home, `count-${n}`));
    const kid = (n: number) => script({ out: `child ${n} done`, gate, count: counts[n - 1] });
    const out = `three held children\n${block('b', kid(1))}\n${block('c', kid(2))}\n${block('b', kid(3))}`;
    const res = await d.dispatch({ agent: 'a', prompt: script({ out, gate: parentGate, count: parentCount }) });
    const id = res.body.id!;
    const started = () => counts.reduce((n, c) => n + lines(c).length, 0);

    // 1. Killed while the parent's agent runs: the next daemon re-attaches to that run, whose success delegates.
    await until(async () => lines(parentCount).length === 1, 'parent agent started');
    d.kill('SIGKILL');
    await d.exited();
    await d.start();
    writeFileSync(parentGate, '');
    // 2. Killed while the parent waits: two children run (maxConcurrent 2), the third is queued.
    await until(async () => (await full(d, id)).status === 'waiting' && started() === 2, 'parent waiting, two children started');
    d.kill('SIGKILL');
    await d.exited();
    await d.start();
    writeFileSync(gate, '');
    const [p] = await d.waitTerminal([id]);
    expect(p!.status).toBe('succeeded');
    expect(p!.output).toBe(`${out}\n---\n[Delegated to b]\nchild 1 done\n---\n[Delegated to c]\nchild 2 done\n---\n[Delegated to b]\nchild 3 done`);
    expect(lines(parentCount)).toHaveLength(1);
    for (const c of counts) expect(lines(c)).toHaveLength(1);
    expect(p!.runs).toBe(1);
    const types = await eventTypes(d, id);
    expect(types).toContain('adopted');
    expect(types.filter((t) => t === 'succeeded')).toHaveLength(1);
  });
});

describe('handoff', () => {
  it('hands the source task its whole output (1 MB of mixed UTF-8) byte for byte, from the API and the CLI, and records the link', async () => {
    const d = await daemon();
    const big = mixed(1024 * 1024);
    const bigFile = join(d.home, 'finding.txt');
    writeFileSync(bigFile, big);
    const src = await d.dispatch({ agent: 'a', prompt: script({ outFile: bigFile }) }, '?wait=true');
    const srcId = src.body.id!;
    expect(src.body.tasks[0]!.status).toBe('succeeded');

    // The receiving agent answers with its prompt: the prompt it got is what it answers.
    const viaApi = await d.dispatch({ agent: 'b', handoffFrom: srcId, prompt: 'Review this finding.' }, '?wait=true');
    expect(viaApi.status).toBe(200);
    const t = await full(d, viaApi.body.id!);
    const want = handoffPrompt(big, 'Review this finding.');
    expect(t.prompt === want).toBe(true);
    expect(Buffer.from(t.output ?? '').equals(Buffer.from(want))).toBe(true);
    expect(t.links.handoffsFrom.map((l) => l.id)).toEqual([srcId]);

    const viaCli = await d.cli(['dispatch', '--handoff-from', srcId, '--agent', 'c', '--wait', 'Now summarise it.']);
    expect(viaCli.code).toBe(0);
    expect(Buffer.from(viaCli.stdout).equals(Buffer.from(`${handoffPrompt(big, 'Now summarise it.')}\n`))).toBe(true);

    const source = await full(d, srcId);
    expect(source.links.handoffsTo.map((l) => l.id)).toHaveLength(2);
    expect(source.links.handoffsTo[0]!.id).toBe(viaApi.body.id);
    const shown = await d.cli(['task', 'show', srcId]);
    expect(shown.stdout).toContain('handed off to');
    expect((await d.cli(['task', 'show', viaApi.body.id!])).stdout).toContain(`handoff from\n  ${srcId}  a  succeeded`);
  });

  it('refuses a missing or failed source with a clear 4xx naming it, and records nothing', async () => {
    const d = await daemon();
    const before = (await d.json<{ tasks: unknown[] }>('/api/tasks?limit=100')).body.tasks.length;
    const missing = await d.dispatch({ agent: 'b', handoffFrom: 'no-such-task', prompt: 'go' });
    expect(missing.status).toBe(404);
    const mb = missing.body as unknown as { error: { code: string; message: string } };
    expect(mb.error.code).toBe('TET_ERR_HANDOFF_SOURCE_NOT_FOUND');
    expect(mb.error.message).toContain('no-such-task');

    const failed = await d.dispatch({ agent: 'a', prompt: script({ exit: 3 }), maxAttempts: 1 }, '?wait=true');
    const failedId = failed.body.id!;
    expect(failed.body.tasks[0]!.status).toBe('failed');
    const refusedRes = await d.dispatch({ agent: 'b', handoffFrom: failedId, prompt: 'go' });
    expect(refusedRes.status).toBe(409);
    const rb = refusedRes.body as unknown as { error: { code: string; message: string } };
    expect(rb.error.code).toBe('TET_ERR_HANDOFF_SOURCE_NOT_SUCCEEDED');
    expect(rb.error.message).toContain(`task ${failedId} is failed`);

    const cli = await d.cli(['dispatch', '--handoff-from', 'no-such-task', '--agent', 'b', 'go']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('no-such-task');
    // Only the failed source was recorded.
    expect((await d.json<{ tasks: unknown[] }>('/api/tasks?limit=100')).body.tasks.length).toBe(before + 1);
  });
});

/** The event types of a task, in order (the stream ends after the terminal event). */
async function eventTypes(d: DaemonHarness, id: string): Promise<string[]> {
  const res = await d.fetch(`/api/tasks/${id}/events`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('event: '))
    .map((l) => l.slice(7));
}
