import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool, type DaemonHarness } from '../helpers/daemon.js';
import { engineLifecycle, waitFor, waitTerminal, waitUntil } from '../helpers/engine-harness.js';
import { WorkflowRunner } from '../../src/workflows/runner.js';
import { agentStarts, getRun, startRun, step, waitRun, workflowDaemon, workflowHome, writeWorkflow, type RunJson } from '../helpers/workflow.js';

const pool = daemonPool();
const engines = engineLifecycle();

const daemon = (extra: Record<string, unknown> = {}) => workflowDaemon(pool, extra);

async function restart(d: DaemonHarness): Promise<void> {
  d.kill('SIGKILL');
  await d.exited();
  await d.start();
}

/** The same multi-byte text wf-agent.mjs writes for `big=BYTES`. */
function bigText(bytes: number): string {
  const unit = Buffer.from('abc é ñ 漢字かな 🎉 line ', 'utf8');
  const out = Buffer.alloc(bytes);
  let pos = 0;
  while (pos + unit.length <= bytes) pos += unit.copy(out, pos);
  while (pos < bytes) out[pos++] = 0x2e;
  return out.toString('utf8');
}

const count = (list: string[], x: string) => list.filter((s) => s === x).length;

describe('workflow runs: full outputs', () => {
  it('passes a 1 MB multi-byte output through {{steps.X.output}} and a handoff byte for byte', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'big',
      steps: [
        { id: 'gen', agent: 'a', prompt: '@@step=gen@@@@big=1048576@@' },
        { id: 'echo', agent: 'b', prompt: '@@step=echo@@{{steps.gen.output}}', dependsOn: ['gen'] },
        { id: 'ho', type: 'handoff', handoffFrom: 'gen', agent: 'a', prompt: '@@step=ho@@go on', dependsOn: ['gen'] },
      ],
    });
    const id = await startRun(d, 'big');
    const r = await waitRun(d, id);
    expect(r.status, r.error ?? '').toBe('success');
    const want = bigText(1048576);
    expect(Buffer.byteLength(want)).toBe(1048576);
    const gen = step(r, 'gen').output!;
    expect(gen.length).toBe(want.length);
    expect(gen === want).toBe(true);
    expect(step(r, 'echo').output === want).toBe(true);
    expect(step(r, 'ho').output === `[Handoff Context]\n${want}\n\n[Instruction]\ngo on`).toBe(true);
  });
});

