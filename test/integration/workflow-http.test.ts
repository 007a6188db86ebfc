/**
 * The workflow definition endpoints against the real daemon (`tetora serve` as a child process, real HTTP on
 * 127.0.0.1): list, show, create (0600, 409, ?overwrite=true), delete, validate (400 with every error and
 * nothing written), dry-run. The config's agents are `a` and `b` (test/helpers/engine-harness.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool } from '../helpers/daemon.js';

const pool = daemonPool();

const good = {
  name: 'review-flow',
  description: 'draft then review',
  variables: { topic: 'tides' },
  customKey: 'kept as written',
  steps: [
    { id: 'draft', agent: 'a', prompt: 'Draft about {{topic}}' },
    { id: 'gate', type: 'condition', if: "{{topic}} == 'tides'", then: 'review', dependsOn: ['draft'] },
    { id: 'review', type: 'handoff', handoffFrom: 'draft', agent: 'b', prompt: 'Review it', dependsOn: ['gate'] },
  ],
};

const broken = {
  name: 'broken',
  steps: [
    { id: 'x', agent: 'ghost', prompt: '{{steps.nope.output}}', dependsOn: ['y'] },
    { id: 'y', agent: 'a', prompt: 'p', dependsOn: ['x'], timeout: 'forever' },
    { id: 'x', type: 'external' },
  ],
};

describe('/api/workflows', () => {
  it('creates, lists, shows, refuses a second create, overwrites on request, deletes', async () => {
    const d = await pool.start();
    const dir = join(d.home, 'workflows');

    expect((await d.json('/api/workflows')).body).toEqual({ workflows: [], errors: [] });

    const created = await d.json<{ status: string; name: string; file: string }>('/api/workflows', { method: 'POST', body: JSON.stringify(good) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'created', name: 'review-flow', file: join(dir, 'review-flow.json') });
    expect(statSync(created.body.file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(created.body.file, 'utf8'))).toEqual(good);

    const list = await d.json<{ workflows: Array<Record<string, unknown>> }>('/api/workflows');
    expect(list.body.workflows).toEqual([{ name: 'review-flow', description: 'draft then review', file: created.body.file, steps: 3, valid: true, errors: 0, warnings: 1 }]);

    const show = await d.json<Record<string, unknown>>('/api/workflows/review-flow');
    expect(show.status).toBe(200);
    expect(show.body).toMatchObject({ name: 'review-flow', valid: true, workflow: good, executionOrder: [['draft'], ['gate'], ['review']] });

    const again = await d.json<{ error: { code: string; message: string } }>('/api/workflows', { method: 'POST', body: JSON.stringify(good) });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TET_ERR_WORKFLOW_EXISTS');
    expect(again.body.error.message).toMatch(/overwrite=true/);

    const changed = { ...good, description: 'changed' };
    const over = await d.json<{ status: string }>('/api/workflows?overwrite=true', { method: 'POST', body: JSON.stringify(changed) });
    expect(over.status).toBe(200);
    expect(over.body.status).toBe('updated');
    expect(JSON.parse(readFileSync(created.body.file, 'utf8')).description).toBe('changed');

    const del = await d.json('/api/workflows/review-flow', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(existsSync(created.body.file)).toBe(false);
    const gone = await d.json<{ error: { code: string } }>('/api/workflows/review-flow');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('TET_ERR_WORKFLOW_NOT_FOUND');
    expect((await d.json('/api/workflows/review-flow', { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses an invalid workflow with 400 and every error with its path, writing nothing', async () => {
    const d = await pool.start();
    const dir = join(d.home, 'workflows');
    type Invalid = { valid: boolean; errors: Array<{ path: string; message: string }>; warnings: unknown[]; error: { code: string; details: { errors: unknown[] } } };

    for (const path of ['/api/workflows', '/api/workflows/validate']) {
      const r = await d.json<Invalid>(path, { method: 'POST', body: JSON.stringify(broken) });
      expect(r.status).toBe(400);
      expect(r.body.valid).toBe(false);
      expect(r.body.error.code).toBe('TET_ERR_WORKFLOW_INVALID');
      expect(r.body.errors.map((e) => e.path).sort()).toEqual(['steps[0].agent', 'steps[0].dependsOn', 'steps[0].prompt', 'steps[1].timeout', 'steps[2].id', 'steps[2].type'].sort());
      expect(r.body.errors.find((e) => e.path === 'steps[0].agent')?.message).toMatch(/agent "ghost" is not in the config \(agents: "a", "b"\)/);
      expect(r.body.error.details.errors).toEqual(r.body.errors);
    }
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);

    const ok = await d.json<{ valid: boolean; executionOrder: string[][] }>('/api/workflows/validate', { method: 'POST', body: JSON.stringify(good) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, name: 'review-flow', errors: [], executionOrder: [['draft'], ['gate'], ['review']] });
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);

    const notObject = await d.json<Invalid>('/api/workflows/validate', { method: 'POST', body: '[1, 2]' });
    expect(notObject.status).toBe(400);
    expect(notObject.body.errors[0]?.path).toBe('(top level)');
  });

  it('lists a workflow by its internal name whatever its file, reports two files with one name, and needs the token', async () => {
    const d = await pool.start();
    const dir = join(d.home, 'workflows');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'workflow-basic.json'), JSON.stringify({ ...good, name: 'research-and-summarize' }));
    writeFileSync(join(dir, 'one.json'), JSON.stringify({ ...good, name: 'twice' }));
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ ...good, name: 'twice' }));
    const list = await d.json<{ workflows: Array<{ name: string }>; errors: Array<{ message: string }> }>('/api/workflows');
    expect(list.body.workflows.map((w) => w.name)).toEqual(['research-and-summarize']);
    expect(list.body.errors[0]?.message).toMatch(/"twice" is declared by 2 files: .*one\.json and .*two\.json/);
    const dup = await d.json<{ error: { code: string } }>('/api/workflows/twice');
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('TET_ERR_WORKFLOW_DUPLICATE_NAME');
    expect((await d.json('/api/workflows/research-and-summarize')).status).toBe(200);
    // A name is never a path: a JSON file outside the folder is not read.
    writeFileSync(join(d.home, 'outside.json'), JSON.stringify({ ...good, name: 'outside' }));
    for (const p of [encodeURIComponent(join(d.home, 'outside.json')), encodeURIComponent('../outside.json')]) {
      const show = await d.json<{ error: { code: string } }>(`/api/workflows/${p}`);
      expect([show.status, show.body.error.code]).toEqual([404, 'TET_ERR_WORKFLOW_NOT_FOUND']);
      const plan = await d.json<{ error: { code: string } }>(`/api/workflows/${p}/dry-run`, { method: 'POST', body: '{}' });
      expect([plan.status, plan.body.error.code]).toEqual([404, 'TET_ERR_WORKFLOW_NOT_FOUND']);
    }
    expect((await d.json('/api/workflows', { token: null })).status).toBe(401);
    expect((await d.json('/api/workflows', { method: 'POST', body: JSON.stringify(good), token: null })).status).toBe(401);
    expect(existsSync(join(dir, 'review-flow.json'))).toBe(false);
  });

  it('dry-run answers the plan without running anything', async () => {
    const d = await pool.start();
    await d.json('/api/workflows', { method: 'POST', body: JSON.stringify(good) });
    const r = await d.json<{ levels: string[][]; steps: Array<{ id: string; prompt?: string; condition?: { result?: boolean }; skipped?: boolean }>; variables: Record<string, string> }>(
      '/api/workflows/review-flow/dry-run',
      { method: 'POST', body: JSON.stringify({ variables: { topic: 'waves' } }) },
    );
    expect(r.status).toBe(200);
    expect(r.body.levels).toEqual([['draft'], ['gate'], ['review']]);
    expect(r.body.variables).toEqual({ topic: 'waves' });
    expect(r.body.steps[0]?.prompt).toBe('Draft about waves');
    expect(r.body.steps[1]?.condition?.result).toBe(false);
    expect(r.body.steps[2]).toMatchObject({ skipped: true, prompt: '[Handoff Context]\n<output of step "draft">\n\n[Instruction]\nReview it' });
    const tasks = await d.json<{ tasks: unknown[] }>('/api/tasks');
    expect(tasks.body.tasks).toEqual([]);
    expect(existsSync(d.logPath)).toBe(false);

    const badVars = await d.json<{ error: { code: string } }>('/api/workflows/review-flow/dry-run', { method: 'POST', body: JSON.stringify({ variables: ['x'] }) });
    expect(badVars.status).toBe(400);
    expect((await d.json('/api/workflows/nothing/dry-run', { method: 'POST', body: '{}' })).status).toBe(404);
  });
});
