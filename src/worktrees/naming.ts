import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TetoraError } from '../errors.js';

/** Pure naming rules: where a task's worktree lives and what its branch is called. */

export const BRANCH_PREFIX = 'tetora/';
const SLUG_MAX = 40;
const SLUG_MIN_CUT = 20;

/**
 * Lower-case ASCII slug: accents dropped, runs of anything but `[a-z0-9]` become `-`, trimmed. Cut at 40
 * characters, on a `-` boundary when that boundary is past character 20. Empty input gives `fallback`.
 */
export function slugify(text: string, fallback = 'task'): string {
  const base = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (base.length === 0) return fallback;
  if (base.length <= SLUG_MAX) return base;
  const cut = base.slice(0, SLUG_MAX);
  const dash = cut.lastIndexOf('-');
  return (dash > SLUG_MIN_CUT ? cut.slice(0, dash) : cut).replace(/-+$/, '');
}

/** The first 8 letters/digits of the task id (random for the UUIDs the engine makes); a hash when it has none. */
export function shortTaskId(taskId: string): string {
  const clean = taskId.toLowerCase().replace(/[^a-z0-9]/g, '');
  return clean.length > 0 ? clean.slice(0, 8) : createHash('sha1').update(taskId).digest('hex').slice(0, 8);
}

/** `tetora/<agent>/<short task id>-<slug of the prompt>`; `<agent>` is `anon` without an agent. */
export function branchName(taskId: string, prompt: string, agent?: string): string {
  const who = agent ? slugify(agent, 'agent') : 'anon';
  return `${BRANCH_PREFIX}${who}/${shortTaskId(taskId)}-${slugify(prompt)}`;
}

/** The n-th alternative when the name is taken by something that is not this task's (n >= 2). */
export function alternativeBranch(branch: string, n: number): string {
  return `${branch}-${n}`;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A task id becomes a folder name; refuse anything that could escape the worktrees folder. */
export function assertSafeTaskId(taskId: string): void {
  if (!SAFE_ID.test(taskId) || taskId.includes('..')) {
    throw new TetoraError(
      'TET_ERR_WORKTREE',
      `task id ${JSON.stringify(taskId)} cannot name a worktree folder: use letters, digits, '.', '_' or '-' (at most 128, no '..').`,
      { taskId },
    );
  }
}

/** `<home>/runtime/worktrees`. */
export function worktreesRoot(home: string): string {
  return join(home, 'runtime', 'worktrees');
}

/** `<home>/runtime/worktrees/<taskId>`. */
export function worktreeDir(home: string, taskId: string): string {
  assertSafeTaskId(taskId);
  return join(worktreesRoot(home), taskId);
}

/** `42 s`, `3 min`, `5 h 2 min`, `4 d 3 h`: an age for people. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `512 B`, `12.5 KiB`, `3.0 MiB`, `1.2 GiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `1 uncommitted file`, `3 uncommitted files`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
