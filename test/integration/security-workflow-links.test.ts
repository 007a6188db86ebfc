/**
 * Issue 14, security: a workflow file that is a symlink leading out of the workflow folder, through the
 * real daemon. It is not listed (the listing's errors name the file and where it leads), not shown, run,
 * validated or overwritten by name (409 TET_ERR_WORKFLOW_FILE_ESCAPE naming both), and the file it points
 * at is neither read out nor changed.
 */
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool } from '../helpers/daemon.js';

const pool = daemonPool();

describe('a workflow file leading out of the workflow folder', () => {
  it('is neither read nor written through the API; the target stays as it was', async () => {
    const d = await pool.start();
    const home = realpathSync(d.home);
    const dir = join(home, 'workflows');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const target = join(home, 'private', 'plan.json');
    mkdirSync(join(home, 'private'));
    const secret = JSON.stringify({ name: 'plan', description: 'TOP-SECRET', steps: [{ id: 's', agent: 'a', prompt: 'x' }] });
    writeFileSync(target, secret);
    symlinkSync(target, join(dir, 'evil.json'));
    writeFileSync(join(dir, 'fine.json'), JSON.stringify({ name: 'fine', steps: [{ id: 's', agent: 'a', prompt: 'x' }] }));

    const list = await d.json<{ workflows: Array<{ name: string }>; errors: Array<{ file: string; message: string }> }>('/api/workflows');
    expect(list.body.workflows.map((w) => w.name)).toEqual(['fine']);
    expect(list.body.errors).toEqual([expect.objectContaining({ file: join(dir, 'evil.json'), message: expect.stringContaining(`workflow file ${join(dir, 'evil.json')} leads to ${target}, outside ${dir}`) })]);

    for (const [method, path] of [['GET', '/api/workflows/evil'], ['POST', '/api/workflows/evil/run'], ['POST', '/api/workflows/evil/validate'], ['POST', '/api/workflows/evil/dry-run']] as const) {
      const r = await d.json<{ error: { code: string; message: string } }>(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(r.status, `${method} ${path}`).toBe(409);
      expect(r.body.error.code).toBe('TET_ERR_WORKFLOW_FILE_ESCAPE');
      expect(r.body.error.message).toContain(target);
      expect(JSON.stringify(r.body)).not.toContain('TOP-SECRET');
    }
    expect((await d.json('/api/workflows/plan')).status).toBe(404);

    const overwrite = await d.json<{ error: { code: string } }>('/api/workflows?overwrite=true', { method: 'POST', body: JSON.stringify({ name: 'evil', steps: [{ id: 's', agent: 'a', prompt: 'changed' }] }) });
    expect(overwrite.status).toBe(409);
    expect(overwrite.body.error.code).toBe('TET_ERR_WORKFLOW_FILE_ESCAPE');
    expect(readFileSync(target, 'utf8')).toBe(secret);
    expect(d.query<{ n: number }>('SELECT count(*) AS n FROM workflow_runs')[0]!.n).toBe(0);

    const cli = await d.cli(['workflow', 'list']);
    expect(cli.stdout + cli.stderr).toContain(`leads to ${target}`);
  });
});
