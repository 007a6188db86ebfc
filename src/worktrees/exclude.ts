import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetoraError } from '../errors.js';
import { LOCK_FILE } from './lock.js';

/**
 * The line Tetora adds to `<common git dir>/info/exclude` so no agent commits the lock file, nor the
 * temporary file it is written through (`<lock>.<pid>.<time>.tmp`, present for a moment at each heartbeat).
 */
export const EXCLUDE_LINE = `/${LOCK_FILE}*`;

/** Pure: does this exclude file already keep the lock file out? */
export function excludesLockFile(content: string): boolean {
  return content.split(/\r?\n/).some((l) => {
    const t = l.trim();
    return t === EXCLUDE_LINE || t === `${LOCK_FILE}*` || t === `**/${LOCK_FILE}*`;
  });
}

/**
 * Add the lock file to the repository's `info/exclude` (shared by all its worktrees), never to the user's
 * `.gitignore`. Idempotent.
 */
export function ensureLockExcluded(commonDir: string): void {
  const infoDir = join(commonDir, 'info');
  const file = join(infoDir, 'exclude');
  let content = '';
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw excludeError(file, err);
  }
  if (excludesLockFile(content)) return;
  try {
    mkdirSync(infoDir, { recursive: true });
    const sep = content.length > 0 && !content.endsWith('\n') ? '\n' : '';
    appendFileSync(file, `${sep}# Tetora's session lock (never commit it)\n${EXCLUDE_LINE}\n`);
  } catch (err) {
    throw excludeError(file, err);
  }
}

function excludeError(file: string, err: unknown): TetoraError {
  return new TetoraError(
    'TET_ERR_WORKTREE',
    `cannot add ${EXCLUDE_LINE} to ${file}: ${(err as Error).message}. Make the file writable for the Tetora user, or add the line yourself.`,
    { file },
    { cause: err },
  );
}
