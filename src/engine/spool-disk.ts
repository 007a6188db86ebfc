import { existsSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TetoraError } from '../errors.js';

/**
 * The disk holding the runs' spool folders (`runtime/runs` in the home): a run writes its prompt, its
 * output and its exit status there. When that disk is full or read-only, a run cannot start (nothing is
 * lost: it waits, holding its slot, until the disk takes writes again) and a run that ended meanwhile may
 * have lost its output (its task fails saying so, instead of succeeding with an empty answer).
 */
export type DiskProblemKind = 'full' | 'readonly';

export interface DiskProblem {
  kind: DiskProblemKind;
  /** What is wrong, naming the folder. */
  reason: string;
  /** What to do. */
  fix: string;
}

/** Less room than this on the disk counts as full (a spool needs a few pages; SQLite's -shm needs 32 KiB). */
export const LOW_SPACE_BYTES = 256 * 1024;

/** A file-system write error's kind: ENOSPC/EDQUOT are a full disk; EROFS a read-only one. Pure. */
export function fsWriteFailure(err: unknown): DiskProblemKind | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'full';
  if (code === 'EROFS') return 'readonly';
  return undefined;
}

/** The problem of `kind` on the disk holding `dir`, in words. Pure. */
export function describeDiskProblem(kind: DiskProblemKind, dir: string, detail?: string): DiskProblem {
  const why = detail ? ` (${detail})` : '';
  return kind === 'full'
    ? { kind, reason: `the disk holding ${dir} is full${why}`, fix: `free space on it (see \`df -h ${dir}\`)` }
    : { kind, reason: `the disk holding ${dir} is read-only${why}`, fix: `remount it read-write (see \`findmnt -T ${dir}\`)` };
}

/**
 * Can `dir` (or, when it does not exist yet, its nearest existing parent) take a small write now? Reads
 * the free space, then writes and removes a probe file. Undefined when it can.
 */
export function diskProblem(dir: string): DiskProblem | undefined {
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    const fs = statfsSync(at);
    if (fs.bavail * fs.bsize < LOW_SPACE_BYTES) return describeDiskProblem('full', at, `${fs.bavail * fs.bsize} bytes free`);
  } catch {
    /* the probe below says more */
  }
  const probe = join(at, `.tetora-disk-probe-${process.pid}`);
  try {
    writeFileSync(probe, 'probe', { mode: 0o600 });
    rmSync(probe, { force: true });
    return undefined;
  } catch (err) {
    const kind = fsWriteFailure(err);
    return kind ? describeDiskProblem(kind, at, (err as Error).message) : undefined;
  }
}

/** The catalogued error refusing `doing` while runs cannot start on a disk with `p`. Pure. */
export function runsDiskError(p: DiskProblem, path: string, doing: string): TetoraError {
  return new TetoraError(
    p.kind === 'full' ? 'TET_ERR_RUNS_DISK_FULL' : 'TET_ERR_RUNS_DISK_READONLY',
    `${doing}: runs cannot start: ${p.reason}. ${p.fix.charAt(0).toUpperCase()}${p.fix.slice(1)}; retry later: waiting runs start and new work is accepted again on their own once the disk takes writes.`,
    { path, kind: p.kind },
  );
}
