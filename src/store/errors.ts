/**
 * Is this error the store refusing writes for a while (a full disk, an I/O error, a read-only file, a lock
 * held too long), as opposed to a bug? Callers keep what they meant to write and try again later.
 */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|PROTOCOL)/.test(code);
}

/** What the store's failure is, in words for a log line or a health answer. */
export function storeFailureReason(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && code.startsWith('SQLITE_FULL')) return `the disk holding the database is full (${msg})`;
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) return `the database cannot be written (${msg})`;
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) return `the disk reported an I/O error (${msg})`;
  return msg;
}
