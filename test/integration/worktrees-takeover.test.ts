import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTetoraError } from '../../src/errors.js';
import { WORKTREE_HOLDER, WorktreeHarness } from '../helpers/worktree-harness.js';

/**
 * A task re-queued after its daemon was SIGKILLed (the crash hit after the worktree was leased, before its
 * agent started) must get its own worktree back at once, inside the heartbeat window: the dead daemon's
 * lease is not "another live session". Found by the chaos suite (seed 30): such tasks failed with
 * TET_ERR_WORKTREE_LOCKED. A holder that still runs keeps the worktree.
 */
let harnesses: WorktreeHarness[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  for (const h of harnesses) await h.close();
  harnesses = [];
});

/** The holder (a stand-in daemon, test/helpers/worktree-holder.mjs) leases the worktree of `taskId`. */
async function held(h: WorktreeHarness, taskId: string): Promise<ChildProcess> {
  const holder = spawn(process.execPath, [WORKTREE_HOLDER, h.home, h.repo, taskId], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(holder);
  let out = '';
  let err = '';
  holder.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  await new Promise<void>((res, rej) => {
    holder.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('HELD ')) res();
    });
    holder.on('exit', (code) => rej(new Error(`the holder exited early (${code}): ${err}`)));
  });
  return holder;
}

describe('worktree lease after a crash', () => {
  it("the same task takes its worktree over from a SIGKILLed daemon's lease inside the heartbeat window; a live holder keeps it", async () => {
    const h = new WorktreeHarness();
    harnesses.push(h);
    const holder = await held(h, 'task-crashed');
    const dir = join(h.home, 'runtime', 'worktrees', 'task-crashed');
    writeFileSync(join(dir, 'wip.txt'), 'written before the crash\n');

    // While the holder runs, the lease is live: a second daemon is refused.
    const refused = await h
      .manager()
      .acquire(h.task('task-crashed'), 'second-daemon')
      .then(() => undefined, (e: unknown) => e);
    expect(isTetoraError(refused) && refused.code).toBe('TET_ERR_WORKTREE_LOCKED');

    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;

    // Its heartbeat is seconds old, but its process is gone and no agent of the task runs: the re-queued
    // task leases its worktree again (same folder, the work in it kept).
    const lease = await h.manager().acquire(h.task('task-crashed'), 'next-daemon');
    expect(lease.workdir).toBe(dir);
    expect(readFileSync(join(dir, 'wip.txt'), 'utf8')).toBe('written before the crash\n');
    expect(JSON.parse(readFileSync(join(dir, '.tetora-session.lock'), 'utf8'))).toMatchObject({ taskId: 'task-crashed', instanceId: 'next-daemon', pid: process.pid });
    expect(h.store().get('task-crashed')?.lease).toMatchObject({ taskId: 'task-crashed', instanceId: 'next-daemon', pid: process.pid });
    await lease.release();
    expect(existsSync(dir)).toBe(true);
  });
});
