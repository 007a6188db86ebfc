import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, migrationStatus, openDb } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations/index.js';
import { TaskStore } from '../../src/store/tasks.js';
import { WorktreeStore } from '../../src/store/worktrees.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('store: the SQLite file', () => {
  it('creates its folder 0700 and the database, WAL and shared-memory files 0600, with WAL, FULL sync and foreign keys', () => {
    const home = join(mkdtempSync(join(tmpdir(), 'tetora-store-')), 'home');
    const path = join(home, 'tetora.db');
    const db = openDb(path);
    db.prepare("INSERT INTO instances (id, pid, hostname, started_at) VALUES ('i1', 1, 'h', 0)").run();
    expect(mode(home)).toBe(0o700);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() => db.prepare("INSERT INTO task_events (task_id, at, type) VALUES ('no-such-task', 0, 'x')").run()).toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('applies the numbered migrations once, records them, and opening again changes nothing', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tetora-store-')), 'tetora.db');
    const first = openDb(path);
    const status = migrationStatus(first);
    // Numbers are assigned per piece of work, so the list may have gaps until every piece is merged.
    const last = Math.max(...migrations.map((m) => m.version));
    expect(status.current).toBe(last);
    expect(status.latest).toBe(last);
    expect(status.applied.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    const schema = () => first.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
    const before = schema();
    expect(migrate(first, path)).toBe(0);
    first.close();

    const second = openDb(path);
    expect(migrationStatus(second).applied).toEqual(status.applied);
    expect(second.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()).toEqual(before);
    second.close();
  });

  it('a failing migration rolls back entirely and names itself', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tetora-store-')), 'tetora.db');
    const db = openDb(path);
    const last = Math.max(...migrations.map((m) => m.version));
    const broken = [...migrations, { version: last + 1, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); THIS IS NOT SQL;' }];
    expect(() => migrate(db, path, broken)).toThrow(/broken/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    expect(migrationStatus(db, broken).current).toBe(last);
    db.close();
  });
});

describe('store: daily spend', () => {
  it('counts each run on the day it ended, for one agent or all', () => {
    const store = new TaskStore(openDb(':memory:'));
    const midnight = Date.UTC(2026, 10, 25);
    const add = (id: string, agent: string) =>
      store.insert({ id, source: 'test', prompt: 'p', status: 'queued', maxAttempts: 3, priority: 0, createdAt: midnight - 3_600_000, agent }, { type: 'queued', data: {} });
    add('t1', 'coder');
    add('t2', 'writer');
    // t1: a $5 run that ended at 23:50 yesterday, then a $1 run today.
    store.claim('t1', 'i1', midnight - 600_000, 'p');
    store.transition('t1', 'running', 'retry_wait', { notBefore: midnight + 600_000, errorMessage: 'overloaded' }, { at: midnight - 600_000, data: {} }, { run: 1, outcome: 'transient', message: 'overloaded', costUsd: 5 });
    store.transition('t1', 'retry_wait', 'queued', {}, { at: midnight + 600_000, data: {} });
    store.claim('t1', 'i1', midnight + 600_000, 'p');
    store.transition('t1', 'running', 'succeeded', { output: 'ok' }, { at: midnight + 700_000, data: {} }, { run: 2, outcome: 'success', message: null, costUsd: 1 });
    // t2: $2 today; a run still going costs nothing yet.
    store.claim('t2', 'i1', midnight + 800_000, 'p');
    store.transition('t2', 'running', 'failed', { errorMessage: 'bad' }, { at: midnight + 900_000, data: {} }, { run: 1, outcome: 'permanent', message: 'bad', costUsd: 2 });
    expect(store.spentSince(midnight)).toBe(3);
    expect(store.spentSince(midnight, 'coder')).toBe(1);
    expect(store.spentSince(midnight - 86_400_000, 'coder')).toBe(6);
    expect(store.spentSince(midnight, 'nobody')).toBe(0);
  });
});

describe('store: a worktree removal and a task taking the worktree over', () => {
  it('a prune that finishes after a task took the worktree over leaves the task its row', () => {
    let now = 1_000;
    const store = new WorktreeStore(openDb(':memory:'), () => now);
    const lease = { taskId: 't1', instanceId: 'i1', pid: 1, host: 'h', heartbeatAt: now };
    const v1 = store.insertLeased({ taskId: 't1', agent: 'a', repo: '/r', gitDir: '/r/.git', path: '/w/t1', subdir: '', branch: 'tetora/a/t1', baseBranch: 'main', baseCommit: 'c0' }, lease);
    store.clearLease('t1', v1);
    const claimed = store.get('t1')!.lockVersion;
    expect(store.claimForRemoval('t1', claimed, 'active')).toBe(true);
    now += 5_000;
    store.touchRemoval('t1', claimed);
    expect(store.get('t1')!.updatedAt).toBe(now);
    // The removal looked stale to a retry of the task, which took the row over.
    expect(store.takeLease('t1', claimed, { ...lease, heartbeatAt: now }, 'c0', true)).toBe(claimed + 1);
    expect(store.finishRemoval('t1', claimed, 'removed', 'pruned')).toBe(false);
    expect(store.get('t1')).toMatchObject({ status: 'active', lease: { taskId: 't1' } });
  });
});
