import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TetoraError } from '../errors.js';

/**
 * `allowedDirs` (the original's, README "Config"): when set, a task's workdir, its `--add-dir`s and a
 * workflow run's workdir must lie inside one of the listed folders. Both sides are compared after
 * `..` and symlinks are resolved (realpath); a path that does not exist yet is its nearest existing
 * ancestor's real path plus the rest, so a missing folder under a symlink that leads out is still caught.
 */

/** The real path of `p` (absolute): realpath of `p`, or of its nearest existing ancestor with the rest appended. */
export function realResolve(p: string, realpath: (p: string) => string = realpathSync): string {
  let head = resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return rest.length ? join(realpath(head), ...rest) : realpath(head);
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(p);
      rest.unshift(basename(head));
      head = up;
    }
  }
}

/** Whether the resolved path `inner` is `dir` or lies below it (both absolute and already resolved). `/allowed-evil` is not inside `/allowed`. */
export function isInside(dir: string, inner: string): boolean {
  const rel = relative(dir, inner);
  if (rel === '') return true;
  if (isAbsolute(rel)) return false;
  return rel.split(sep)[0] !== '..';
}

/** The first allowed folder (resolved) that holds `path` (resolved), or undefined. */
export function allowedBy(path: string, allowed: readonly string[], realpath: (p: string) => string = realpathSync): string | undefined {
  const wanted = realResolve(path, realpath);
  return allowed.find((dir) => isInside(realResolve(dir, realpath), wanted));
}

/**
 * Throws TET_ERR_TASK_INVALID naming the field, the path as given, its resolved form and the allowed
 * folders when `path` is outside every one of `allowed`. An empty `allowed` allows everything.
 */
export function assertAllowedDir(field: string, path: string, allowed: readonly string[], realpath: (p: string) => string = realpathSync): void {
  if (allowed.length === 0) return;
  if (allowedBy(path, allowed, realpath) !== undefined) return;
  const resolved = realResolve(path, realpath);
  const shown = resolved === path ? path : `${path} (resolved: ${resolved})`;
  throw new TetoraError(
    'TET_ERR_TASK_INVALID',
    `${field} ${shown} is outside allowedDirs (${allowed.join(', ')}): choose a folder inside one of them, or add it to allowedDirs in the config (the agent's own allowedDirs replaces the top-level list).`,
    { field, path, resolved, allowedDirs: [...allowed] },
  );
}