describe('workflow runs survive SIGKILL', () => {
  it('a kill in the middle of a step: the step is not run again, the run ends as it would have', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'chain',
      steps: [
        { id: 's1', agent: 'a', prompt: '@@step=s1@@one' },
        // The agent of s2 SIGKILLs the daemon while it runs, then answers.
        { id: 's2', agent: 'a', prompt: '@@step=s2@@@@killDaemon@@@@sleep=300@@two after {{steps.s1.output}}', dependsOn: ['s1'] },
        { id: 's3', agent: 'b', prompt: '@@step=s3@@three after {{steps.s2.output}}', dependsOn: ['s2'] },
      ],
    });
    const id = await startRun(d, 'chain');
    await d.exited();
    await d.start();
    const r = await waitRun(d, id);
    expect(r.status, r.error ?? '').toBe('success');
    expect(step(r, 's3').output).toBe('three after two after one');
    const starts = agentStarts(d);
    expect(count(starts, 's1')).toBe(1);
    expect(count(starts, 's2')).toBe(1);
    expect(count(starts, 's3')).toBe(1);
  });

  it('kills at step boundaries: no ended step runs again, and the run ends as it would have', async () => {
    const d = await daemon();
    const steps = Array.from({ length: 6 }, (_, i) => ({
      id: `c${i}`,
      agent: i % 2 ? 'a' : 'b',
      prompt: `@@step=c${i}@@@@sleep=150@@${i === 0 ? 'x' : `{{steps.c${i - 1}.output}}+`}`,
      ...(i > 0 ? { dependsOn: [`c${i - 1}`] } : {}),
    }));
    writeWorkflow(d, { name: 'boundaries', steps: [...steps, { id: 'tool', type: 'tool_call', toolName: 'shell', toolInput: { command: 'printf', args: ['%s', '{{steps.c5.output}}'] }, dependsOn: ['c5'] }] });
    const id = await startRun(d, 'boundaries');
    // Kill the daemon each time a step has just ended (the next one may or may not have started).
    for (const at of ['c0', 'c2', 'c4']) {
      await waitRun(d, id, (r) => step(r, at).status === 'success', 30_000);
      await restart(d);
    }
    const r = await waitRun(d, id);
    expect(r.status, r.error ?? '').toBe('success');
    expect(step(r, 'c5').output).toBe('x+++++');
    expect(step(r, 'tool').output).toBe('x+++++');
    const starts = agentStarts(d);
    for (let i = 0; i < 6; i++) expect(count(starts, `c${i}`), `c${i}`).toBe(1);
  });

  it('an in-daemon step (tool_call) cut by a crash runs again at the next start (at least once), and the run ends as it would have', async () => {
    const d = await daemon();
    const marks = join(d.home, 'marks.txt');
    writeWorkflow(d, {
      name: 'tool-crash',
      steps: [
        { id: 'slow', type: 'tool_call', toolName: 'shell', toolInput: { command: `echo "started $TETORA_IDEMPOTENCY_KEY $TETORA_STEP_ATTEMPT" >> ${marks}; sleep 1; printf finished` } },
        { id: 'after', agent: 'a', prompt: '@@step=after@@after {{steps.slow.output}}', dependsOn: ['slow'] },
      ],
    });
    const id = await startRun(d, 'tool-crash');
    await waitUntil(() => existsSync(marks));
    await restart(d);
    const r = await waitRun(d, id);
    expect(r.status, r.error ?? '').toBe('success');
    expect(step(r, 'after').output).toBe('after finished');
    // Both runs of the step get the same key (a command can make its side effect once); a re-run after a
    // crash is the same attempt (attempts count retries under onError: retry).
    expect(readFileSync(marks, 'utf8')).toBe(`started tetora-${id}-slow-1 1\nstarted tetora-${id}-slow-1 1\n`);
    expect(count(agentStarts(d), 'after')).toBe(1);
  });

  it('a waiting approval still waits after a restart, and a delay keeps its end time across a restart', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'waits',
      steps: [
        { id: 'pause', type: 'delay', delay: '10s' },
        { id: 'gate', type: 'human', humanPrompt: 'go?', dependsOn: ['pause'] },
        { id: 'after', agent: 'a', prompt: '@@step=after@@approved: {{steps.gate.output}}', dependsOn: ['gate'] },
      ],
    });
    const id = await startRun(d, 'waits');
    type Step = RunJson['steps'][number] & { startedAt: string; endedAt: string; waitingUntil: string | null };
    const before = step(await waitRun(d, id, (r) => step(r, 'pause').status === 'waiting'), 'pause') as Step;
    expect(Date.parse(before.waitingUntil!) - Date.parse(before.startedAt)).toBe(10_000);
    await restart(d);
    const during = step(await getRun(d, id), 'pause') as Step;
    // The wait goes on to the same end, not from scratch. (Only a restart slower than the 10 s delay — a
    // badly loaded machine — finds it over already; the CI run that first met that had a 6 s delay.)
    expect(during.status === 'waiting' || during.status === 'success').toBe(true);
    if (during.status === 'waiting') expect(during.waitingUntil).toBe(before.waitingUntil);
    let r = await waitRun(d, id, (x) => step(x, 'gate').status === 'waiting');
    expect(Date.parse((step(r, 'pause') as Step).endedAt)).toBeGreaterThanOrEqual(Date.parse(before.waitingUntil!));
    await restart(d);
    r = await getRun(d, id);
    expect(r.status).toBe('running');
    expect(step(r, 'gate').status).toBe('waiting');
    expect(agentStarts(d)).toEqual([]);
    const ok = await d.cli(['workflow', 'approve', id, 'gate']);
    expect(ok.code, ok.stderr).toBe(0);
    r = await waitRun(d, id);
    expect(r.status).toBe('success');
    expect(step(r, 'after').output).toBe('approved: approved');
  });

  it('a step whose task ended while no runner watched it is recorded at the next start (step rows reconciled with their tasks)', async () => {
    const h = workflowHome({ name: 'two', steps: [{ id: 'one', agent: 'a', prompt: '@@step=one@@@@sleep=200@@first' }, { id: 'two', agent: 'b', prompt: '@@step=two@@then {{steps.one.output}}', dependsOn: ['one'] }] });
    const e1 = engines.track(h.engine());
    const w1 = new WorkflowRunner({ engine: e1, config: () => e1.config });
    await e1.start();
    await w1.boot();
    const { runId } = await w1.start('two', {}, { source: 'test' });
    await waitFor(e1, () => w1.steps(runId).find((s) => s.stepId === 'one')?.taskId != null);
    // The runner goes away (its hook with it) while the task runs: the task's end is recorded without it.
    w1.stop();
    w1.detach();
    const taskId = w1.steps(runId).find((s) => s.stepId === 'one')!.taskId!;
    await waitTerminal(e1, [taskId]);
    expect(w1.steps(runId).find((s) => s.stepId === 'one')!.status).toBe('running');
    await e1.stop();
    const e2 = engines.track(h.engine());
    const w2 = new WorkflowRunner({ engine: e2, config: () => e2.config });
    await e2.start();
    await w2.boot();
    await waitUntil(() => w2.getRun(runId).status !== 'running', 20_000);
    expect(w2.getRun(runId).status).toBe('success');
    expect(w2.steps(runId).find((s) => s.stepId === 'two')!.output).toBe('then first');
    w2.stop();
    const starts = readFileSync(join(h.home, 'wf-log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: string; step: string }));
    expect(starts.filter((x) => x.event === 'start').map((x) => x.step)).toEqual(['one', 'two']);
  });
});

