// Worktree preparation: how long a coding task waits, before its agent starts, for its own git worktree.
// N rounds (default 20) of GitWorktreeManager.acquire (resolve the repository, pick a branch, `git worktree
// add`, lease it) and release (inspect what the task left), each for a new task, through the built dist/,
// on a fresh repository of F files (default 200) in a temporary home. Between rounds (not timed) the
// worktree and its branch are removed, so every round starts with the main worktree alone; with --keep
// they stay, as kept worktrees of a busy repository do (each `git worktree list` then grows). Then one
// more round with GIT_TRACE on, to count the git processes one acquire and one release start (`git
// worktree add` starts some itself). Without --keep, each round also times one bare `git worktree add` of
// the same repository (the part of acquire no Tetora change can save).
// Usage: node bench/worktree-acquire.mjs [--rounds N] [--files F] [--keep] [--json]
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
if (args.includes('--help')) {
  console.log('usage: node bench/worktree-acquire.mjs [--rounds N] [--files F] [--keep] [--json]');
  process.exit(0);
}
const rounds = Number(opt('--rounds', '20'));
const files = Number(opt('--files', '200'));
const keep = args.includes('--keep');
for (const [flag, n] of [['--rounds', rounds], ['--files', files]]) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} ${opt(flag)}: expected a whole number, 1 or more`);
}

const dist = resolve('dist');
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { openDb } = await load('store/db.js').catch(() => {
  throw new Error(`cannot load ${dist}/store/db.js: run \`npm run build\` first (npm run bench:worktree does)`);
});
const { WorktreeStore } = await load('store/worktrees.js');
const { GitWorktreeManager } = await load('worktrees/index.js');

const git = (cwd, ...a) => execFileSync('git', ['-C', cwd, '-c', 'user.email=bench@tetora', '-c', 'user.name=bench', ...a], { stdio: 'pipe' });
const home = mkdtempSync(join(tmpdir(), 'tetora-bench-wt-'));
const repo = join(home, 'repo');
execFileSync('git', ['init', '-q', '-b', 'main', repo]);
for (let i = 0; i < files; i++) writeFileSync(join(repo, `file-${i}.txt`), `line of file ${i}\n`.repeat(50));
git(repo, 'add', '.');
git(repo, 'commit', '-qm', 'initial');

const manager = new GitWorktreeManager({ store: new WorktreeStore(openDb(join(home, 'tetora.db'))), home, onWarning: () => {} });
const task = (i) => ({ id: randomUUID(), agent: 'coder', prompt: `bench task ${i}`, workdir: repo, cleanup: 'keep' });

const acquireMs = [];
const releaseMs = [];
const bareMs = [];
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  const lease = await manager.acquire(task(i), 'bench');
  const t1 = performance.now();
  const summary = await lease.release();
  acquireMs.push(t1 - t0);
  releaseMs.push(performance.now() - t1);
  if (!keep) {
    git(repo, 'worktree', 'remove', '--force', summary.path);
    git(repo, 'branch', '-D', summary.branch);
    // The floor: one bare `git worktree add` of the same repository, which acquire also runs.
    const bare = join(home, `bare-${i}`);
    const b0 = performance.now();
    git(repo, 'worktree', 'add', '-q', '-b', `bare-${i}`, bare);
    bareMs.push(performance.now() - b0);
    git(repo, 'worktree', 'remove', '--force', bare);
    git(repo, 'branch', '-D', `bare-${i}`);
  }
}

// One traced round: git writes a "trace: built-in: git …" line per git process it starts.
const trace = join(home, 'git-trace.txt');
const count = async (fn) => {
  writeFileSync(trace, '');
  process.env.GIT_TRACE = trace;
  try {
    return await fn();
  } finally {
    delete process.env.GIT_TRACE;
  }
};
const gitsIn = () => readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('trace: built-in: git ')).length;
let lease;
await count(async () => {
  lease = await manager.acquire(task(rounds), 'bench');
});
const acquireGits = gitsIn();
await count(() => lease.release());
const releaseGits = gitsIn();
rmSync(home, { recursive: true, force: true });

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: Math.round(s[Math.floor(s.length / 2)] * 10) / 10, min: Math.round(s[0] * 10) / 10, max: Math.round(s.at(-1) * 10) / 10 };
};
const report = { rounds, files, keep, node: process.version, git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(), acquireMs: stats(acquireMs), releaseMs: stats(releaseMs), bareWorktreeAddMs: keep ? null : stats(bareMs), gitProcesses: { acquire: acquireGits, release: releaseGits } };
if (args.includes('--json')) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`worktree acquire+release, ${rounds} rounds, a repository of ${files} files, ${keep ? 'worktrees kept' : 'each worktree removed before the next round'} (${report.git}, Node ${process.version})`);
  console.log(`  acquire: median ${report.acquireMs.median} ms (min ${report.acquireMs.min}, max ${report.acquireMs.max}); ${acquireGits} git processes`);
  console.log(`  release: median ${report.releaseMs.median} ms (min ${report.releaseMs.min}, max ${report.releaseMs.max}); ${releaseGits} git processes`);
  if (!keep) console.log(`  a bare \`git worktree add\` (the floor): median ${report.bareWorktreeAddMs.median} ms (min ${report.bareWorktreeAddMs.min}, max ${report.bareWorktreeAddMs.max})`);
}
