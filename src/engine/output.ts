import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { TaskRow } from '../store/tasks.js';
import { TetoraError } from '../errors.js';

/**
 * A task's whole output, never cut: the row's `output`, or — when the output was larger than a task row
 * keeps (`maxOutputBytes`) — the spool file that holds it whole. What passes a finding on to the next
 * agent (delegation, handoff, the board's dependencies) reads it here. Throws TET_ERR_TASK_OUTPUT_GONE when
 * that file no longer exists (never a silently shortened text).
 */
export function fullOutput(task: Pick<TaskRow, 'id' | 'output' | 'outputFile'>): string {
  if (!task.outputFile) return task.output ?? '';
  try {
    return readFileSync(task.outputFile, 'utf8');
  } catch (err) {
    throw new TetoraError(
      'TET_ERR_TASK_OUTPUT_GONE',
      `the whole output of task ${task.id} was kept in ${task.outputFile}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); the task row holds only its first part. Restore the file, or run the task again.`,
      { id: task.id, file: task.outputFile },
    );
  }
}

/**
 * Does the file hold `needle` (ASCII)? Read in 1 MiB chunks, so a huge output (a CLI that printed
 * gigabytes) is searched in bounded memory before anything reads it whole.
 */
export function fileContains(path: string, needle: string): boolean {
  const want = Buffer.from(needle, 'utf8');
  const chunk = Buffer.allocUnsafe(1024 * 1024 + want.length);
  const fd = openSync(path, 'r');
  try {
    let carry = 0;
    for (let pos = 0; ; ) {
      const n = readSync(fd, chunk, carry, chunk.length - carry, pos);
      if (n === 0) return false;
      pos += n;
      const filled = carry + n;
      if (chunk.subarray(0, filled).includes(want)) return true;
      // Keep the last bytes: the needle may straddle two reads.
      carry = Math.min(want.length - 1, filled);
      chunk.copy(chunk, 0, filled - carry, filled);
    }
  } finally {
    closeSync(fd);
  }
}
