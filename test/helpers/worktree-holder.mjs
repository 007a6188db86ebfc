#!/usr/bin/env node
// A stand-in for a daemon that dies while its task works in a worktree: it acquires the worktree of each
// task named on the command line through the built GitWorktreeManager (dist/), prints `HELD <path>` per
// task, and then waits to be killed (it never releases).
// Usage: node worktree-holder.mjs <home> <repo> <taskId>...
import { join } from 'node:path';
import { openDb } from '../../dist/store/db.js';
import { WorktreeStore } from '../../dist/store/worktrees.js';
import { GitWorktreeManager } from '../../dist/worktrees/index.js';

const [home, repo, ...taskIds] = process.argv.slice(2);
const manager = new GitWorktreeManager({ store: new WorktreeStore(openDb(join(home, 'tetora.db'))), home });
for (const id of taskIds) {
  const lease = await manager.acquire({ id, agent: 'coder', prompt: `task ${id}`, workdir: repo, cleanup: 'keep' }, 'dead-daemon');
  process.stdout.write(`HELD ${lease.workdir}\n`);
}
setInterval(() => {}, 60_000);
