import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTetoraError } from '../../src/errors.js';
import { waitTerminal } from '../helpers/engine-harness.js';
import { WorktreeHarness } from '../helpers/worktree-harness.js';
import { branches, commitFile, git, gitWorktreePaths } from '../helpers/worktree-repo.js';

let harnesses: WorktreeHarness[] = [];
afterEach(async () => {
  for (const h of harnesses) await h.close();
  harnesses = [];
});

function harness(): WorktreeHarness {
  const h = new WorktreeHarness();
  harnesses.push(h);
  return h;
}

async function errorOf(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('creating worktrees', () => {
  it('makes six worktrees of one repository asked for at once, each on its own branch (even when their names collide)', async () => {
    const h = harness();
    const manager = h.manager();
    // Same first 8 characters and same prompt: the same branch name, so each must find the next free one.
    const ids = Array.from({ length: 6 }, (_, i) => `samestart-${i}`);
    const leases = await Promise.all(ids.map((id) => manager.acquire(h.task(id, 'same prompt for all'), 'inst')));
    expect(new Set(leases.map((l) => l.workdir)).size).toBe(6);
    const name = 'tetora/coder/samestar-same-prompt-for-all';
    expect(branches(h.repo, 'tetora/').sort()).toEqual([name, ...[2, 3, 4, 5, 6].map((n) => `${name}-${n}`)].sort());
    expect(gitWorktreePaths(h.repo)).toHaveLength(7);
    await Promise.all(leases.map((l) => l.release()));
  });

  it("a retry of the same task gets the same worktree back, with the work of the earlier attempt", async () => {
    const h = harness();
    const manager = h.manager();
    const first = await manager.acquire(h.task('retry-1'), 'inst');
    commitFile(first.workdir, 'attempt-1.txt', 'one\n');
    writeFileSync(join(first.workdir, 'wip.txt'), 'half done\n');
    const s1 = await first.release();
    const again = await manager.acquire(h.task('retry-1'), 'inst');
    expect(again.workdir).toBe(first.workdir);
    expect(existsSync(join(again.workdir, 'wip.txt'))).toBe(true);
    const s2 = await again.release();
    expect(s2).toMatchObject({ branch: s1.branch, commits: 1, dirty: true });
    expect(branches(h.repo, 'tetora/')).toEqual([s1.branch]);
  });

  it('holds the lease in the store row and the lock file; a heartbeat refreshes both, release clears both', async () => {
    const h = harness();
    let now = 1_700_000_000_000;
    const manager = h.manager({ now: () => now });
    const lease = await manager.acquire(h.task('beat-1'), 'inst-9');
    const lockFile = () => JSON.parse(readFileSync(join(lease.workdir, '.tetora-session.lock'), 'utf8')) as Record<string, unknown>;
    expect(lockFile()).toMatchObject({ taskId: 'beat-1', instanceId: 'inst-9', pid: process.pid, heartbeatAt: now, version: 1 });
    expect(h.store().get('beat-1')?.lease).toMatchObject({ taskId: 'beat-1', instanceId: 'inst-9', pid: process.pid, heartbeatAt: now });
    now += 10_000;
    lease.heartbeat();
    expect(lockFile().heartbeatAt).toBe(now);
    expect(h.store().get('beat-1')?.lease?.heartbeatAt).toBe(now);
    await lease.release();
    expect(existsSync(join(lease.workdir, '.tetora-session.lock'))).toBe(false);
    expect(h.store().get('beat-1')?.lease).toBeNull();
    lease.heartbeat();
    expect(existsSync(join(lease.workdir, '.tetora-session.lock'))).toBe(false);
  });

  it('runs the task in the same subfolder of the worktree as its workdir names in the repository', async () => {
    const h = harness();
    commitFile(h.repo, 'pkg/app/index.ts', 'export {};\n');
    const lease = await h.manager().acquire(h.task('sub-1', 'x', { workdir: join(h.repo, 'pkg', 'app') }), 'inst');
    expect(lease.workdir).toBe(join(h.home, 'runtime', 'worktrees', 'sub-1', 'pkg', 'app'));
    expect(existsSync(join(lease.workdir, 'index.ts'))).toBe(true);
    await lease.release();
  });

  it('starts from a configured base branch, and names a missing one with the fix', async () => {
    const h = harness();
    git(h.repo, 'branch', 'develop');
    commitFile(h.repo, 'main-only.txt', 'x\n');
    const manager = h.manager();
    const lease = await manager.acquire(h.task('base-1', 'x', { baseBranch: 'develop' }), 'inst');
    expect(existsSync(join(lease.workdir, 'main-only.txt'))).toBe(false);
    expect(await lease.release()).toMatchObject({ baseBranch: 'develop', commits: 0 });
    const err = await errorOf(manager.acquire(h.task('base-2', 'x', { baseBranch: 'nope' }), 'inst'));
    expect(err.message).toMatch(/base branch "nope" does not exist in .*: create it \(`git branch nope`\) or fix baseBranch/);
    expect(h.store().get('base-2')).toBeUndefined();
  });

  it('reports a stale index.lock clearly (file, age, how to remove it) instead of failing silently, and creates nothing', async () => {
    const h = harness();
    const lock = join(h.repo, '.git', 'index.lock');
    writeFileSync(lock, '');
    const fiveDaysAgo = new Date(Date.now() - 5 * 86_400_000);
    utimesSync(lock, fiveDaysAgo, fiveDaysAgo);
    const err = await errorOf(h.manager().acquire(h.task('locked-1'), 'inst'));
    expect(isTetoraError(err) && err.code).toBe('TET_ERR_WORKTREE_INDEX_LOCK');
    expect(err.message).toContain(lock);
    expect(err.message).toMatch(/is 5 d old/);
    expect(err.message).toContain(`rm '${lock}'`);
    expect(existsSync(join(h.home, 'runtime', 'worktrees', 'locked-1'))).toBe(false);
    expect(branches(h.repo, 'tetora/')).toEqual([]);
  });

  it('fails a worktree task whose workdir is not a git repository with a message that says what to do', async () => {
    const h = harness();
    const plain = mkdtempSync(join(tmpdir(), 'tetora-plain-'));
    const engine = await h.engine(h.manager());
    const { task } = engine.enqueue({ agent: 'coder', workdir: plain, prompt: h.prompt('anything') }, { source: 'test' });
    const [done] = await waitTerminal(engine, [task.id]);
    expect(done?.status).toBe('failed');
    expect(done?.errorMessage).toContain(`workdir ${plain} is not inside a git work tree`);
    expect(done?.errorMessage).toContain('set "worktree": false');
    expect(h.log()).toEqual([]);
    rmSync(plain, { recursive: true, force: true });
  });

  it('refuses a folder under runtime/worktrees that is not a worktree, and leaves it alone', async () => {
    const h = harness();
    const squatter = join(h.home, 'runtime', 'worktrees', 'squat-1');
    mkdirSync(squatter, { recursive: true });
    writeFileSync(join(squatter, 'precious.txt'), 'mine\n');
    const err = await errorOf(h.manager().acquire(h.task('squat-1'), 'inst'));
    expect(err.message).toMatch(/exists but is not a git worktree of .*Tetora will not touch it/);
    expect(existsSync(join(squatter, 'precious.txt'))).toBe(true);
  });
});
