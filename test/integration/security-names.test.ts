/**
 * Issue 14, security tests: names cannot escape their folders. Over the real daemon's API, workflow,
 * trigger, board and agent names with `../`, an absolute path or a NUL are refused (400, or 404 naming no
 * such thing) and nothing is read, written or removed outside the workflow folder: a `../config` workflow
 * delete leaves config.json alone, a workflow named `../escape` writes no file.
 */
import { existsSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';

let d: DaemonHarness;
beforeAll(async () => {
  d = await DaemonHarness.create({ workflowTriggers: [{ name: 'hook', workflowName: 'w', trigger: { type: 'webhook' } }] });
  // A workflow file outside the workflow folder, one level up: what a `../` name would reach.
  writeFileSync(join(d.home, 'outside.json'), JSON.stringify({ name: 'outside', steps: [{ id: 's', agent: 'a', prompt: 'x' }] }), { mode: 0o600 });
  mkdirSync(join(d.home, 'workflows'), { recursive: true, mode: 0o700 });
  await d.start();
});
afterAll(async () => {
  d.kill('SIGTERM');
  await d.exited();
});

const BAD = ['../escape', '../../tmp/escape', '/tmp/escape', 'a\u0000b', '..', 'a/b', '..\\escape'];

describe('names that would escape their folder', () => {
  it('a workflow cannot be created under such a name (400 naming the field); no file appears outside the folder', async () => {
    for (const name of BAD) {
      const res = await d.json<{ error: { code: string; message: string } }>('/api/workflows', { method: 'POST', body: JSON.stringify({ name, steps: [{ id: 's', agent: 'a', prompt: 'x' }] }) });
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.error.message, JSON.stringify(name)).toMatch(/name/);
    }
    expect(existsSync(join(d.home, 'escape.json'))).toBe(false);
    expect(existsSync('/tmp/escape.json')).toBe(false);
    expect(readdirSync(join(d.home, 'workflows'))).toEqual([]);
  });

  it('a workflow cannot be read, run, validated or deleted through such a name; config.json and the file outside stay', async () => {
    for (const raw of ['../outside', '../config', '..%2Foutside', '..%2Fconfig', '%2Ftmp%2Fx', 'a%00b']) {
      for (const [method, path] of [['GET', `/api/workflows/${raw}`], ['DELETE', `/api/workflows/${raw}`], ['POST', `/api/workflows/${raw}/run`], ['POST', `/api/workflows/${raw}/validate`], ['POST', `/api/workflows/${raw}/dry-run`]] as const) {
        const res = await d.fetch(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect([400, 404], `${method} ${path}`).toContain(res.status);
        const text = await res.text();
        expect(text, `${method} ${path}`).not.toContain('"outside"');
      }
    }
    expect(existsSync(d.configPath)).toBe(true);
    expect(existsSync(join(d.home, 'outside.json'))).toBe(true);
  });

  it('triggers, board tickets and agents named so are not found (and nothing is fired or dispatched)', async () => {
    for (const raw of ['..%2Fhook', '%2Fetc%2Fpasswd', 'a%00b']) {
      for (const [method, path] of [['POST', `/api/triggers/${raw}/fire`], ['GET', `/api/board/${raw}`], ['POST', `/api/board/${raw}/run`], ['POST', `/api/triggers/webhook/${raw}`]] as const) {
        const res = await d.fetch(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect([400, 404], `${method} ${path}`).toContain(res.status);
      }
    }
    for (const agent of ['../a', '/etc/passwd', 'a\u0000']) {
      const res = await d.dispatch({ agent, prompt: 'x' });
      expect(res.status, JSON.stringify(agent)).toBe(400);
    }
    const tasks = await d.json<{ tasks: unknown[] }>('/api/tasks');
    expect(tasks.body.tasks).toEqual([]);
  });
});
