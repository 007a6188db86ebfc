import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lease } from '../../src/engine/workspace.js';
import { pruneWorktrees, type PruneEntry, type PruneReport } from '../../src/worktrees/index.js';
import { openDb } from '../../src/store/db.js';
import { TaskStore } from '../../src/store/tasks.js';
import { WORKTREE_HOLDER, WorktreeHarness } from '../helpers/worktree-harness.js';
import { branches, commitFile, git, gitWorktreePaths } from '../helpers/worktree-repo.js';

let harnesses: WorktreeHarness[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  for (const h of harnesses) await h.close();
  harnesses = [];
});

function harness(): WorktreeHarness {
  const h = new WorktreeHarness();
  harnesses.push(h);
  return h;
}

/** A task row in the ledger, running in process group `pgid` (what the runner records). */
function recordRunningTask(h: WorktreeHarness, id: string, pgid: number): void {
  const db = openDb(join(h.home, 'tetora.db'));
  const tasks = new TaskStore(db);
  tasks.insert({ id, source: 'test', prompt: 'orphaned agent', status: 'queued', maxAttempts: 3, priority: 0, createdAt: Date.now() }, { type: 'queued', data: {} });
  tasks.claim(id, 'dead-daemon', Date.now(), 'fake');
  tasks.setPgid(id, 1, pgid);
  db.close();
}

const byTask = (r: PruneReport, id: string): PruneEntry | undefined => r.entries.find((e) => e.taskId === id);
const wtDir = (h: WorktreeHarness, id: string) => join(h.home, 'runtime', 'worktrees', id);

/** Five worktrees as the issue describes them, with their leases released except the running one. */
async function fiveWorktrees(h: WorktreeHarness) {
  const manager = h.manager();
  const ids = { locked: 'task-locked', dirty: 'task-dirty', unmerged: 'task-unmerged', squashed: 'task-squashed', ff: 'task-ff' };
  const leases: Record<string, Lease> = {};
  for (const [k, id] of Object.entries(ids)) leases[k] = await manager.acquire(h.task(id, `work on ${k}`), 'inst-1');
  const dir = (k: keyof typeof ids) => (leases[k] as Lease).workdir;

  writeFileSync(join(dir('dirty'), 'notes.txt'), 'not committed\n');
  writeFileSync(join(dir('dirty'), 'README.md'), 'changed but not committed\n');
  for (const n of [1, 2, 3]) commitFile(dir('unmerged'), `unmerged-${n}.txt`, `${n}\n`);
  commitFile(dir('ff'), 'ff.txt', 'fast-forward\n');
  commitFile(dir('squashed'), 'squash-1.txt', 'one\n');
  commitFile(dir('squashed'), 'squash-2.txt', 'two\n');
  for (const k of ['dirty', 'unmerged', 'ff', 'squashed']) await (leases[k] as Lease).release();

  const branchOf = (k: keyof typeof ids) => git(dir(k), 'symbolic-ref', '--short', 'HEAD').trim();
  git(h.repo, 'merge', '-q', '--ff-only', branchOf('ff'));
  git(h.repo, 'merge', '-q', '--squash', branchOf('squashed'));
  git(h.repo, 'commit', '-q', '-m', 'squash-merge of the squashed task');
  return { manager, ids, leases, dir, branchOf };
}

