import { describe, expect, it } from 'vitest';
import { storeLine } from '../../src/cli/commands/status.js';
import { isStoreUnavailable, storeError, storeFailureKind, storeFix } from '../../src/store/errors.js';

const sqlite = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('store failures (issue 10 items 3-4)', () => {
  it('classifies SQLite and file-system codes, and nothing else', () => {
    expect(storeFailureKind(sqlite('SQLITE_FULL'))).toBe('full');
    expect(storeFailureKind(sqlite('ENOSPC'))).toBe('full');
    expect(storeFailureKind(sqlite('SQLITE_READONLY_DBMOVED'))).toBe('readonly');
    expect(storeFailureKind(sqlite('SQLITE_CANTOPEN'))).toBe('readonly');
    expect(storeFailureKind(sqlite('EROFS'))).toBe('readonly');
    expect(storeFailureKind(sqlite('SQLITE_IOERR_WRITE'))).toBe('unavailable');
    expect(storeFailureKind(sqlite('SQLITE_CONSTRAINT_UNIQUE'))).toBeUndefined();
    expect(storeFailureKind(new Error('plain'))).toBeUndefined();
    expect(isStoreUnavailable(sqlite('EROFS'))).toBe(false); // only SQLite's own codes are retried at run time
  });

  it('names the file and the fix, with the catalog code', () => {
    const e = storeError(sqlite('SQLITE_READONLY', 'attempt to write a readonly database'), '/h/tetora.db', 'cannot start');
    expect(e?.code).toBe('TET_ERR_STORE_READONLY');
    expect(e?.status).toBe(503);
    expect(e?.exitCode).toBe(74);
    expect(e?.message).toContain('/h/tetora.db');
    expect(e?.message).toContain('-wal');
    expect(storeError(sqlite('SQLITE_CONSTRAINT'), '/h/tetora.db', 'x')).toBeUndefined();
    expect(storeFix('full', '/h/tetora.db')).toContain('df -h /h');
  });

  it('status shows a failing store with its code, reason, age and fix', () => {
    expect(storeLine({ ok: true })).toBe('ok');
    const line = storeLine({ ok: false, code: 'TET_ERR_STORE_FULL', error: 'the disk holding the database is full', fix: 'free space', since: 1000 }, 61_000);
    expect(line).toBe('FAILING TET_ERR_STORE_FULL: the disk holding the database is full (since 1970-01-01T00:00:01.000Z, 60s ago); fix: free space');
  });
});
