import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type FakeModelServer, type FakeRequest } from '../fake-model-server/server.mjs';
import { DaemonHarness, readSse, type SseEvent } from '../helpers/daemon.js';
import { processAlive, waitUntil } from '../helpers/engine-harness.js';
import { claudeProvider } from '../helpers/provider-harness.js';

/**
 * Issue 9: a run of the REAL claude CLI (pinned devDependency, against the fake model server) survives a
 * SIGKILL of the daemon and its restart by re-attachment. The fake holds claude's last answer behind a
 * gate until the new daemon has adopted the run, so the run is alive and waiting while no daemon watches it.
 */
let daemons: DaemonHarness[] = [];
let fakes: FakeModelServer[] = [];
afterEach(async () => {
  for (const d of daemons) await d.stop();
  for (const d of daemons) d.killMarked();
  for (const f of fakes) await f.close();
  daemons = [];
  fakes = [];
});

function dbRuns(d: DaemonHarness, taskId: string): Array<{ run: number; pid: number | null }> {
  return d.query('SELECT run, pid FROM task_runs WHERE task_id = ? ORDER BY run', taskId);
}

/** A request that starts a conversation: the user's prompt and nothing the model said before. */
const startsConversation = (r: FakeRequest) =>
  Array.isArray(r.body?.messages) && !(r.body.messages as Array<{ role: string }>).some((m) => m.role === 'assistant') && JSON.stringify(r.body.messages).includes('run echo');

/** A task's event history over SSE, up to the first event that `stop` accepts (or the end of a finished task's stream). */
async function history(d: DaemonHarness, id: string, stop?: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  return readSse(await d.fetch(`/api/tasks/${id}/events`), stop);
}

describe('claude CLI run across a daemon SIGKILL', () => {
  it('is re-attached by the restarted daemon: one claude run, one conversation, its stream-json events and tool call recorded once, and its answer', async () => {
    const fake = await start();
    fakes.push(fake);
    // First answer: a tool call (claude runs it at once). Second answer: held until the test releases it.
    const answer = 'The command printed tool-says-hi.';
    fake.script({
      anthropic: [
        { type: 'tool_use', name: 'Bash', input: { command: 'echo tool-says-hi', description: 'say hi' } },
        { type: 'text', text: answer, gate: 'answer' },
      ],
    });
    const d = await DaemonHarness.create({
      maxConcurrent: 2,
      defaultProvider: 'claude',
      defaultPermissionMode: 'bypassPermissions',
      providers: {},
      agents: { claude: { provider: 'claude' } },
    });
    daemons.push(d);
    const cliHome = join(d.home, 'cli-home');
    mkdirSync(cliHome, { recursive: true });
    d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), providers: { claude: claudeProvider(fake.url, cliHome) } });
    await d.start();

    const res = await d.dispatch({ agent: 'claude', prompt: 'run echo' });
    expect(res.status).toBe(202);
    const id = res.body.id!;

    // claude ran the tool and sent its result: it now waits for the held answer. The daemon has recorded
    // the tool call and its result by then.
    await waitUntil(() => fake.requests('anthropic').length === 2, 90_000);
    const before = await history(d, id, (e) => e.event === 'provider.tool_result');
    expect(before.map((e) => e.event)).toEqual(expect.arrayContaining(['running', 'provider.session', 'provider.tool_call', 'provider.tool_result']));
    const [run] = dbRuns(d, id);
    expect(run?.pid).toEqual(expect.any(Number));

    d.kill('SIGKILL');
    await d.exited();
    // The run outlives the daemon: its launcher (and claude under it) still waits for the answer.
    expect(processAlive(run!.pid!)).toBe(true);

    await d.start();
    const adopted = (await history(d, id, (e) => e.event === 'adopted')).find((e) => e.event === 'adopted');
    expect(adopted?.data.data).toMatchObject({ run: 1, pid: run!.pid, ended: false });
    fake.release('answer');

    const [t] = await d.waitTerminal([id], 90_000);
    expect(t).toMatchObject({ status: 'succeeded', output: answer, attempt: 1, runs: 1, error: null });
    expect(dbRuns(d, id)).toHaveLength(1);

    // One claude run: one conversation start and no request after the held answer (a second run would
    // start the conversation again).
    const reqs = fake.requests('anthropic');
    expect(reqs).toHaveLength(2);
    expect(reqs.filter(startsConversation)).toHaveLength(1);
    expect(JSON.stringify(reqs[1]!.body)).toContain('tool-says-hi');

    const all = await history(d, id);
    const types = all.map((e) => e.event);
    // The events recorded before the crash are the start of the history, unchanged.
    expect(all.slice(0, before.length)).toEqual(before);
    // Not started again, not interrupted, not re-queued.
    expect(types.filter((x) => x === 'running')).toHaveLength(1);
    expect(types.filter((x) => x === 'queued')).toHaveLength(1);
    expect(types.filter((x) => x === 'adopted')).toHaveLength(1);
    expect(types).not.toContain('interrupted');
    expect(types.at(-1)).toBe('succeeded');
    // claude's stream-json events, each once: the new daemon followed the spool from where the old one stopped.
    expect(types.filter((x) => x === 'provider.tool_call')).toHaveLength(1);
    expect(types.filter((x) => x === 'provider.tool_result')).toHaveLength(1);
    expect(types.filter((x) => x === 'provider.session')).toHaveLength(1);
    expect(JSON.stringify(all.find((e) => e.event === 'provider.tool_result')?.data)).toContain('tool-says-hi');
    const provider = (evs: SseEvent[]) => evs.filter((e) => e.event.startsWith('provider.')).map((e) => JSON.stringify([e.event, e.data.data]));
    for (const e of provider(before)) expect(provider(all).filter((x) => x === e), `recorded again after the restart: ${e}`).toHaveLength(1);
    // The held answer arrived only after the adoption, through the new daemon.
    const texts = all.filter((e) => e.event === 'provider.text');
    expect(texts.some((e) => JSON.stringify(e.data).includes(answer))).toBe(true);
    expect(all.findIndex((e) => e.event === 'adopted')).toBeLessThan(all.findIndex((e) => e.event === 'provider.text' && JSON.stringify(e.data).includes(answer)));
  }, 180_000);
});
