#!/usr/bin/env node
// A fake agent for the `command` provider. The prompt (stdin) is JSON:
//   { "log": "/path/events.jsonl", "state": "/path/dir", "steps": [ step, ... ] }
// The step used is the n-th run of this task (counted in state/<taskId>.runs; the last step repeats).
// A step: { "sleepMs": 200, "out": "text", "exit": 0, "stderr": "text", "resetInMs": 1000,
//           "grandchild": true, "ignoreTerm": true, "silent": true, "cwdCheck": true }
// "resetInMs" appends "Reset-At: <now + ms>" to stderr. "grandchild" starts `sleep 300` in the same
// process group and records its pid. "setsidChild" starts `sleep 300` in a session of its own that keeps
// stdout open. "killDaemon" SIGKILLs the daemon that started this run (the launcher's parent), then this
// run's own process group. "bigOutput": N bytes of stdout in lines of "lineBytes" (default 1 MiB).
// "grandchild": "deaf" makes that grandchild ignore SIGTERM as well. "inputBytes": stdout is the byte
// length of the whole stdin it read (a check that a huge prompt arrived whole).
// Every run appends {event:'start'|'end', taskId, attempt, pid, ppid, t} to log; a SIGTERM (unless
// ignoreTerm) appends 'term' and exits 143. With FAKE_AGENT_EARLY_LOG in the environment, an 'exec' line
// goes there first thing, before stdin is read (an agent that acts before reading its prompt).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

if (process.env.FAKE_AGENT_EARLY_LOG) {
  appendFileSync(process.env.FAKE_AGENT_EARLY_LOG, `${JSON.stringify({ event: 'exec', taskId: process.env.TETORA_TASK_ID, pid: process.pid, ppid: process.ppid, t: Date.now() })}\n`);
}
const input = readFileSync(0, 'utf8');
const jsonStart = input.indexOf('{');
const spec = JSON.parse(input.slice(jsonStart));
const taskId = process.env.TETORA_TASK_ID ?? 'none';
const attempt = Number(process.env.TETORA_ATTEMPT ?? '0');
mkdirSync(spec.state, { recursive: true });
const counter = join(spec.state, `${taskId}.runs`);
let runs = 0;
try {
  runs = Number(readFileSync(counter, 'utf8'));
} catch {}
writeFileSync(counter, String(runs + 1));
const step = spec.steps[Math.min(runs, spec.steps.length - 1)] ?? {};
const log = (event, extra = {}) =>
  appendFileSync(spec.log, `${JSON.stringify({ event, taskId, attempt, run: runs + 1, pid: process.pid, ppid: process.ppid, t: Date.now(), ...extra })}\n`);

log('start', { session: process.env.TETORA_SESSION_KEY ?? null, cwd: process.cwd() });
if (step.ignoreTerm) process.on('SIGTERM', () => log('sigterm-ignored'));
else
  process.on('SIGTERM', () => {
    log('term');
    process.exit(143);
  });
if (step.killDaemon) {
  const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const daemon = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  log('kill-daemon', { daemon });
  process.kill(daemon, 'SIGKILL');
  process.kill(0, 'SIGKILL');
}
if (step.setsidChild) {
  const gc = spawn('setsid', ['sleep', '300'], { stdio: ['ignore', 'inherit', 'inherit'] });
  log('grandchild', { grandchildPid: gc.pid, setsid: true });
}
if (step.bigOutput) {
  const lineBytes = step.lineBytes ?? 1024 * 1024;
  const line = Buffer.alloc(lineBytes, 'x');
  line[lineBytes - 1] = 10;
  for (let left = step.bigOutput; left > 0; left -= lineBytes) writeSync(1, line, 0, Math.min(lineBytes, left));
}
if (step.grandchild) {
  // "deaf": the grandchild ignores SIGTERM too (an ignored signal stays ignored across exec).
  const gc = step.grandchild === 'deaf' ? spawn('/bin/sh', ['-c', 'trap "" TERM; exec sleep 300'], { stdio: 'ignore' }) : spawn('sleep', ['300'], { stdio: 'ignore' });
  log('grandchild', { grandchildPid: gc.pid });
}
setTimeout(() => {
  if (step.stderr || step.resetInMs) {
    const reset = step.resetInMs ? ` Reset-At: ${Date.now() + step.resetInMs}` : '';
    process.stderr.write(`${step.stderr ?? ''}${reset}\n`);
  }
  if (!step.silent) process.stdout.write(step.inputBytes ? String(Buffer.byteLength(input)) : (step.out ?? `done ${taskId}`));
  log('end', { exit: step.exit ?? 0 });
  process.exit(step.exit ?? 0);
}, step.sleepMs ?? 0);
