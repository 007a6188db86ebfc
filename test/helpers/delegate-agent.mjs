#!/usr/bin/env node
// A fake agent for delegation and handoff tests (`command` provider). It reads the prompt on stdin:
// - `SCRIPT <json>`: follows the script {out?: text to answer, outFile?: a file whose bytes it answers,
//   count?: a file it appends one line to when it starts, gate?: a file it waits for before answering,
//   exit?: exit code (stderr says "failing on purpose")};
// - anything else: answers with the prompt itself, byte for byte.
// The answer is written with no line end added.
import { appendFileSync, existsSync, readFileSync, writeSync } from 'node:fs';

const prompt = readFileSync(0);
const text = prompt.toString('utf8');
if (!text.startsWith('SCRIPT ')) {
  writeSync(1, prompt);
  process.exit(0);
}
const script = JSON.parse(text.slice(7));
if (script.count) appendFileSync(script.count, `${process.env.TETORA_TASK_ID ?? '?'}\n`);
const answer = () => {
  if (script.exit) {
    process.stderr.write('failing on purpose\n');
    process.exit(script.exit);
  }
  const out = script.outFile ? readFileSync(script.outFile) : Buffer.from(script.out ?? '', 'utf8');
  for (let off = 0; off < out.length; ) off += writeSync(1, out, off, out.length - off);
  process.exit(0);
};
if (script.gate) {
  const wait = () => (existsSync(script.gate) ? answer() : setTimeout(wait, 50));
  wait();
} else answer();
