/**
 * `tetora task list|show` give the same answer with a daemon (the CLI as a child process against the real
 * daemon) and without one (the CLI reading the store): one query check, one page, one task view. Their
 * refusals name the CLI's flags either way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

const pool = daemonPool();

describe('CLI: task list|show with and without a daemon', () => {
  it('--agent a,b, --status a,b, a refused flag and `task show` of a task that waits for a removed agent print the same', async () => {
    const d = await pool.start({ maxConcurrent: 1 });
    const first = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'first' }) }, '?wait=true');
    expect(first.body.tasks[0]?.status).toBe('succeeded');
    const long = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 1500, out: 'long' }) });
    const queued = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'never yet' }) });
    const waitingId = queued.body.id!;
    // Agent b leaves the config: its queued task waits (and says why).
    const config = JSON.parse(readFileSync(d.configPath, 'utf8')) as { agents: Record<string, unknown> };
    delete config.agents.b;
    writeFileSync(d.configPath, JSON.stringify(config));
    d.kill('SIGHUP');
    await waitUntil(() => d.hasLog('config reloaded'));
    await d.waitTerminal([long.body.id!]);

    const commands = [
      ['task', 'list', '--agent', 'a,b'],
      ['task', 'list', '--agent', 'a,b', '--json'],
      ['task', 'list', '--agent', 'b', '--json'],
      ['task', 'list', '--status', 'succeeded,queued', '--json'],
      ['task', 'list', '--status', 'queued, succeeded', '-n', '2'],
      ['task', 'show', waitingId],
      ['task', 'show', waitingId, '--json'],
      ['task', 'list', '--limit', '0'],
      ['task', 'list', '--limit', '0', '--json'],
      ['task', 'list', '--cursor', 'abc'],
      ['task', 'list', '--status', 'queued,done'],
    ];
    const online = [];
    for (const c of commands) online.push(await d.cli(c));

    const agents = JSON.parse(online[1]!.stdout) as { tasks: Array<{ agent: string }> };
    expect(agents.tasks.map((t) => t.agent).sort()).toEqual(['a', 'a', 'b']);
    expect((JSON.parse(online[3]!.stdout) as { tasks: unknown[] }).tasks).toHaveLength(3);
    expect(JSON.parse(online[6]!.stdout)).toMatchObject({ id: waitingId, status: 'queued', waiting: expect.stringContaining('agent "b" is not in the config') as string });
    expect(online[5]!.stdout).toContain('waiting: agent "b" is not in the config');
    for (const i of [0, 1, 2, 3, 4, 5, 6]) {
      expect(online[i]!.code, commands[i]!.join(' ')).toBe(0);
      expect(online[i]!.stderr, commands[i]!.join(' ')).toBe('');
    }
    // Refusals name the flag, as the CLI's words, not the API's query parameters.
    expect(online[7]).toMatchObject({ code: 64, stderr: 'tetora: --limit "0" must be a whole number from 1 to 1000.\n' });
    expect(JSON.parse(online[8]!.stdout)).toEqual({ error: { code: 'TET_ERR_USAGE', message: '--limit "0" must be a whole number from 1 to 1000.', details: { field: 'limit', value: '0' } } });
    expect(online[9]).toMatchObject({ code: 64, stderr: 'tetora: --cursor "abc" must be the nextCursor of the previous page.\n' });
    expect(online[10]!.code).toBe(64);
    expect(online[10]!.stderr).toContain('--status "queued,done" includes "done", which is not a task status');

    const drained = await d.cli(['drain']);
    expect(drained.code).toBe(0);
    expect(await d.exited()).toBe(0);
    const note = `tetora: no daemon answers at http://127.0.0.1:${d.port}; reading the store ${join(d.home, 'tetora.db')} directly\n`;
    for (const [i, c] of commands.entries()) {
      const r = await d.cli(c);
      expect(r.code, c.join(' ')).toBe(online[i]!.code);
      expect(r.stdout, c.join(' ')).toBe(online[i]!.stdout);
      // A refused flag is refused before anything is asked: no note about the store.
      expect(r.stderr, c.join(' ')).toBe(online[i]!.code === 0 ? note : online[i]!.stderr);
    }
  });
});