describe('workflow runner API (in-process)', () => {
  it('start returns once the run and its steps are committed; subscribe hears the run and step lifecycle in order', async () => {
    const h = workflowHome({ name: 'pair', steps: [{ id: 'x', agent: 'a', prompt: '@@step=x@@1' }, { id: 'y', agent: 'b', prompt: '@@step=y@@2', dependsOn: ['x'] }] });
    const e = engines.track(h.engine());
    const w = new WorkflowRunner({ engine: e, config: () => e.config });
    await e.start();
    await w.boot();
    const seen: string[] = [];
    const off = w.subscribe((ev) => seen.push(`${ev.type}${ev.step ? `:${ev.step}` : ''}:${ev.status}:${ev.workflow}`));
    const { runId } = await w.start('pair', {}, { source: 'trigger:nightly', trigger: { name: 'nightly', type: 'cron' } });
    expect(w.getRun(runId)).toMatchObject({ status: 'running', source: 'trigger:nightly' });
    expect(w.steps(runId).map((x) => x.status)).toEqual(['pending', 'pending']);
    await waitUntil(() => w.getRun(runId).status !== 'running' && seen.length >= 6, 20_000);
    off();
    w.stop();
    expect(seen).toEqual([
      'workflow.started:running:pair',
      'step.started:x:running:pair',
      'step.completed:x:success:pair',
      'step.started:y:running:pair',
      'step.completed:y:success:pair',
      'workflow.completed:success:pair',
    ]);
  });
});

describe('workflow runner: trigger firings', () => {
  it('a firing started again with its idempotency key (recorded, not confirmed before a crash) finds the run it made', async () => {
    const h = workflowHome({ name: 'once', steps: [{ id: 'x', agent: 'a', prompt: '@@step=x@@1' }] });
    const e = engines.track(h.engine());
    const w = new WorkflowRunner({ engine: e, config: () => e.config });
    await e.start();
    await w.boot();
    const trigger = { name: 'nightly', kind: 'cron', firingId: 1, scheduledAt: 60_000, idempotencyKey: 'trigger:nightly:60000' };
    const first = await w.start('once', {}, { source: 'trigger', trigger });
    const again = await w.start('once', {}, { source: 'trigger', trigger });
    const other = await w.start('once', {}, { source: 'trigger', trigger: { ...trigger, firingId: 2, scheduledAt: 120_000, idempotencyKey: 'trigger:nightly:120000' } });
    expect(again.runId).toBe(first.runId);
    expect(other.runId).not.toBe(first.runId);
    await waitUntil(() => w.getRun(first.runId).status !== 'running' && w.getRun(other.runId).status !== 'running', 20_000);
    w.stop();
  });
});

