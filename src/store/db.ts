import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { TetoraError } from '../errors.js';
import { ensurePrivateDir } from '../util/fsx.js';
import { storeError } from './errors.js';
import { sqliteOptions } from '../sea/runtime.js';
import { migrations, type Migration } from './migrations/index.js';
import { version as tetoraVersion } from '../cli/version.js';

/** The store's own handle type. Only modules under src/store/ may import this file. */
export type Db = Database.Database;

export interface MigrationStatus {
  current: number;
  latest: number;
  applied: Array<{ version: number; name: string; appliedAt: number }>;
}

/**
 * The WAL is checkpointed once it holds 256 pages (1 MiB with 4 KiB pages; SQLite's default is 1000) and cut
 * back to 1 MiB after a checkpoint (SQLite otherwise keeps it at its largest size). A WAL left to grow on a
 * small disk can take the very space its checkpoint needs to copy pages into the database: then neither
 * can move until something else frees space.
 */
const WAL_AUTOCHECKPOINT_PAGES = 256;
const JOURNAL_SIZE_LIMIT = 1024 * 1024;

/**
 * Open (creating when absent) the SQLite file: folder 0700, file and its -wal/-shm files 0600, WAL (checkpointed
 * at 1 MiB and cut back to 1 MiB after checkpoints), synchronous=FULL (an acknowledged task survives power loss), busy
 * timeout, foreign keys; then apply pending migrations. A full disk, a read-only file or folder and an I/O
 * error are catalogued errors naming the file and the fix (TET_ERR_STORE_FULL, _READONLY, _UNAVAILABLE).
 */
export function openDb(path: string, opts: { readonly?: boolean; migrate?: boolean } = {}): Db {
  let db: Db;
  try {
    if (path !== ':memory:') {
      ensurePrivateDir(dirname(path));
      if (!existsSync(path) && !opts.readonly) closeSync(openSync(path, 'a', 0o600));
      if (!opts.readonly) for (const f of [path, `${path}-wal`, `${path}-shm`]) if (f === path || existsSync(f)) chmodSync(f, 0o600);
    }
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, ...sqliteOptions() });
  } catch (err) {
    throw (
      storeError(err, path, `cannot open the database`) ??
      new TetoraError(
        'TET_ERR_STORE_OPEN',
        `cannot open the database ${path}: ${(err as Error).message}. Check that the folder exists and is writable, or set dbPath in the config.`,
        { path },
        { cause: err },
      )
    );
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    }
    db.pragma('foreign_keys = ON');
    if (opts.migrate !== false && !opts.readonly) {
      migrate(db, path);
      recordWriter(db);
    }
  } catch (err) {
    try {
      db.close();
    } catch {
      /* the error below says what matters */
    }
    throw err instanceof TetoraError ? err : (storeError(err, path, 'cannot open the database') ?? err);
  }
  return db;
}

function ensureMigrationTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
}

export function migrationStatus(db: Db, list: readonly Migration[] = migrations): MigrationStatus {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  const applied = exists
    ? (db.prepare('SELECT version, name, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all() as MigrationStatus['applied'])
    : [];
  const latest = list.reduce((m, x) => Math.max(m, x.version), 0);
  const current = applied.reduce((m, x) => Math.max(m, x.version), 0);
  return { current, latest, applied };
}

/** Apply every pending migration, each in one transaction. Idempotent: a second call changes nothing. */
export function migrate(db: Db, path: string, list: readonly Migration[] = migrations, now: () => number = Date.now): number {
  ensureMigrationTable(db);
  const { current, latest } = migrationStatus(db, list);
  if (current > latest) {
    const writer = writerVersion(db);
    const mine = tetoraVersion();
    throw new TetoraError(
      'TET_ERR_STORE_MIGRATION',
      `the database ${path} is at schema version ${current}${writer ? ` (written by Tetora ${writer})` : ''}, newer than this Tetora ${mine} knows (schema ${latest}). It needs Tetora ${writer ? `${writer} or newer` : 'with schema version ' + current}: run \`tetora upgrade${writer ? ` --to ${writer}` : ''}\` (or install that version), or point dbPath at another file.`,
      { path, current, latest, version: mine, ...(writer ? { writer } : {}) },
    );
  }
  let count = 0;
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    try {
      db.transaction(() => {
        db.exec(m.sql);
        record.run(m.version, m.name, now());
      })();
      count++;
    } catch (err) {
      const unavailable = storeError(err, path, `cannot apply migration ${m.version} (${m.name})`, `the database stays at version ${m.version - 1} until then`);
      if (unavailable) throw unavailable;
      throw new TetoraError(
        'TET_ERR_STORE_MIGRATION',
        `migration ${m.version} (${m.name}) failed on ${path}: ${(err as Error).message}. The database was left at version ${m.version - 1}; restore a backup or report this.`,
        { path, version: m.version },
        { cause: err },
      );
    }
  }
  return count;
}

/** The Tetora version that last opened this database for writing (`meta.writer_version`), if recorded. */
export function writerVersion(db: Db): string | undefined {
  try {
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'writer_version'`).get() as { value: string } | undefined;
    return row?.value;
  } catch {
    return undefined; // no meta table yet (schema before 5)
  }
}

/** Records this Tetora's version as the database's last writer (read by an older one that refuses it). */
function recordWriter(db: Db): void {
  db.prepare(`INSERT INTO meta (key, value) VALUES ('writer_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(tetoraVersion());
}
