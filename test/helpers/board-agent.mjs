#!/usr/bin/env node
// A fake agent for board tests (`command` provider). It reads the prompt on stdin, keeps it byte for byte in
// $BOARD_DIR/prompts/<TETORA_TASK_ID>.txt, and answers what the test scripted for the ticket:
//   the key is the ticket id of the prompt's first line (`# Ticket T-1: …` → `T-1`, `# Review of ticket T-1: …` → `T-1.review`);
//   n counts this key's runs (1, 2, …);
//   $BOARD_DIR/script/<key>.<n>.out, else <key>.out: the answer (raw bytes), else `done <key>`;
//   <key>.<n>.exit, else <key>.exit: the exit code (stderr says "failing on purpose"), else 0;
//   <key>.sleep: milliseconds to wait before answering.
// Every run appends {event:'start'|'end', key, n, taskId} to $BOARD_DIR/runs.jsonl.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BOARD_DIR;
const prompt = readFileSync(0);
const taskId = process.env.TETORA_TASK_ID ?? 'none';
mkdirSync(join(dir, 'prompts'), { recursive: true });
writeFileSync(join(dir, 'prompts', `${taskId}.txt`), prompt);
const head = prompt.subarray(0, 400).toString('utf8');
const m = /^# (Ticket|Review of ticket) (T-\d+)/.exec(head);
const key = m ? `${m[2]}${m[1] === 'Ticket' ? '' : '.review'}` : 'unknown';
const runsFile = join(dir, 'runs.jsonl');
const earlier = existsSync(runsFile) ? readFileSync(runsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.key === key && r.event === 'start').length : 0;
const n = earlier + 1;
appendFileSync(runsFile, `${JSON.stringify({ event: 'start', key, n, taskId })}\n`);
const script = (name) => {
  for (const f of [`${key}.${n}.${name}`, `${key}.${name}`]) {
    const p = join(dir, 'script', f);
    if (existsSync(p)) return readFileSync(p);
  }
  return undefined;
};
const sleep = Number(script('sleep')?.toString() ?? 0);
setTimeout(() => {
  const exit = Number(script('exit')?.toString() ?? 0);
  if (exit) {
    process.stderr.write(`failing on purpose (${key} run ${n})\n`);
    appendFileSync(runsFile, `${JSON.stringify({ event: 'end', key, n, taskId, exit })}\n`);
    process.exit(exit);
  }
  writeSync(1, script('out') ?? Buffer.from(`done ${key}`));
  appendFileSync(runsFile, `${JSON.stringify({ event: 'end', key, n, taskId, exit: 0 })}\n`);
  process.exit(0);
}, sleep);
