import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorktreeStore } from '../../src/store/worktrees.js';
import { GitWorktreeManager } from '../../src/worktrees/manager.js';
import type { PruneReport } from '../../src/worktrees/prune.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the scheduled worktree prune', () => {
  // Found by `npm run chaos`: a pass removing 150 worktrees took longer than the 2 s interval, every tick
  // joined it, and its report was logged 17 times ("worktree pruned" 17 times for each worktree).
  it('skips the ticks that come while its pass runs: a long pass is pruned and reported once', async () => {
    vi.useFakeTimers();
    const manager = new GitWorktreeManager({ store: {} as WorktreeStore, home: '/nonexistent-tetora-home' });
    const report: PruneReport = { dryRun: false, entries: [] };
    let finish: (r: PruneReport) => void = () => {};
    const prune = vi.spyOn(manager, 'prune').mockImplementation(() => new Promise<PruneReport>((res) => (finish = res)));
    const onReport = vi.fn();
    const stop = manager.startPruneTimer(1000, onReport);
    await vi.advanceTimersByTimeAsync(10_500);
    expect(prune).toHaveBeenCalledTimes(1);
    finish(report);
    await vi.advanceTimersByTimeAsync(0);
    expect(onReport).toHaveBeenCalledTimes(1);
    expect(onReport).toHaveBeenCalledWith(report);
    // The next tick after the pass ended starts a new one.
    await vi.advanceTimersByTimeAsync(1000);
    expect(prune).toHaveBeenCalledTimes(2);
    stop();
    finish(report);
    await vi.advanceTimersByTimeAsync(5000);
    expect(prune).toHaveBeenCalledTimes(2);
    expect(onReport).toHaveBeenCalledTimes(2);
  });

  it('a failed pass is a warning, and the next tick prunes again', async () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const manager = new GitWorktreeManager({ store: {} as WorktreeStore, home: '/nonexistent-tetora-home', onWarning: (m) => warnings.push(m) });
    const prune = vi.spyOn(manager, 'prune').mockRejectedValueOnce(new Error('git is gone')).mockResolvedValue({ dryRun: false, entries: [] });
    const stop = manager.startPruneTimer(1000);
    await vi.advanceTimersByTimeAsync(2000);
    stop();
    expect(prune).toHaveBeenCalledTimes(2);
    expect(warnings).toEqual(['scheduled worktree prune failed: git is gone']);
  });
});