describe('workflow runs cancelled just before a crash', () => {
  it('a step still running in a run that ended (the crash came between the cancel and its task\'s) is cancelled at the next start', async () => {
    const h = workflowHome({ name: 'long', steps: [{ id: 'slow', agent: 'a', prompt: '@@step=slow@@@@sleep=60000@@' }] });
    const e1 = engines.track(h.engine());
    const w1 = new WorkflowRunner({ engine: e1, config: () => e1.config });
    await e1.start();
    await w1.boot();
    const { runId } = await w1.start('long', {}, { source: 'test' });
    await waitUntil(() => w1.steps(runId)[0]?.status === 'running');
    // The cancel's first transaction committed, then the daemon died before it cancelled the task.
    w1.store.updateRun(runId, ['running'], { status: 'cancelled', error: 'cancelled by test', cancelRequested: 1, finishedAt: Date.now() }, Date.now());
    w1.stop();
    w1.detach();
    await e1.stop();
    const e2 = engines.track(h.engine());
    const w2 = new WorkflowRunner({ engine: e2, config: () => e2.config });
    await e2.start();
    await w2.boot();
    await waitUntil(() => w2.steps(runId)[0]?.status !== 'running', 20_000);
    const s = w2.steps(runId)[0]!;
    expect(s.status).toBe('cancelled');
    expect(e2.get(s.taskId!)?.status).toBe('cancelled');
    expect(w2.getRun(runId).status).toBe('cancelled');
    w2.stop();
  });
});

