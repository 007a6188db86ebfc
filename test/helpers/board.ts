import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const BOARD_AGENT = resolve(import.meta.dirname, 'board-agent.mjs');

/** Config for board tests: agents `coder` and `reviewer` run the board agent; `small` runs it under a 1000-byte prompt limit. */
export function boardConfig(dir: string, taskBoard: Record<string, unknown> = {}): Record<string, unknown> {
  const agent = (extra: Record<string, unknown> = {}) => ({ type: 'command', path: process.execPath, args: [BOARD_AGENT], env: { BOARD_DIR: dir }, ...extra });
  return {
    providers: { board: agent(), tiny: agent({ maxPromptBytes: 1000 }) },
    defaultProvider: 'board',
    agents: { coder: { provider: 'board' }, reviewer: { provider: 'board' }, small: { provider: 'tiny' } },
    retry: { base: 20, cap: 200, maxAttempts: 1 },
    taskBoard: { maxRetries: 0, ...taskBoard, autoDispatch: { enabled: true, defaultAgent: 'coder', ...((taskBoard.autoDispatch as Record<string, unknown> | undefined) ?? {}) } },
  };
}

/** Script the board agent: `key` is a ticket id (`T-1`), or `T-1.review`; `n` a run number. */
export function script(dir: string, file: string, content: string | Buffer): void {
  mkdirSync(join(dir, 'script'), { recursive: true });
  writeFileSync(join(dir, 'script', file), content);
}

export interface RunLine {
  event: 'start' | 'end';
  key: string;
  n: number;
  taskId: string;
  exit?: number;
}

export function runs(dir: string): RunLine[] {
  const f = join(dir, 'runs.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunLine);
}

/** The prompt a task's agent received, as bytes. */
export function promptOf(dir: string, taskId: string): Buffer {
  return readFileSync(join(dir, 'prompts', `${taskId}.txt`));
}

/** BYTES of mixed UTF-8: CJK, emoji, accents and code, cut on a character boundary; `seed` varies the text. */
export function mixedText(bytes: number, seed: string): Buffer {
  const unit = Buffer.from(`${seed}: 漢字かな交じり文 🎉🚀 ñandú é\nfunction f(x) { return x * 2; } // 注释 \`code\` <b>&amp;</b>\n`, 'utf8');
  const out = Buffer.alloc(bytes);
  let pos = 0;
  while (pos + unit.length <= bytes) pos += unit.copy(out, pos);
  while (pos < bytes) out[pos++] = 0x2e;
  return out;
}
