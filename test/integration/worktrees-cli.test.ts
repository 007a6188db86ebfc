import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PruneReport, WorktreeDetail, WorktreeView } from '../../src/worktrees/index.js';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { WorktreeHarness } from '../helpers/worktree-harness.js';
import { branches, commitFile } from '../helpers/worktree-repo.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups) await c();
  cleanups = [];
});

/** A home with three worktrees: one held by a live session, one with two commits of work, one clean and merged. */
async function setup(): Promise<{ h: WorktreeHarness; sb: Sandbox; run: (...args: string[]) => ReturnType<Sandbox['run']> }> {
  const h = new WorktreeHarness();
  const sb = makeSandbox('tetora-wt-cli-');
  cleanups.push(() => h.close(), () => sb.cleanup());
  const manager = h.manager();
  await manager.acquire(h.task('cli-held-1111'), 'inst-cli');
  const work = await manager.acquire(h.task('cli-work-2222', 'add a feature'), 'inst-cli');
  commitFile(work.workdir, 'a.txt', 'a\n');
  commitFile(work.workdir, 'b.txt', 'b\n');
  await work.release();
  await (await manager.acquire(h.task('cli-done-3333', 'nothing to do'), 'inst-cli')).release();
  return { h, sb, run: (...args) => sb.run(args, { env: { TETORA_HOME: h.home } }) };
}

describe('tetora worktree (CLI, no daemon)', () => {
  it('prune --dry-run --json reports every decision and changes nothing; prune then removes only the merged one', async () => {
    const { h, run } = await setup();
    const before = branches(h.repo, 'tetora/');

    const dry = await run('worktree', 'prune', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as PruneReport;
    expect(report.dryRun).toBe(true);
    const decided = Object.fromEntries(report.entries.map((e) => [e.taskId, [e.action, e.applied, e.reasons]]));
    expect(decided).toEqual({
      'cli-held-1111': ['keep', false, [expect.stringMatching(/^locked by task cli-held-1111 \(instance inst-cli/)]],
      'cli-work-2222': ['keep', false, ['2 commits not in main']],
      'cli-done-3333': ['remove', false, []],
    });
    expect(branches(h.repo, 'tetora/')).toEqual(before);
    expect(existsSync(`${h.home}/runtime/worktrees/cli-done-3333`)).toBe(true);

    const real = await run('worktree', 'prune');
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^removed +cli-done-3333 tetora\/coder\/clidone3-nothing-to-do /m);
    expect(real.stdout).toMatch(/^kept +cli-work-2222 .*: 2 commits not in main$/m);
    expect(real.stdout).toMatch(/^kept +cli-held-1111 .*: locked by task cli-held-1111 /m);
    expect(real.stdout).toContain('removed 1, forgot 0, kept 2');
    expect(existsSync(`${h.home}/runtime/worktrees/cli-done-3333`)).toBe(false);
    expect(branches(h.repo, 'tetora/')).toHaveLength(2);
  });

  it('list shows task, state, lock holder, size and branch; show gives one in full; an unknown id is a clear error', async () => {
    const { run } = await setup();
    const text = await run('worktree', 'list');
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TASK +STATE +LOCK +SIZE +BRANCH$/);
    expect(lines.find((l) => l.startsWith('cli-held'))).toMatch(/^cli-held +locked +task cli-held-1111 +\d+(\.\d)? (B|KiB|MiB) +tetora\/coder\/cliheld1-fix-the-login-bug$/);
    expect(lines.find((l) => l.startsWith('cli-work'))).toMatch(/^cli-work +idle +- +\S+ \S+ +tetora\/coder\/cliwork2-add-a-feature$/);

    const json = JSON.parse((await run('worktree', 'list', '--json')).stdout) as { worktrees: WorktreeView[] };
    expect(json.worktrees.map((w) => [w.taskId, w.state])).toEqual([
      ['cli-held-1111', 'locked'],
      ['cli-work-2222', 'idle'],
      ['cli-done-3333', 'idle'],
    ]);
    for (const w of json.worktrees) expect(w.sizeBytes).toBeGreaterThan(0);

    const show = await run('worktree', 'show', 'cli-work');
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('commits   2 not in main');
    expect(show.stdout).toContain('prune     would keep it: 2 commits not in main');
    const detail = JSON.parse((await run('worktree', 'show', 'cli-work-2222', '--json')).stdout) as WorktreeDetail;
    expect(detail).toMatchObject({ taskId: 'cli-work-2222', commitsAhead: 2, dirtyFiles: [] });

    const missing = await run('worktree', 'show', 'nope-0000');
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('no worktree is recorded for "nope-0000"');
    expect(missing.stderr).toContain('tetora worktree list --all');
  });

  it('works in a home without a database yet, and prints help', async () => {
    const sb = makeSandbox('tetora-wt-cli-');
    cleanups.push(() => sb.cleanup());
    const h = new WorktreeHarness();
    cleanups.push(() => h.close());
    const env = { env: { TETORA_HOME: h.home } };
    expect((await sb.run(['worktree', 'list'], env)).stdout).toBe('no worktrees\n');
    expect(JSON.parse((await sb.run(['worktree', 'prune', '--dry-run', '--json'], env)).stdout)).toEqual({ dryRun: true, entries: [] });
    expect(existsSync(`${h.home}/tetora.db`)).toBe(false);
    const help = await sb.run(['worktree', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('prune');
    expect(help.stdout).toContain('squash-merged');
  });
});
