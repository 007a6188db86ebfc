/** Pure parsers for git's machine-readable output. */

export interface GitWorktreeEntry {
  path: string;
  head: string | null;
  /** Short branch name (`refs/heads/` dropped); null when detached or bare. */
  branch: string | null;
  bare: boolean;
  locked: boolean;
  prunable: boolean;
}

/** `git worktree list --porcelain`: blocks separated by blank lines; the first block is the main worktree. */
export function parseWorktreeList(text: string): GitWorktreeEntry[] {
  const out: GitWorktreeEntry[] = [];
  let cur: GitWorktreeEntry | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('worktree ')) {
      cur = { path: line.slice('worktree '.length), head: null, branch: null, bare: false, locked: false, prunable: false };
      out.push(cur);
      continue;
    }
    if (!cur || line === '') continue;
    if (line.startsWith('HEAD ')) cur.head = line.slice(5);
    else if (line.startsWith('branch ')) cur.branch = line.slice(7).replace(/^refs\/heads\//, '');
    else if (line === 'bare') cur.bare = true;
    else if (line === 'locked' || line.startsWith('locked ')) cur.locked = true;
    else if (line === 'prunable' || line.startsWith('prunable ')) cur.prunable = true;
  }
  return out;
}

export interface StatusEntry {
  /** Two-letter XY code, `??` for untracked. */
  code: string;
  path: string;
}

/**
 * `git status --porcelain=v1 -z`: `XY path\0`, with renames and copies followed by `origpath\0`.
 */
export function parseStatusZ(text: string): StatusEntry[] {
  const parts = text.split('\0');
  const out: StatusEntry[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p.length < 4) continue;
    const code = p.slice(0, 2);
    out.push({ code, path: p.slice(3) });
    if (code[0] === 'R' || code[0] === 'C') i++;
  }
  return out;
}

/** Status entries that are the user's changes: everything except Tetora's own lock file at the root. */
export function userChanges(entries: readonly StatusEntry[], lockFile: string): StatusEntry[] {
  return entries.filter((e) => e.path !== lockFile);
}
