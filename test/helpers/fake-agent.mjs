#!/usr/bin/env node
// A fake agent for the `command` provider. The prompt (stdin) is JSON:
//   { "log": "/path/events.jsonl", "state": "/path/dir", "steps": [ step, ... ] }
// The step used is the n-th run of this task (counted in state/<taskId>.runs; the last step repeats).
// A step: { "sleepMs": 200, "out": "text", "exit": 0, "stderr": "text", "resetInMs": 1000,
//           "grandchild": true, "ignoreTerm": true, "silent": true, "cwdCheck": true }
// "resetInMs" appends "Reset-At: <now + ms>" to stderr. "grandchild" starts `sleep 300` in the same
// process group and records its pid. Every run appends {event:'start'|'end', taskId, attempt, pid, t} to log.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
  appendFileSync(spec.log, `${JSON.stringify({ event, taskId, attempt, run: runs + 1, pid: process.pid, t: Date.now(), ...extra })}\n`);

log('start', { session: process.env.TETORA_SESSION_KEY ?? null, cwd: process.cwd() });
if (step.ignoreTerm) process.on('SIGTERM', () => log('sigterm-ignored'));
if (step.grandchild) {
  const gc = spawn('sleep', ['300'], { stdio: 'ignore' });
  log('grandchild', { grandchildPid: gc.pid });
}
setTimeout(() => {
  if (step.stderr || step.resetInMs) {
    const reset = step.resetInMs ? ` Reset-At: ${Date.now() + step.resetInMs}` : '';
    process.stderr.write(`${step.stderr ?? ''}${reset}\n`);
  }
  if (!step.silent) process.stdout.write(step.out ?? `done ${taskId}`);
  log('end', { exit: step.exit ?? 0 });
  process.exit(step.exit ?? 0);
}, step.sleepMs ?? 0);
