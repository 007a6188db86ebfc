import { readFileSync } from 'node:fs';
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
