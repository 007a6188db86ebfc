#!/usr/bin/env node
// The chaos suite's fake agent (run by the `command` provider). Directives in the prompt (see chaos-text.mjs):
//   tag=T       who this run belongs to (a request, a workflow step, a ticket), logged with every line
//   sleep=MS    how long it works
//   long=N      answer with about N characters of numbered lines instead of `done <tag>`
//   commit=N    make N commits in its folder (a worktree task), then
//   dirty=1     leave an untracked file there
// Every run appends {event: 'start'|'end'|'term', tag, taskId, attempt, pid, ppid, t, cwd} to $CHAOS_LOG
// (JSON lines, one write each): the checker's intervals of who ran when.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { directives, expectedOutput } from './chaos-text.mjs';

const prompt = readFileSync(0, 'utf8');
const d = directives(prompt);
const tag = String(d.tag ?? 'none');
const taskId = process.env.TETORA_TASK_ID ?? 'none';
const attempt = Number(process.env.TETORA_ATTEMPT ?? '0');
const cwd = process.cwd();
const log = (event, extra = {}) =>
  appendFileSync(process.env.CHAOS_LOG, `${JSON.stringify({ event, tag, taskId, attempt, pid: process.pid, ppid: process.ppid, t: Date.now(), ...extra })}\n`);

log('start', { cwd });
process.on('SIGTERM', () => {
  log('term');
  process.exit(143);
});
setTimeout(() => {
  const gitId = ['-c', 'user.name=Chaos Agent', '-c', 'user.email=chaos@tetora.invalid'];
  let commits = 0;
  for (let i = 1; i <= Number(d.commit ?? 0); i++) {
    writeFileSync(join(cwd, `chaos-${taskId.slice(0, 8)}-${process.pid}-${i}.txt`), `${tag} ${i}\n`);
    execFileSync('git', [...gitId, 'add', '-A'], { cwd, stdio: 'ignore' });
    execFileSync('git', [...gitId, 'commit', '-q', '-m', `chaos ${tag} ${i}`], { cwd, stdio: 'ignore' });
    commits++;
  }
  if (Number(d.dirty ?? 0) > 0) writeFileSync(join(cwd, `scratch-${process.pid}.txt`), 'not committed\n');
  writeSync(1, Buffer.from(expectedOutput(tag, d.long), 'utf8'));
  log('end', { exit: 0, commits, dirty: Number(d.dirty ?? 0) > 0 });
  process.exit(0);
}, Number(d.sleep ?? 0));
