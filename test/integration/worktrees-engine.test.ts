import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { WorktreeSummary } from '../../src/engine/workspace.js';
import { waitTerminal, waitUntil } from '../helpers/engine-harness.js';
import { WorktreeHarness } from '../helpers/worktree-harness.js';
import { branches, git, gitWorktreePaths } from '../helpers/worktree-repo.js';

let harnesses: WorktreeHarness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

function harness(agent: Record<string, unknown> = {}): WorktreeHarness {
  const h = new WorktreeHarness(agent);
  harnesses.push(h);
  return h;
}

/** The worktree summary recorded with the task's terminal event. */
function summaryOf(engine: Engine, taskId: string): WorktreeSummary {
  const ev = engine.events(taskId).find((e) => ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(e.type));
  return (ev?.data as { worktree: WorktreeSummary }).worktree;
}

describe('worktrees through the engine', () => {
  it('gives two tasks of one repository two worktrees at the same time, and both finish with branch, commits and dirty flag', async () => {
    const h = harness();
    const manager = h.manager();
    const engine = await h.engine(manager);
    const go = join(h.home, 'go');
    const ids = ['login', 'logout'].map(
      (what, i) =>
        engine.enqueue(
          { agent: 'coder', workdir: h.repo, prompt: h.prompt(`Fix the ${what} bug`, { ready: join(h.home, `ready-${i}`), waitFor: go, commits: i + 1, untracked: i }) },
          { source: 'test' },
        ).task.id,
    );
    // Both agents are inside their worktrees at once.
    await waitUntil(() => existsSync(join(h.home, 'ready-0')) && existsSync(join(h.home, 'ready-1')));
    const starts = h.log().filter((l) => l.event === 'start');
    expect(starts).toHaveLength(2);
    const cwds = ids.map((id) => starts.find((s) => s.taskId === id)?.cwd);
    expect(cwds).toEqual(ids.map((id) => join(h.home, 'runtime', 'worktrees', id)));
    for (const s of starts) expect(s.lockFile).toBe(true);
    writeFileSync(go, '');

    const done = await waitTerminal(engine, ids);
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'succeeded']);

    const [a, b] = ids.map((id) => summaryOf(engine, id)) as [WorktreeSummary, WorktreeSummary];
    expect(a).toMatchObject({ path: cwds[0], baseBranch: 'main', commits: 1, dirty: false, removed: false });
    expect(b).toMatchObject({ path: cwds[1], baseBranch: 'main', commits: 2, dirty: true, removed: false });
    expect(a.branch.startsWith(`tetora/coder/${ids[0]!.slice(0, 8)}-fix-the-login-bug-`)).toBe(true);
    expect(b.branch.startsWith(`tetora/coder/${ids[1]!.slice(0, 8)}-fix-the-logout-bug-`)).toBe(true);
    expect(branches(h.repo, 'tetora/').sort()).toEqual([a.branch, b.branch].sort());
    // The work stays (policy keep), the lock file is gone, and it never reached a commit.
    for (const s of [a, b]) {
      expect(existsSync(s.path)).toBe(true);
      expect(existsSync(join(s.path, '.tetora-session.lock'))).toBe(false);
      expect(git(h.repo, 'log', '--name-only', '--format=', `main..${s.branch}`)).not.toContain('.tetora-session.lock');
    }
    expect(gitWorktreePaths(h.repo)).toHaveLength(3);
  });

  it('keeps the shell of a running agent working in its worktree while prune runs beside it', async () => {
    const h = harness();
    const manager = h.manager();
    const engine = await h.engine(manager);
    const go = join(h.home, 'go');
    const ready = join(h.home, 'ready');
    const { task } = engine.enqueue({ agent: 'coder', workdir: h.repo, prompt: h.prompt('tidy up', { ready, waitFor: go }) }, { source: 'test' });
    await waitUntil(() => existsSync(ready));

    // No commits and a clean tree: only the live lock protects it.
    const report = await manager.prune();
    const entry = report.entries.find((e) => e.taskId === task.id);
    expect(entry).toMatchObject({ action: 'keep', applied: false });
    expect(entry?.reasons[0]).toMatch(new RegExp(`^locked by task ${task.id}`));
    const dry = await manager.prune({ dryRun: true });
    expect(dry.entries.find((e) => e.taskId === task.id)?.action).toBe('keep');
    writeFileSync(go, '');

    const [done] = await waitTerminal(engine, [task.id]);
    expect(done?.status).toBe('succeeded');
    const shells = h.log().filter((l) => l.event === 'shell');
    expect(shells.map((s) => [s.phase, s.ok])).toEqual([
      ['before', true],
      ['after', true],
    ]);
    for (const s of shells) expect(s.out?.split('\n')[0]).toBe(join(h.home, 'runtime', 'worktrees', task.id));
    // Clean before and after: the lock file is excluded through the common git dir's info/exclude.
    for (const s of shells) expect(s.out).not.toContain('.tetora-session.lock');

    // Once the task ended, the (clean, integrated) worktree is no longer protected.
    const after = await manager.prune();
    expect(after.entries.find((e) => e.taskId === task.id)).toMatchObject({ action: 'remove', applied: true, branchDeleted: true });
    expect(existsSync(join(h.home, 'runtime', 'worktrees', task.id))).toBe(false);
    expect(branches(h.repo, 'tetora/')).toEqual([]);
  });

  it('excludes the lock file through info/exclude of the common git dir, never .gitignore', async () => {
    const h = harness();
    const manager = h.manager();
    const lease = await manager.acquire(h.task('t-exclude-1'), 'inst-1');
    const exclude = readFileSync(join(h.repo, '.git', 'info', 'exclude'), 'utf8');
    expect(exclude.split('\n')).toContain('/.tetora-session.lock*');
    expect(existsSync(join(h.repo, '.gitignore'))).toBe(false);
    expect(existsSync(join(lease.workdir, '.gitignore'))).toBe(false);
    expect(existsSync(join(lease.workdir, '.tetora-session.lock'))).toBe(true);
    expect(git(lease.workdir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // Nor the temporary file a heartbeat writes the lock through.
    lease.heartbeat();
    writeFileSync(join(lease.workdir, '.tetora-session.lock.123.456.tmp'), '{}');
    expect(git(lease.workdir, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    rmSync(join(lease.workdir, '.tetora-session.lock.123.456.tmp'));
    // A second worktree does not add the line twice.
    const second = await manager.acquire(h.task('t-exclude-2'), 'inst-1');
    expect(readFileSync(join(h.repo, '.git', 'info', 'exclude'), 'utf8').split('\n').filter((l) => l === '/.tetora-session.lock*')).toHaveLength(1);
    const summary = await lease.release();
    expect(summary).toMatchObject({ branch: expect.stringMatching(/^tetora\/coder\/texclude-fix-the-login-bug$/), commits: 0, dirty: false, removed: false });
    await second.release();
  });

  it('a task with worktreeCleanup remove-if-integrated leaves nothing behind when its work is merged; unmerged work stays', async () => {
    const h = harness({ worktreeCleanup: 'remove-if-integrated' });
    const manager = h.manager();
    const engine = await h.engine(manager);
    const noop = engine.enqueue({ agent: 'coder', workdir: h.repo, prompt: h.prompt('look around') }, { source: 'test' }).task.id;
    const work = engine.enqueue({ agent: 'coder', workdir: h.repo, prompt: h.prompt('write code', { commits: 1 }) }, { source: 'test' }).task.id;
    await waitTerminal(engine, [noop, work]);
    expect(summaryOf(engine, noop)).toMatchObject({ commits: 0, dirty: false, removed: true });
    expect(summaryOf(engine, work)).toMatchObject({ commits: 1, dirty: false, removed: false });
    expect(existsSync(join(h.home, 'runtime', 'worktrees', noop))).toBe(false);
    expect(existsSync(join(h.home, 'runtime', 'worktrees', work))).toBe(true);
  });
});
