#!/usr/bin/env node
// A fake coding agent for the worktree tests (run through the `command` provider, in the task's workdir).
// The prompt (stdin) is free text followed by JSON:
//   { "log": "/path/events.jsonl", "ready": "/path/file", "waitFor": "/path/file",
//     "commits": 1, "untracked": 0 }
// It runs shell commands in its folder ("before"), writes `ready`, waits until `waitFor` exists, runs the
// same commands again ("after"), then makes `commits` commits and leaves `untracked` untracked files.
// Every step is appended to `log` as one JSON line: {event, taskId, cwd, ok, out?, error?}.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const input = readFileSync(0, 'utf8');
const spec = JSON.parse(input.slice(input.indexOf('{')));
const taskId = process.env.TETORA_TASK_ID ?? 'none';
const cwd = process.cwd();
const log = (event, extra = {}) => appendFileSync(spec.log, `${JSON.stringify({ event, taskId, cwd, ...extra })}\n`);
const gitId = ['-c', 'user.name=Fake Agent', '-c', 'user.email=agent@tetora.invalid'];

/** The shell an agent's Bash tool would use: pwd, list, git status, write and read a file. */
function shell(phase) {
  try {
    const out = execFileSync('/bin/sh', ['-c', `pwd && ls -a >/dev/null && git status --porcelain && echo ${phase} > .probe-${phase} && cat .probe-${phase} && rm .probe-${phase}`], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    log('shell', { phase, ok: true, out });
  } catch (err) {
    log('shell', { phase, ok: false, error: String(err.stderr || err.message) });
  }
}

log('start', { lockFile: existsSync(join(cwd, '.tetora-session.lock')) });
shell('before');
if (spec.ready) writeFileSync(spec.ready, taskId);
if (spec.waitFor) {
  const deadline = Date.now() + 60_000;
  while (!existsSync(spec.waitFor)) {
    if (Date.now() > deadline) {
      log('timeout');
      process.exit(3);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
shell('after');
for (let i = 1; i <= (spec.commits ?? 0); i++) {
  writeFileSync(join(cwd, `work-${taskId.slice(0, 8)}-${process.pid}-${i}.txt`), `commit ${i} of ${taskId}\n`);
  execFileSync('git', [...gitId, 'add', '-A'], { cwd, stdio: 'ignore' });
  execFileSync('git', [...gitId, 'commit', '-q', '-m', `agent commit ${i}`], { cwd, stdio: 'ignore' });
}
for (let i = 1; i <= (spec.untracked ?? 0); i++) writeFileSync(join(cwd, `scratch-${i}.txt`), 'not committed\n');
const status = execFileSync('git', ['status', '--porcelain'], { cwd, encoding: 'utf8' });
log('end', { status });
process.stdout.write(`done ${taskId}`);
