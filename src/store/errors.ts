import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TetoraError, type ErrorCode } from '../errors.js';

/**
 * Is this error the store refusing writes for a while (a full disk, an I/O error, a read-only file, a lock
 * held too long), as opposed to a bug? Callers keep what they meant to write and try again later.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|PROTOCOL)/.test(code);
}

/** The three ways a store fails, each with its catalog code. Pure. */
export type StoreFailureKind = 'full' | 'readonly' | 'unavailable';

/**
 * Which kind of failure an error is: SQLite's codes, and the file system's (opening or chmod-ing the files
 * before SQLite sees them). Undefined for anything else (a bug, a constraint). Pure.
 */
export function storeFailureKind(err: unknown): StoreFailureKind | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT') return 'full';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'readonly';
  if (isStoreUnavailable(err) || code === 'EIO') return 'unavailable';
  return undefined;
}

/**
 * An I/O error on a disk with no room left is a full disk: SQLite reports a -shm file it cannot grow as
 * SQLITE_IOERR_SHMSIZE, not SQLITE_FULL. Reads the free space of the folder holding `path`.
 */
export function refineKind(kind: StoreFailureKind, path: string): StoreFailureKind {
  if (kind !== 'unavailable' || path === ':memory:') return kind;
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < 256 * 1024 ? 'full' : kind;
  } catch {
    return kind;
  }
}

const codeOf: Record<StoreFailureKind, ErrorCode> = {
  full: 'TET_ERR_STORE_FULL',
  readonly: 'TET_ERR_STORE_READONLY',
  unavailable: 'TET_ERR_STORE_UNAVAILABLE',
};

export function storeFailureCode(kind: StoreFailureKind): ErrorCode {
  return codeOf[kind];
}

/** What the store's failure is, in words for a log line or a health answer. */
export function storeFailureReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  switch (storeFailureKind(err)) {
    case 'full':
      return `the disk holding the database is full (${msg})`;
    case 'readonly':
      return `the database cannot be written (${msg})`;
    case 'unavailable':
      return (err as { code?: string }).code?.startsWith('SQLITE_IOERR') || (err as { code?: string }).code === 'EIO' ? `the disk reported an I/O error (${msg})` : `the database refuses writes (${msg})`;
    default:
      return msg;
  }
}

/** What to do about a failure of `kind` on the store at `path`. Pure. */
export function storeFix(kind: StoreFailureKind, path: string): string {
  const dir = dirname(path);
  switch (kind) {
    case 'full':
      return `free space on the disk holding ${dir} (see \`df -h ${dir}\`), or move dbPath to a disk with room`;
    case 'readonly':
      return `make ${dir} and ${path} (with its -wal and -shm files) writable by this user (uid ${process.getuid?.() ?? '?'}), remount the disk read-write, or set dbPath to a writable place`;
    case 'unavailable':
      return `check the disk holding ${dir} (the system log, \`dmesg\`, says more about I/O errors)`;
  }
}

/**
 * The catalogued error for a store failure (undefined when `err` is not one): it names the file, says
 * what happened, what `doing` could not be done and what to do.
 */
export function storeError(err: unknown, path: string, doing: string, after = ''): TetoraError | undefined {
  const found = storeFailureKind(err);
  if (!found) return undefined;
  const kind = refineKind(found, path);
  return storeFailureError(kind, kind === found ? storeFailureReason(err) : `the disk holding the database is full (${(err as Error).message})`, path, doing, after, err);
}

/** The catalogued error for a failure of `kind` already described by `reason`. Pure. */
export function storeFailureError(kind: StoreFailureKind, reason: string, path: string, doing: string, after = '', cause?: unknown): TetoraError {
  const sqliteCode = (cause as { code?: unknown } | undefined)?.code;
  return new TetoraError(
    storeFailureCode(kind),
    `${doing}: ${reason} — the database is ${path}. ${capitalise(storeFix(kind, path))}${after ? `; ${after}` : ''}.`,
    { path, kind, ...(typeof sqliteCode === 'string' ? { sqliteCode } : {}) },
    cause === undefined ? undefined : { cause },
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
