import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir } from '../util/fsx.js';
import { storeError } from './errors.js';
import { sqliteOptions } from '../sea/runtime.js';

/**
 * One daemon per store, decided by the kernel: an exclusive lock on `<dbPath>.lock`, held for the daemon's
 * life and released by the kernel when its process ends, however it ends (SIGKILL included). The check and
 * the taking are one step (two daemons started together cannot both pass).
 *
 * The lock is SQLite's own file lock (a POSIX record lock, through better-sqlite3): an exclusive
 * transaction on a small database that is never committed. No other code opens this file, so no other
 * descriptor of this process can drop the lock.
 */
export interface HomeLock {
  readonly path: string;
  release(): void;
}

/** The lock file of a store. */
export function lockPathOf(dbPath: string): string {
  return `${dbPath}.lock`;
}

/** Take the lock, or return undefined when another process holds it. Throws when the file cannot be opened. */
export function tryLockHome(dbPath: string): HomeLock | undefined {
  const path = lockPathOf(dbPath);
  let db: Database.Database;
  try {
    ensurePrivateDir(dirname(path));
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    db = new Database(path, { timeout: 0, ...sqliteOptions() });
  } catch (err) {
    throw storeError(err, path, 'cannot take the lock of the home') ?? err;
  }
  try {
    db.pragma('journal_mode = DELETE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') return undefined;
    throw storeError(err, path, 'cannot take the lock of the home') ?? err;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      try {
        db.exec('ROLLBACK');
      } catch {
        /* closing releases it too */
      }
      db.close();
    },
  };
}
