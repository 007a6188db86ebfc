// Sums a V8 CPU profile (`node --cpu-prof`) into the places a Tetora daemon spends its time.
import { readFileSync } from 'node:fs';

/** Categories in priority order: a sample counts for the first one any frame of its stack matches. */
export const CATEGORIES = [
  ['startup (module loading)', (f) => f.url.includes('cjs/loader') || f.url.startsWith('node:internal/modules/esm')],
  ['`child_process.spawn`', (f) => f.functionName === 'spawn' && f.url === 'node:child_process'],
  ['SQLite transactions (commits)', (f) => f.functionName === 'sqliteTransaction'],
  ['/proc scans (run markers, launcher checks)', (f) => ['markedProcesses', 'launcherAlive', 'processStartedAt', 'groupAlive', 'isTaskGroup'].includes(f.functionName)],
  ['spool and other file operations', (f) => f.url === 'node:fs' || f.url === 'node:internal/fs/promises' || (f.url === '' && /^(open|close|read|write|readdir|rmdir|openFileHandle|stat|fstat|lstat|unlink|rm|mkdir|readFileUtf8|writeFileUtf8)$/.test(f.functionName))],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
];

/** category → microseconds, plus `other` and `total`. */
export function summarise(path) {
  const p = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const sums = Object.fromEntries([...CATEGORIES.map(([k]) => [k, 0]), ['other', 0], ['total', 0]]);
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    const stack = [];
    for (let cur = p.samples[i]; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur).callFrame);
    const hit = CATEGORIES.find(([, match]) => stack.some(match));
    sums[hit ? hit[0] : 'other'] += d;
    sums.total += d;
  }
  return sums;
}
