import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TetoraError } from '../errors.js';
import { indexLockErrorFrom } from './indexlock.js';
import { parseWorktreeList, type GitWorktreeEntry } from './parse.js';

/** git I/O: execFile with argument arrays, never a shell; a scrubbed, predictable environment. */

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables that would point git at another repository than the folder we name. */
const SCRUBBED = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_PREFIX', 'GIT_NAMESPACE'];

function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };
  for (const k of SCRUBBED) delete env[k];
  return env;
}

/** Run git in `cwd`; resolves with the exit code (non-zero is not an exception). Rejects only when git cannot start. */
export function git(args: readonly string[], cwd: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', [...args], { cwd, env: gitEnv(), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return resolve({ code, stdout, stderr });
      if (code === 'ENOENT' && !existsSync(cwd)) {
        return reject(new TetoraError('TET_ERR_WORKTREE', `cannot run git in ${cwd}: the folder does not exist. Fix the workdir of the agent or the task.`, { cwd }, { cause: err }));
      }
      if (code === 'ENOENT') {
        return reject(new TetoraError('TET_ERR_WORKTREE', 'git was not found on PATH: install git (2.38 or newer) or add it to PATH for the Tetora process.', { cwd }, { cause: err }));
      }
      reject(new TetoraError('TET_ERR_WORKTREE', `cannot run git ${args.join(' ')} in ${cwd}: ${(err as Error).message}. Check that git runs there (\`git -C ${cwd} status\`).`, { cwd }, { cause: err }));
    });
  });
}

const DEFAULT_FIX = 'run the same git command by hand in that folder to see the whole problem, fix it, then retry';

/** Run git and throw a TET_ERR_WORKTREE naming the command, the folder and git's message when it fails. */
export async function gitOk(args: readonly string[], cwd: string, what: string, fix: string = DEFAULT_FIX): Promise<string> {
  const r = await git(args, cwd);
  if (r.code === 0) return r.stdout;
  const lockErr = indexLockErrorFrom(r.stderr, cwd);
  if (lockErr) throw lockErr;
  const said = r.stderr.trim() || r.stdout.trim() || '(no output)';
  throw new TetoraError(
    'TET_ERR_WORKTREE',
    `${what} failed: \`git ${args.join(' ')}\` in ${cwd} exited with ${r.code}: ${said}. To fix: ${fix}.`,
    { cwd, args: [...args], exitCode: r.code },
  );
}

export interface RepoInfo {
  /** The top folder of the work tree the task named. */
  toplevel: string;
  /** That work tree's own git dir (holds its index and index.lock). */
  gitDir: string;
  /** The repository's common git dir (shared by all its worktrees); Tetora runs repository-wide git there. */
  commonDir: string;
  /** The task's workdir relative to `toplevel` ('' at the top). */
  prefix: string;
  /** The repository's main folder (first entry of `git worktree list`), for people. */
  mainWorktree: string;
  /** HEAD of the task's workdir. */
  head: string;
  /** Its branch, or null when HEAD is detached. */
  headBranch: string | null;
}

function notRepo(workdir: string, why: string): TetoraError {
  return new TetoraError(
    'TET_ERR_WORKTREE_NOT_REPO',
    `workdir ${workdir} ${why}. A worktree task needs a git repository with at least one commit: run \`git init\` and commit there, point the task or agent at a repository, or set "worktree": false for the agent.`,
    { workdir },
  );
}

/** Find the repository a workdir belongs to; a clear TET_ERR_WORKTREE_NOT_REPO when it is none. */
export async function resolveRepo(workdir: string): Promise<RepoInfo> {
  if (!existsSync(workdir)) throw notRepo(workdir, 'does not exist');
  const r = await git(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-dir', '--git-common-dir'], workdir);
  if (r.code !== 0) throw notRepo(workdir, `is not inside a git work tree (git said: ${r.stderr.trim() || `exit ${r.code}`})`);
  const [toplevel, gitDir, commonDir] = r.stdout.split('\n');
  if (!toplevel || !gitDir || !commonDir) throw notRepo(workdir, `gave unexpected \`git rev-parse\` output ${JSON.stringify(r.stdout)}`);
  const prefix = (await gitOk(['rev-parse', '--show-prefix'], workdir, 'reading the workdir prefix')).replace(/\n$/, '').replace(/\/$/, '');
  const headR = await git(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], workdir);
  if (headR.code !== 0) throw notRepo(workdir, 'is in a repository with no commit yet (HEAD is unborn)');
  const branchR = await git(['symbolic-ref', '--short', '-q', 'HEAD'], workdir);
  const list = await listGitWorktrees(commonDir);
  const main = list[0];
  return {
    toplevel,
    gitDir,
    commonDir,
    prefix,
    mainWorktree: main && !main.bare ? main.path : commonDir,
    head: headR.stdout.trim(),
    headBranch: branchR.code === 0 ? branchR.stdout.trim() : null,
  };
}

export async function listGitWorktrees(commonDir: string): Promise<GitWorktreeEntry[]> {
  return parseWorktreeList(await gitOk(['worktree', 'list', '--porcelain'], commonDir, 'listing the worktrees of the repository'));
}

/** The commit a revision names, or undefined when it names none. */
export async function resolveCommit(cwd: string, rev: string): Promise<string | undefined> {
  const r = await git(['rev-parse', '--verify', '-q', `${rev}^{commit}`], cwd);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export async function branchExists(commonDir: string, branch: string): Promise<boolean> {
  return (await git(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], commonDir)).code === 0;
}
