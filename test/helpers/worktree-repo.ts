/**
 * Real git repositories for the worktree tests. Identity comes from the environment (CI has no global
 * git identity), and the user's global and system git config are ignored.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Tetora Test',
  GIT_AUTHOR_EMAIL: 'test@tetora.invalid',
  GIT_COMMITTER_NAME: 'Tetora Test',
  GIT_COMMITTER_EMAIL: 'test@tetora.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Run git in `cwd`; its stdout (throws with git's stderr when it fails). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Write (creating folders) and commit a file; the new commit id. */
export function commitFile(cwd: string, file: string, content: string, message = `change ${file}`): string {
  mkdirSync(dirname(join(cwd, file)), { recursive: true });
  writeFileSync(join(cwd, file), content);
  git(cwd, 'add', '--', file);
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD').trim();
}

/** A fresh repository on `main` with one commit, in a new temp folder (or in `dir`). */
export function makeRepo(dir: string = mkdtempSync(join(tmpdir(), 'tetora-repo-'))): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  commitFile(dir, 'README.md', '# test repository\n', 'initial commit');
  return dir;
}

/** Branches whose name starts with `prefix`. */
export function branches(cwd: string, prefix = ''): string[] {
  return git(cwd, 'for-each-ref', '--format=%(refname:short)', `refs/heads/${prefix}`)
    .split('\n')
    .filter(Boolean);
}

/** Paths of the worktrees git lists for the repository. */
export function gitWorktreePaths(cwd: string): string[] {
  return git(cwd, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}
