import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonPool } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

const pool = daemonPool();

describe('outputs larger than the task row keeps', () => {
  it('the row keeps the head and refers to the spool file; the API, `task output` (with and without a daemon) and `task show` give or name the whole', async () => {
    const d = await pool.start({ maxOutputBytes: 1000 });
    const text = Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(3, '0')} of a long answer`).join('\n');
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: text }) }, '?wait=true');
    const t = res.body.tasks[0] as unknown as { id: string; status: string; output: string; outputBytes: number; outputTruncated: boolean; outputFile: string };
    expect(t.status).toBe('succeeded');
    expect(t.outputBytes).toBe(Buffer.byteLength(text));
    expect(t.outputTruncated).toBe(true);
    expect(readFileSync(t.outputFile, 'utf8')).toBe(text);

    const whole = await d.fetch(`/api/tasks/${t.id}/output`);
    expect(await whole.text()).toBe(text);
    const viaCli = await d.cli(['task', 'output', t.id]);
    expect(viaCli.code).toBe(0);
    expect(viaCli.stdout).toBe(text);
    const shown = await d.cli(['task', 'show', t.id]);
    expect(shown.stdout).toContain(`the output is ${Buffer.byteLength(text)} bytes; the whole is in ${t.outputFile}`);

    // A small output is served from the row.
    const small = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'short' }) }, '?wait=true');
    expect(await (await d.fetch(`/api/tasks/${small.body.tasks[0]!.id}/output`)).text()).toBe('short');

    d.kill('SIGTERM');
    await d.exited();
    const offline = await d.cli(['task', 'output', t.id]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toBe(text);
    expect(offline.stderr).toContain('reading the store');
  });
});

describe('queued tasks of an agent a reload removed', () => {
  it('wait (the task says why) instead of failing, and run once the agent is back', async () => {
    const d = await pool.start({ maxConcurrent: 1 });
    const long = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 1500 }) });
    const queued = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'b is back' }) });
    const id = queued.body.id!;
    const config = JSON.parse(readFileSync(d.configPath, 'utf8')) as { agents: Record<string, unknown> };
    const withB = structuredClone(config);
    delete config.agents.b;
    writeFileSync(d.configPath, JSON.stringify(config));
    d.kill('SIGHUP');
    await waitUntil(() => d.hasLog('config reloaded'));
    await d.waitTerminal([long.body.id!]);

    const waiting = await d.json<{ status: string; waiting?: string }>(`/api/tasks/${id}`);
    expect(waiting.body.status).toBe('queued');
    expect(waiting.body.waiting).toContain('agent "b" is not in the config');
    const shown = await d.cli(['task', 'show', id]);
    expect(shown.stdout).toContain('waiting: agent "b" is not in the config');

    writeFileSync(d.configPath, JSON.stringify(withB));
    d.kill('SIGHUP');
    const [t] = await d.waitTerminal([id]);
    expect(t).toMatchObject({ status: 'succeeded', output: 'b is back' });
  });
});