describe('worktree prune', () => {
  it('of five worktrees removes exactly the squash-merged and the fast-forwarded one, and says why it keeps the others; --dry-run removes nothing', async () => {
    const h = harness();
    const { manager, ids, dir, branchOf } = await fiveWorktrees(h);
    const allBranches = branches(h.repo, 'tetora/').sort();
    const allPaths = gitWorktreePaths(h.repo).sort();

    const dry = await manager.prune({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.entries.map((e) => [e.taskId, e.action, e.applied]).sort()).toEqual(
      [
        [ids.dirty, 'keep', false],
        [ids.ff, 'remove', false],
        [ids.locked, 'keep', false],
        [ids.squashed, 'remove', false],
        [ids.unmerged, 'keep', false],
      ].sort(),
    );
    expect(branches(h.repo, 'tetora/').sort()).toEqual(allBranches);
    expect(gitWorktreePaths(h.repo).sort()).toEqual(allPaths);

    const ffBranch = branchOf('ff');
    const squashBranch = branchOf('squashed');
    const report = await manager.prune();
    expect(report.dryRun).toBe(false);
    expect(byTask(report, ids.locked)?.reasons).toEqual([expect.stringMatching(new RegExp(`^locked by task ${ids.locked} \\(instance inst-1, pid ${process.pid}`))]);
    expect(byTask(report, ids.dirty)?.reasons).toEqual(['2 uncommitted files']);
    expect(byTask(report, ids.unmerged)?.reasons).toEqual(['3 commits not in main']);
    for (const k of ['locked', 'dirty', 'unmerged'] as const) {
      expect(byTask(report, ids[k])).toMatchObject({ action: 'keep', applied: false });
      expect(existsSync(dir(k))).toBe(true);
    }
    for (const k of ['squashed', 'ff'] as const) {
      expect(byTask(report, ids[k])).toMatchObject({ action: 'remove', applied: true, branchDeleted: true, reasons: [] });
      expect(existsSync(wtDir(h, ids[k]))).toBe(false);
    }
    expect(branches(h.repo, 'tetora/').sort()).toEqual(allBranches.filter((b) => b !== ffBranch && b !== squashBranch));
    expect(gitWorktreePaths(h.repo)).toHaveLength(4);
    // The files of the kept ones are intact.
    expect(readdirSync(dir('dirty')).sort()).toEqual(expect.arrayContaining(['notes.txt', 'README.md']));
    expect(git(dir('unmerged'), 'rev-list', '--count', 'main..HEAD').trim()).toBe('3');
    // The store agrees.
    const store = h.store();
    expect(store.get(ids.ff)?.status).toBe('removed');
    expect(store.get(ids.dirty)?.status).toBe('active');
  });

  it('keeps commits that only a reflog reaches and edits hidden from git status; removes an amended branch once merged', async () => {
    const h = harness();
    const manager = h.manager();
    const lease = async (id: string) => {
      const l = await manager.acquire(h.task(id, `work ${id}`), 'inst-1');
      await l.release();
      return l.workdir;
    };
    // A commit reset away: no branch reaches it, only the worktree's reflog.
    const reset = await lease('task-reset');
    commitFile(reset, 'precious.txt', 'an hour of work\n');
    git(reset, 'reset', '-q', '--hard', 'HEAD~1');
    // An edit git status does not show (skip-worktree).
    const hidden = await lease('task-hidden');
    git(hidden, 'update-index', '--skip-worktree', 'README.md');
    writeFileSync(join(hidden, 'README.md'), 'edited behind git status\n');
    // A commit amended (adding a file), then the amended one merged: nothing of the first is lost.
    const amended = await lease('task-amended');
    commitFile(amended, 'a.txt', 'a\n');
    writeFileSync(join(amended, 'b.txt'), 'b\n');
    git(amended, 'add', 'b.txt');
    git(amended, 'commit', '-q', '--amend', '--no-edit');
    git(h.repo, 'merge', '-q', '--ff-only', git(amended, 'symbolic-ref', '--short', 'HEAD').trim());

    const report = await manager.prune();
    expect(byTask(report, 'task-reset')).toMatchObject({ action: 'keep', reasons: ['1 commit only in the reflog (reset, amended or rebased away; see git reflog)'] });
    expect(byTask(report, 'task-hidden')).toMatchObject({ action: 'keep', reasons: ['1 uncommitted file'] });
    expect(byTask(report, 'task-amended')).toMatchObject({ action: 'remove', applied: true });
    expect(existsSync(join(reset, '.git'))).toBe(true);
    expect(git(reset, 'reflog', '--format=%s')).toContain('change precious.txt');
    expect(readFileSync(join(hidden, 'README.md'), 'utf8')).toBe('edited behind git status\n');
  });

  it('leaves alone a folder recorded in the store after prune listed the store (a worktree being created by another process)', async () => {
    const h = harness();
    const manager = h.manager();
    const l = await manager.acquire(h.task('task-racing', 'being made'), 'inst-1');
    await l.release();
    const store = h.store();
    // Prune's first read of the store happened before the row existed: list() does not show it yet.
    const late = new Proxy(store, {
      get: (target, key) => {
        if (key === 'list') return () => [];
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const liveness = { now: Date.now, windowMs: 60_000, host: 'h', pidAlive: () => false, taskStatus: () => undefined };
    const report = await pruneWorktrees({ store: late, home: h.home, liveness });
    expect(report.entries).toEqual([expect.objectContaining({ action: 'keep', applied: false, reasons: ['recorded in the store while prune ran (a worktree being created); checked at the next prune'] })]);
    expect(existsSync(join(l.workdir, '.git'))).toBe(true);
  });

  it('never touches worktrees or folders Tetora did not make', async () => {
    const h = harness();
    const manager = h.manager();
    const mine = await manager.acquire(h.task('task-mine'), 'inst-1');
    await mine.release();
    // A user's own worktree beside the repository, clean and merged (prune would remove it if it were ours).
    const userWt = resolve(h.home, 'user-wt');
    git(h.repo, 'worktree', 'add', '-q', '-b', 'feature', userWt, 'main');
    // A user's worktree inside Tetora's folder, on a branch that is not tetora/…, and a plain folder there.
    const inside = join(h.home, 'runtime', 'worktrees', 'hand-made');
    git(h.repo, 'worktree', 'add', '-q', '-b', 'experiment', inside, 'main');
    const plain = join(h.home, 'runtime', 'worktrees', 'plain-folder');
    mkdirSync(plain);
    writeFileSync(join(plain, 'keep.txt'), 'mine\n');

    const report = await manager.prune();
    expect(byTask(report, 'task-mine')).toMatchObject({ action: 'remove', applied: true });
    expect(report.entries.some((e) => e.path === userWt)).toBe(false);
    const insideEntry = report.entries.find((e) => e.path === inside);
    expect(insideEntry).toMatchObject({ taskId: null, action: 'keep', applied: false });
    expect(insideEntry?.reasons[0]).toContain('not a tetora/ branch');
    expect(report.entries.find((e) => e.path === plain)).toMatchObject({ action: 'keep', applied: false });
    expect(existsSync(userWt) && existsSync(inside) && existsSync(join(plain, 'keep.txt'))).toBe(true);
    expect(branches(h.repo).sort()).toEqual(['experiment', 'feature', 'main']);
    expect(gitWorktreePaths(h.repo)).toHaveLength(3);
  });

  it("drops git's record of a worktree folder deleted by hand; its branch goes only when it holds no unmerged work", async () => {
    const h = harness();
    const manager = h.manager();
    const empty = await manager.acquire(h.task('task-gone-clean', 'nothing'), 'inst-1');
    const work = await manager.acquire(h.task('task-gone-work', 'something'), 'inst-1');
    commitFile(work.workdir, 'w.txt', 'work\n');
    const workBranch = git(work.workdir, 'symbolic-ref', '--short', 'HEAD').trim();
    await empty.release();
    await work.release();
    rmSync(empty.workdir, { recursive: true, force: true });
    rmSync(work.workdir, { recursive: true, force: true });
    expect(git(h.repo, 'worktree', 'list', '--porcelain')).toContain('prunable');

    const report = await manager.prune();
    expect(byTask(report, 'task-gone-clean')).toMatchObject({ action: 'forget', applied: true, branchDeleted: true });
    expect(byTask(report, 'task-gone-work')).toMatchObject({ action: 'forget', applied: true, branchDeleted: false });
    expect(byTask(report, 'task-gone-work')?.reasons[0]).toContain('1 commit not in main');
    expect(gitWorktreePaths(h.repo)).toEqual([h.repo]);
    expect(git(h.repo, 'worktree', 'list', '--porcelain')).not.toContain('prunable');
    expect(branches(h.repo, 'tetora/')).toEqual([workBranch]);
    expect(h.store().get('task-gone-work')?.status).toBe('missing');
    // The next prune has nothing left to do with it, and says why its branch stays.
    const again = await manager.prune();
    expect(byTask(again, 'task-gone-clean')).toBeUndefined();
    expect(byTask(again, 'task-gone-work')).toMatchObject({ action: 'keep', applied: false, reasons: [`folder was deleted by hand; branch ${workBranch} kept: 1 commit not in main`] });
  });

  it("treats a killed daemon's lock as dead after the heartbeat window: a clean, integrated worktree goes, a dirty one stays", async () => {
    const h = harness();
    const holder = spawn(process.execPath, [WORKTREE_HOLDER, h.home, h.repo, 'task-clean', 'task-dirty', 'task-orphan'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(holder);
    let out = '';
    let err = '';
    holder.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    holder.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    await new Promise<void>((res, rej) => {
      holder.stdout.on('data', () => out.split('\n').filter((l) => l.startsWith('HELD ')).length === 3 && res());
      holder.on('exit', (code) => rej(new Error(`the holder exited early (${code}): ${err}`)));
    });
    writeFileSync(join(wtDir(h, 'task-dirty'), 'half-done.txt'), 'unsaved work\n');
    // The agent of task-orphan outlives its daemon (as detached agents do until the next boot kills them).
    const agent = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, TETORA_TASK_ID: 'task-orphan' } });
    children.push(agent);
    recordRunningTask(h, 'task-orphan', agent.pid!);
    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;

    // Inside the heartbeat window the lock holds, though its process is gone.
    const fresh = await h.manager().prune();
    for (const id of ['task-clean', 'task-dirty']) expect(byTask(fresh, id)?.reasons[0]).toMatch(new RegExp(`^locked by task ${id} \\(instance dead-daemon, pid ${holder.pid}`));

    // After the window (clock injected), the dead lock protects nothing; the uncommitted file still does.
    const later = () => Date.now() + 61_000;
    const manager = h.manager({ now: later });
    const report = await manager.prune();
    expect(byTask(report, 'task-clean')).toMatchObject({ action: 'remove', applied: true, branchDeleted: true });
    expect(byTask(report, 'task-dirty')).toMatchObject({ action: 'keep', applied: false, reasons: ['1 uncommitted file'] });
    // A clean, integrated worktree whose task's agent still runs in it stays.
    expect(byTask(report, 'task-orphan')?.reasons[0]).toMatch(/^locked by task task-orphan \(.*the task's agent still runs\)\)$/);
    expect(existsSync(wtDir(h, 'task-orphan'))).toBe(true);
    process.kill(-agent.pid!, 'SIGKILL');
    expect(existsSync(wtDir(h, 'task-clean'))).toBe(false);
    expect(existsSync(join(wtDir(h, 'task-dirty'), 'half-done.txt'))).toBe(true);
    // The boot reconcile of the next daemon releases the dead lease (row and file).
    await manager.reconcile(new Set());
    expect(h.store().get('task-dirty')?.lease).toBeNull();
    expect(existsSync(join(wtDir(h, 'task-dirty'), '.tetora-session.lock'))).toBe(false);
  });

  it("boot reconcile marks rows whose folder is gone, drops git's record of them, and keeps their branches", async () => {
    const h = harness();
    const manager = h.manager();
    const gone = await manager.acquire(h.task('task-vanished'), 'inst-1');
    commitFile(gone.workdir, 'v.txt', 'v\n');
    rmSync(gone.workdir, { recursive: true, force: true });
    await manager.reconcile(new Set());
    const row = h.store().get('task-vanished');
    expect(row).toMatchObject({ status: 'missing', lease: null });
    expect(row?.note).toContain('folder was deleted by hand');
    expect(gitWorktreePaths(h.repo)).toEqual([h.repo]);
    expect(branches(h.repo, 'tetora/')).toEqual([row?.branch]);
    // A later lease of the same task (its retry) makes the folder again on the kept branch, with its commit.
    const back = await manager.acquire(h.task('task-vanished'), 'inst-2');
    expect(existsSync(join(back.workdir, 'v.txt'))).toBe(true);
    expect(await back.release()).toMatchObject({ branch: row?.branch, commits: 1 });
  });

  it('a lock whose process still runs protects the worktree even with a stale heartbeat', async () => {
    const h = harness();
    const manager = h.manager();
    const lease = await manager.acquire(h.task('task-alive'), 'inst-1');
    const later = h.manager({ now: () => Date.now() + 3_600_000 });
    const report = await later.prune();
    expect(byTask(report, 'task-alive')?.reasons[0]).toMatch(/^locked by task task-alive .*stale, but process \d+ still runs/);
    expect(existsSync(lease.workdir)).toBe(true);
    await lease.release();
  });
});
