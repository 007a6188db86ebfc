import Database from 'better-sqlite3';
import { migrations } from './migrations/index.js';
import { migrationStatus } from './db.js';

/**
 * The store's side of `tetora backup` and `tetora restore`: SQLite's online backup (a consistent copy
 * taken while a daemon writes; pages changed during the copy are copied again), and the checks a
 * database must pass before a restore puts it in place.
 */

/** Copy the database at `src` into `dest` (a new file), consistent, while others may write to `src`. */
export async function backupDatabase(src: string, dest: string): Promise<{ schema: number; tasks: number }> {
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(dest);
  } finally {
    db.close();
  }
  // One self-contained file: the copy leaves WAL mode (a daemon opening it turns WAL on again).
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const { current } = migrationStatus(copy);
    const tasks = (copy.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number } | undefined)?.n ?? 0;
    return { schema: current, tasks };
  } finally {
    copy.close();
  }
}

export interface DbCheck {
  ok: boolean;
  /** PRAGMA integrity_check's lines when not ok (at most 20), or why the file is no database. */
  problems: string[];
  schema: number;
  latest: number;
  tasks: number;
}

/** PRAGMA integrity_check, the schema version against this program's, and the task count of `path`. */
export function checkDatabase(path: string): DbCheck {
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    return { ok: false, problems: [(err as Error).message], schema: 0, latest, tasks: 0 };
  }
  try {
    const rows = db.pragma('integrity_check(20)') as Array<{ integrity_check: string }>;
    const problems = rows.map((r) => r.integrity_check).filter((x) => x !== 'ok');
    if (problems.length) return { ok: false, problems, schema: 0, latest, tasks: 0 };
    const { current } = migrationStatus(db);
    const tasks = (db.prepare(`SELECT COUNT(*) AS n FROM tasks`).get() as { n: number }).n;
    return { ok: true, problems: [], schema: current, latest, tasks };
  } catch (err) {
    return { ok: false, problems: [(err as Error).message], schema: 0, latest, tasks: 0 };
  } finally {
    db.close();
  }
}
