import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isInside, realResolve } from '../engine/allowed-dirs.js';

/**
 * Files that belong to a folder (workflow definitions in `workflowDir`) must not lead out of it: a
 * `<dir>/x.json` that is a symlink to `/etc/…` or `../config.json` is neither read nor written through.
 */

/** Where `p` finally leads: its real path, following symlinks even when the last one dangles (at most 40 hops). */
export function finalTarget(p: string): string {
  let cur = resolve(p);
  for (let hop = 0; hop < 40; hop++) {
    try {
      return realpathSync(cur);
    } catch {
      // Missing, or a symlink whose target is missing: follow the link by hand.
    }
    let link: string;
    try {
      if (!lstatSync(cur).isSymbolicLink()) return realResolve(cur);
      link = readlinkSync(cur);
    } catch {
      return realResolve(cur);
    }
    cur = resolve(realResolve(dirname(cur)), link);
  }
  return realResolve(cur);
}

/** Where `file` (a path inside `dir`, existing or not) leads when that is outside `dir`; undefined when it stays inside. */
export function escapesFolder(dir: string, file: string): string | undefined {
  const target = finalTarget(file);
  return isInside(realResolve(dir), target) ? undefined : target;
}

/** The message for a file of `dir` that leads to `target` outside it. */
export function escapeMessage(what: string, file: string, target: string, dir: string): string {
  return `${what} ${file} leads to ${target}, outside ${dir} (a symlink out of the folder); it was not read or written. Replace the link with the file itself, or move the file into ${dir}`;
}
