import { describe, expect, it } from 'vitest';
import { decidePrune, type PruneFacts } from '../../src/worktrees/decide.js';
import { excludesLockFile } from '../../src/worktrees/exclude.js';
import { indexLockErrorFrom, staleIndexLockMessage } from '../../src/worktrees/indexlock.js';
import { judgeLease, judgeLock, type LockContext, type LockVerdict } from '../../src/worktrees/lock.js';
import { assertSafeTaskId, branchName, formatAge, formatSize, shortTaskId, slugify } from '../../src/worktrees/naming.js';
import { parseStatusZ, parseWorktreeList, userChanges } from '../../src/worktrees/parse.js';
import type { StoredLease } from '../../src/store/worktrees.js';

describe('naming', () => {
  it('slugs prompts: lower-case ASCII, runs of other characters to one dash, accents dropped, trimmed', () => {
    expect(slugify('Fix the Login bug!')).toBe('fix-the-login-bug');
    expect(slugify('  Réparer   l’écran — vite ')).toBe('reparer-l-ecran-vite');
    expect(slugify('修复登录')).toBe('task');
    expect(slugify('', 'fallback')).toBe('fallback');
  });

  it('cuts a long slug at 40 characters, on a dash when that dash is past character 20', () => {
    const s = slugify('implement the new authentication middleware for every route please');
    expect(s).toBe('implement-the-new-authentication');
    expect(s.length).toBeLessThanOrEqual(40);
    expect(slugify('a'.repeat(50))).toBe('a'.repeat(40));
    expect(slugify(`abc-${'b'.repeat(50)}`)).toBe(`abc-${'b'.repeat(36)}`);
  });

  it('names the branch tetora/<agent>/<short id>-<slug>, anon without an agent', () => {
    expect(branchName('3f2a9c1e-77aa-4bbb-8ccc-123456789abc', 'Fix the login bug', 'coder')).toBe('tetora/coder/3f2a9c1e-fix-the-login-bug');
    expect(branchName('3f2a9c1e-77aa', 'x', undefined)).toBe('tetora/anon/3f2a9c1e-x');
    expect(branchName('t1', 'Do it', 'Code Reviewer')).toBe('tetora/code-reviewer/t1-do-it');
    expect(shortTaskId('---')).toMatch(/^[0-9a-f]{8}$/);
  });

  it('refuses task ids that could leave the worktrees folder', () => {
    for (const bad of ['../x', 'a/b', '', '.hidden', 'a..b']) expect(() => assertSafeTaskId(bad)).toThrow(/cannot name a worktree folder/);
    expect(() => assertSafeTaskId('3f2a9c1e-77aa-4bbb')).not.toThrow();
  });

  it('formats ages and sizes for people', () => {
    expect(formatAge(42_000)).toBe('42 s');
    expect(formatAge(5 * 3_600_000 + 120_000)).toBe('5 h 2 min');
    expect(formatAge(4 * 86_400_000 + 3 * 3_600_000)).toBe('4 d 3 h');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});

describe('parsing git output', () => {
  it('parses `git worktree list --porcelain`: main, branch, detached, locked, prunable and bare entries', () => {
    const text = [
      'worktree /repo',
      'HEAD 1111111111111111111111111111111111111111',
      'branch refs/heads/main',
      '',
      'worktree /home/u/.tetora/runtime/worktrees/t1',
      'HEAD 2222222222222222222222222222222222222222',
      'branch refs/heads/tetora/coder/t1-fix',
      'locked task 42 running',
      '',
      'worktree /tmp/detached',
      'HEAD 3333333333333333333333333333333333333333',
      'detached',
      '',
      'worktree /tmp/gone',
      'HEAD 4444444444444444444444444444444444444444',
      'branch refs/heads/feature',
      'prunable gitdir file points to non-existent location',
      '',
    ].join('\n');
    expect(parseWorktreeList(text)).toEqual([
      { path: '/repo', head: '1'.repeat(40), branch: 'main', bare: false, locked: false, prunable: false },
      { path: '/home/u/.tetora/runtime/worktrees/t1', head: '2'.repeat(40), branch: 'tetora/coder/t1-fix', bare: false, locked: true, prunable: false },
      { path: '/tmp/detached', head: '3'.repeat(40), branch: null, bare: false, locked: false, prunable: false },
      { path: '/tmp/gone', head: '4'.repeat(40), branch: 'feature', bare: false, locked: false, prunable: true },
    ]);
    expect(parseWorktreeList('worktree /srv/repo.git\nbare\n\n')).toEqual([{ path: '/srv/repo.git', head: null, branch: null, bare: true, locked: false, prunable: false }]);
    expect(parseWorktreeList('')).toEqual([]);
  });

  it('parses `git status --porcelain=v1 -z` with renames and paths with spaces, and leaves out the lock file', () => {
    const text = [' M src/a.ts', '?? notes with space.txt', 'R  new.ts', 'old.ts', '?? .tetora-session.lock', ''].join('\0');
    const entries = parseStatusZ(text);
    expect(entries).toEqual([
      { code: ' M', path: 'src/a.ts' },
      { code: '??', path: 'notes with space.txt' },
      { code: 'R ', path: 'new.ts' },
      { code: '??', path: '.tetora-session.lock' },
    ]);
    expect(userChanges(entries, '.tetora-session.lock').map((e) => e.path)).toEqual(['src/a.ts', 'notes with space.txt', 'new.ts']);
    expect(parseStatusZ('')).toEqual([]);
  });

  it('knows when info/exclude already keeps the lock file out', () => {
    expect(excludesLockFile('# comment\n/.tetora-session.lock*\n')).toBe(true);
    expect(excludesLockFile('.tetora-session.lock*\r\n')).toBe(true);
    // Without the star the temporary file a heartbeat writes through could be committed.
    expect(excludesLockFile('/.tetora-session.lock\n')).toBe(false);
    expect(excludesLockFile('*.log\n/.tetora-session.lock.bak\n')).toBe(false);
    expect(excludesLockFile('')).toBe(false);
  });

  it("turns git's index.lock message into an error naming the file, its age and the fix", () => {
    const err = indexLockErrorFrom("fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running", '/r', Date.now());
    expect(err?.code).toBe('TET_ERR_WORKTREE_INDEX_LOCK');
    expect(err?.message).toContain('/r/.git/index.lock');
    expect(staleIndexLockMessage('/r/.git/index.lock', 5 * 86_400_000, '/r')).toMatch(/is 5 d old: .* remove it with `rm '\/r\/\.git\/index\.lock'` and retry/);
    expect(indexLockErrorFrom('fatal: not a git repository', '/r')).toBeUndefined();
  });
});

describe('session lock liveness', () => {
  const lease: StoredLease = { taskId: 'T1', instanceId: 'daemon-1', pid: 4242, host: 'box', heartbeatAt: 1_000_000 };
  const ctx = (over: Partial<LockContext> = {}): LockContext => ({ now: 1_000_000, windowMs: 60_000, host: 'box', pidAlive: () => false, taskStatus: 'running', ...over });

  it('is live while the heartbeat is fresh, whatever the process', () => {
    expect(judgeLease(lease, ctx({ now: 1_059_000 })).state).toBe('live');
  });

  it('is dead once the heartbeat is stale and the process is gone', () => {
    const v = judgeLease(lease, ctx({ now: 1_061_000 }));
    expect(v).toMatchObject({ state: 'dead' });
    expect((v as { detail: string }).detail).toContain('process 4242 is gone');
  });

  it('stays live with a stale heartbeat while its process still runs on this host; not when written on another host', () => {
    expect(judgeLease(lease, ctx({ now: 2_000_000, pidAlive: (p) => p === 4242 })).state).toBe('live');
    expect(judgeLease({ ...lease, host: 'other' }, ctx({ now: 2_000_000, pidAlive: () => true })).state).toBe('dead');
  });

  it('is dead when its task ended, even with a fresh heartbeat', () => {
    for (const s of ['succeeded', 'failed', 'cancelled', 'timed_out']) expect(judgeLease(lease, ctx({ taskStatus: s })).state).toBe('dead');
  });

  it('judges the store row and the file together: live if either is live; an unreadable file alone is dead', () => {
    const stale = { ...lease, heartbeatAt: 0 };
    expect(judgeLock(stale, { ...lease, version: 1 }, () => ctx()).state).toBe('live');
    expect(judgeLock(null, 'unreadable', () => ctx()).state).toBe('dead');
    expect(judgeLock(null, undefined, () => ctx()).state).toBe('none');
  });
});

describe('decidePrune', () => {
  const dead: LockVerdict = { state: 'dead', lease: null, detail: 'x' };
  const facts = (over: Partial<PruneFacts> = {}): PruneFacts => ({
    branch: 'tetora/a/t1-x',
    base: 'main',
    lock: { state: 'none' },
    folder: 'present',
    gitKnows: true,
    checkedOut: 'tetora/a/t1-x',
    branchExists: true,
    dirty: 0,
    integration: { state: 'integrated', how: 'ancestor', ahead: 0 },
    tip: 'abc',
    reflogOnly: 0,
    ...over,
  });

  it('removes a clean worktree whose commits are all in the base (merged or squash-merged), with or without a dead lock', () => {
    expect(decidePrune(facts())).toEqual({ action: 'remove', reasons: [] });
    expect(decidePrune(facts({ integration: { state: 'integrated', how: 'merge-noop', ahead: 2 }, lock: dead }))).toEqual({ action: 'remove', reasons: [] });
  });

  it('keeps a live-locked one, naming the task, and looks no further', () => {
    const lock: LockVerdict = { state: 'live', lease: { taskId: 'T9', instanceId: 'i', pid: 1, host: 'h', heartbeatAt: 0 }, detail: 'instance i, pid 1, heartbeat 3 s ago' };
    expect(decidePrune(facts({ lock, dirty: 4 }))).toEqual({ action: 'keep', reasons: ['locked by task T9 (instance i, pid 1, heartbeat 3 s ago)'] });
  });

  it('keeps one with uncommitted files or commits not in the base, giving every reason', () => {
    expect(decidePrune(facts({ dirty: 2 })).reasons).toEqual(['2 uncommitted files']);
    expect(decidePrune(facts({ dirty: 1 })).reasons).toEqual(['1 uncommitted file']);
    expect(decidePrune(facts({ integration: { state: 'not-integrated', ahead: 3 } })).reasons).toEqual(['3 commits not in main']);
    expect(decidePrune(facts({ dirty: 2, integration: { state: 'not-integrated', ahead: 1 } }))).toEqual({ action: 'keep', reasons: ['2 uncommitted files', '1 commit not in main'] });
  });

  it('keeps one whose integration cannot be checked, or where another branch or a detached HEAD is checked out', () => {
    expect(decidePrune(facts({ integration: { state: 'unknown', why: 'base main no longer exists' } })).reasons).toEqual(['base main no longer exists']);
    expect(decidePrune(facts({ checkedOut: 'feature' })).reasons).toEqual(['branch feature is checked out instead of tetora/a/t1-x']);
    expect(decidePrune(facts({ checkedOut: null })).action).toBe('keep');
    expect(decidePrune(facts({ gitKnows: false })).action).toBe('keep');
  });

  it('keeps one whose reflog holds commits no branch reaches (reset or amended away), and never deletes such a branch', () => {
    expect(decidePrune(facts({ reflogOnly: 2 }))).toEqual({ action: 'keep', reasons: ['2 commits only in the reflog (reset, amended or rebased away; see git reflog)'] });
    expect(decidePrune(facts({ folder: 'missing', reflogOnly: 1 }))).toMatchObject({ action: 'forget', deleteBranch: false });
  });

  it("forgets a folder deleted by hand, deleting its branch only when nothing on it would be lost", () => {
    expect(decidePrune(facts({ folder: 'missing' }))).toEqual({ action: 'forget', deleteBranch: true, reasons: [] });
    expect(decidePrune(facts({ folder: 'missing', branchExists: false }))).toEqual({ action: 'forget', deleteBranch: false, reasons: [] });
    const kept = decidePrune(facts({ folder: 'missing', integration: { state: 'not-integrated', ahead: 2 } }));
    expect(kept).toEqual({ action: 'forget', deleteBranch: false, reasons: ['folder was deleted by hand; branch tetora/a/t1-x kept: 2 commits not in main'] });
    // Next time, with git's record already gone, there is nothing left to do but keep the branch.
    expect(decidePrune(facts({ folder: 'missing', gitKnows: false, integration: { state: 'not-integrated', ahead: 2 } })).action).toBe('keep');
    expect(decidePrune(facts({ folder: 'missing', gitKnows: false }))).toEqual({ action: 'forget', deleteBranch: true, reasons: [] });
  });
});