describe('workflow runs: errors, retries, resume, cancel, timeout', () => {
  it('retryMax retries a failed step, onError skip goes on, onError stop ends the run in error', async () => {
    const d = await daemon();
    const marks = join(d.home, 'marks.txt');
    writeWorkflow(d, {
      name: 'errors',
      steps: [
        { id: 'flaky', agent: 'a', prompt: '@@step=flaky@@@@failRuns=2@@ok at last', retryMax: 2, retryDelay: '50ms' },
        // An in-daemon step failing its first attempt: the retry is a new attempt with a key of its own.
        { id: 'flakysh', type: 'tool_call', toolName: 'shell', toolInput: { command: `echo "$TETORA_IDEMPOTENCY_KEY $TETORA_STEP_ATTEMPT" >> ${marks}; [ "$TETORA_STEP_ATTEMPT" -ge 2 ]` }, retryMax: 1, retryDelay: '50ms' },
        { id: 'optional', agent: 'a', prompt: '@@step=optional@@@@exit=1@@', onError: 'skip', dependsOn: ['flaky', 'flakysh'] },
        { id: 'next', agent: 'b', prompt: '@@step=next@@{{steps.flaky.output}} / {{steps.optional.status}}', dependsOn: ['optional'] },
        { id: 'broken', agent: 'b', prompt: '@@step=broken@@@@exit=2@@', dependsOn: ['next'] },
        { id: 'never', agent: 'b', prompt: '@@step=never@@', dependsOn: ['broken'] },
      ],
    });
    const id = await startRun(d, 'errors');
    const r = await waitRun(d, id);
    expect(r.status).toBe('error');
    expect(step(r, 'flaky')).toMatchObject({ status: 'success', attempt: 3, output: 'ok at last' });
    expect(step(r, 'flakysh')).toMatchObject({ status: 'success', attempt: 2 });
    expect(readFileSync(marks, 'utf8')).toBe(`tetora-${id}-flakysh-1 1\ntetora-${id}-flakysh-2 2\n`);
    expect(step(r, 'optional').status).toBe('skipped');
    expect(step(r, 'next').output).toBe('ok at last / skipped');
    expect(step(r, 'broken').status).toBe('error');
    expect(step(r, 'broken').error).toMatch(/failing on purpose/);
    expect(step(r, 'never').status).toBe('skipped');
    expect(r.error).toMatch(/step "broken" failed/);
    expect(agentStarts(d)).not.toContain('never');
    expect(count(agentStarts(d), 'flaky')).toBe(3);
  });

  it('resume from the failed step keeps earlier outputs; --from re-runs that step and its dependants only', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'resumable',
      steps: [
        { id: 'r1', agent: 'a', prompt: '@@step=r1@@first' },
        { id: 'r2', agent: 'a', prompt: '@@step=r2@@@@failRuns=1@@second after {{steps.r1.output}}', dependsOn: ['r1'] },
        { id: 'r3', agent: 'b', prompt: '@@step=r3@@third after {{steps.r2.output}}', dependsOn: ['r2'] },
        { id: 'side', agent: 'b', prompt: '@@step=side@@side after {{steps.r1.output}}', dependsOn: ['r1'] },
      ],
    });
    const id = await startRun(d, 'resumable');
    const failed = await waitRun(d, id);
    expect(failed.status).toBe('error');
    const res = await d.cli(['workflow', 'resume', id, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const second = (JSON.parse(res.stdout) as { runId: string }).runId;
    const r = await waitRun(d, second);
    expect(r.status, r.error ?? '').toBe('success');
    expect(step(r, 'r1')).toMatchObject({ carried: true, output: 'first' });
    expect(step(r, 'r3').output).toBe('third after second after first');
    expect((await getRun(d, id)).status).toBe('resumed');
    expect((await getRun(d, id)).resumedAs).toBe(second);
    let starts = agentStarts(d);
    expect(count(starts, 'r1')).toBe(1);
    expect(count(starts, 'r2')).toBe(2);
    expect(count(starts, 'side')).toBe(1);
    // A run that succeeded cannot be resumed; a --from on a failed one re-runs only that step and what depends on it.
    const refused = await d.json<{ error: { code: string } }>(`/api/workflow-runs/${second}/resume`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TET_ERR_WORKFLOW_RUN_STATE');
    writeWorkflow(d, {
      name: 'from-test',
      steps: [
        { id: 'f1', agent: 'a', prompt: '@@step=f1@@one' },
        { id: 'f2', agent: 'a', prompt: '@@step=f2@@two after {{steps.f1.output}}', dependsOn: ['f1'] },
        { id: 'f3', agent: 'b', prompt: '@@step=f3@@@@failRuns=1@@three after {{steps.f2.output}}', dependsOn: ['f2'] },
        { id: 'fside', agent: 'b', prompt: '@@step=fside@@side after {{steps.f1.output}}', dependsOn: ['f1'] },
      ],
    });
    const f = await startRun(d, 'from-test');
    expect((await waitRun(d, f)).status).toBe('error');
    const again = await d.json<{ runId: string }>(`/api/workflow-runs/${f}/resume`, { method: 'POST', body: JSON.stringify({ from: 'f2' }) });
    expect(again.status).toBe(202);
    const third = await waitRun(d, again.body.runId);
    expect(third.status, third.error ?? '').toBe('success');
    expect(step(third, 'f1').carried).toBe(true);
    expect(step(third, 'fside').carried).toBe(true);
    expect(step(third, 'f2').carried).toBe(false);
    expect(step(third, 'f3').output).toBe('three after two after one');
    starts = agentStarts(d);
    expect(count(starts, 'f1')).toBe(1);
    expect(count(starts, 'fside')).toBe(1);
    expect(count(starts, 'f2')).toBe(2);
    expect(count(starts, 'f3')).toBe(2);
    const unknown = await d.json<{ error: { code: string } }>(`/api/workflow-runs/${again.body.runId}/resume`, { method: 'POST', body: JSON.stringify({ from: 'nope' }) });
    expect(unknown.status).toBe(409);
  });

  it('cancel stops the running step and marks the rest cancelled; a run timeout ends the run as timeout', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'slow',
      steps: [
        { id: 'long', agent: 'a', prompt: '@@step=long@@@@sleep=60000@@' },
        { id: 'later', agent: 'a', prompt: '@@step=later@@', dependsOn: ['long'] },
      ],
    });
    const id = await startRun(d, 'slow');
    const running = await waitRun(d, id, (r) => step(r, 'long').status === 'running' && agentStarts(d).includes('long'));
    const c = await d.cli(['workflow', 'cancel', id]);
    expect(c.code, c.stderr).toBe(0);
    const r = await waitRun(d, id, (x) => x.status === 'cancelled' && step(x, 'long').status === 'cancelled');
    expect(step(r, 'later').status).toBe('cancelled');
    expect((await d.task(step(running, 'long').taskId!)).status).toBe('cancelled');
    const twice = await d.json<{ error: { code: string } }>(`/api/workflow-runs/${id}/cancel`, { method: 'POST', body: '{}' });
    expect(twice.status).toBe(409);

    writeWorkflow(d, { name: 'timed', timeout: '1s', steps: [{ id: 'long', agent: 'a', prompt: '@@step=long@@@@sleep=60000@@' }, { id: 'later', agent: 'a', prompt: 'x', dependsOn: ['long'] }] });
    const t = await startRun(d, 'timed');
    const tr = await waitRun(d, t, (x) => x.status === 'timeout' && step(x, 'long').status === 'cancelled');
    expect(tr.error).toMatch(/timeout/);
    expect(step(tr, 'later').status).toBe('cancelled');
    expect(agentStarts(d)).not.toContain('later');
  });
});

