#!/usr/bin/env node
// A fake agent for workflow tests (`command` provider). It reads the prompt on stdin and answers with the
// prompt itself, less its directives, byte for byte. Directives are `@@name=value@@` (or `@@name@@`):
//   step=ID       logged with every start (which step this run belongs to)
//   sleep=MS      wait before answering
//   exit=N        exit with N (stderr says "failing on purpose")
//   failRuns=N    fail (exit 3) the first N runs that carry the same `step` directive (counted in WF_STATE)
//   big=BYTES     answer with BYTES of deterministic multi-byte UTF-8 text instead of the prompt
//   out=TEXT      answer TEXT instead of the prompt
//   cwd           answer with the folder it runs in
//   killDaemon    SIGKILL the daemon that started this run, then exit (the run's result is lost with it)
// Every run appends {event:'start'|'end', step, taskId, t} to WF_LOG (JSON lines).
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const prompt = readFileSync(0, 'utf8');
const dirs = {};
for (const m of prompt.matchAll(/@@([a-zA-Z]+)(?:=([^@]*))?@@/g)) dirs[m[1]] = m[2] ?? true;
const body = prompt.replace(/@@[a-zA-Z]+(?:=[^@]*)?@@/g, '');
const taskId = process.env.TETORA_TASK_ID ?? 'none';
const log = (event, extra = {}) => appendFileSync(process.env.WF_LOG, `${JSON.stringify({ event, step: dirs.step ?? null, taskId, t: Date.now(), ...extra })}\n`);
log('start');
if (dirs.killDaemon) {
  const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const daemon = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  log('kill-daemon', { daemon });
  process.kill(daemon, 'SIGKILL');
}
let fail = dirs.exit !== undefined ? Number(dirs.exit) : 0;
if (dirs.failRuns !== undefined) {
  mkdirSync(process.env.WF_STATE, { recursive: true });
  const f = join(process.env.WF_STATE, `${dirs.step ?? 'none'}.runs`);
  let n = 0;
  try {
    n = Number(readFileSync(f, 'utf8'));
  } catch {}
  writeFileSync(f, String(n + 1));
  if (n < Number(dirs.failRuns)) fail = 3;
}
setTimeout(() => {
  if (fail) {
    process.stderr.write(`failing on purpose (step ${dirs.step ?? '?'})\n`);
    log('end', { exit: fail });
    process.exit(fail);
  }
  if (dirs.big) writeSync(1, bigText(Number(dirs.big)));
  else writeSync(1, Buffer.from(dirs.cwd ? process.cwd() : dirs.out !== undefined ? dirs.out : body, 'utf8'));
  log('end', { exit: 0 });
  process.exit(0);
}, Number(dirs.sleep ?? 0));

/** BYTES of UTF-8 mixing 1-, 2-, 3- and 4-byte characters, cut on a character boundary. */
function bigText(bytes) {
  const unit = Buffer.from('abc é ñ 漢字かな 🎉 line ', 'utf8');
  const out = Buffer.alloc(bytes);
  let pos = 0;
  while (pos + unit.length <= bytes) pos += unit.copy(out, pos);
  while (pos < bytes) out[pos++] = 0x2e; // '.'
  return out;
}
