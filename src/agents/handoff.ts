import { TetoraError } from '../errors.js';
import { badRequest } from '../engine/request.js';
import { fullOutput } from '../engine/output.js';
import type { TaskRow } from '../store/tasks.js';

/**
 * A handoff's prompt, in the original's form: the FULL output of the task (or workflow step) handed on,
 * then the instruction. Pure. The one form used by workflow `handoff` steps, `tetora dispatch
 * --handoff-from` and `handoffFrom` in POST /api/dispatch.
 */
export function handoffPrompt(context: string, instruction: string): string {
  return `[Handoff Context]\n${context}\n\n[Instruction]\n${instruction}`;
}

/**
 * The `handoffFrom` of each task request (undefined where a request has none). A value that is not a
 * non-empty string is TET_ERR_TASK_INVALID naming the field. Pure.
 */
export function handoffSources(inputs: readonly unknown[]): Array<string | undefined> {
  return inputs.map((input, i) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input) || !('handoffFrom' in input)) return undefined;
    const v = (input as { handoffFrom?: unknown }).handoffFrom;
    const index = inputs.length > 1 ? i : undefined;
    if (typeof v !== 'string' || v.trim() === '') throw badRequest('handoffFrom', v, 'the id of a task that succeeded (its whole output is handed to the new task)', index);
    return v;
  });
}

/**
 * A request with `handoffFrom`: its prompt becomes handoffPrompt(the source's whole output, the
 * request's prompt, the instruction). The source must exist (TET_ERR_HANDOFF_SOURCE_NOT_FOUND) and have
 * succeeded (TET_ERR_HANDOFF_SOURCE_NOT_SUCCEEDED); its output is read whole (TET_ERR_TASK_OUTPUT_GONE
 * when its file is gone). Reads the source's output file, nothing else.
 */
export function withHandoffContext(input: unknown, sourceId: string, source: TaskRow | undefined, index?: number): Record<string, unknown> {
  const where = index === undefined ? 'handoffFrom' : `tasks[${index}].handoffFrom`;
  if (!source) {
    throw new TetoraError('TET_ERR_HANDOFF_SOURCE_NOT_FOUND', `${where}: no task has id ${sourceId}, so there is no output to hand on; check the id with \`tetora task list\`.`, { field: where, value: sourceId });
  }
  if (source.status !== 'succeeded') {
    const why = source.errorMessage ? ` (${source.errorMessage})` : '';
    throw new TetoraError(
      'TET_ERR_HANDOFF_SOURCE_NOT_SUCCEEDED',
      `${where}: task ${sourceId} is ${source.status}${why}, not succeeded; a handoff passes on the output of a task that succeeded. ${source.status === 'failed' || source.status === 'cancelled' || source.status === 'timed_out' ? 'Dispatch it again and hand off from the new task.' : 'Wait until it succeeds (`tetora task show ' + sourceId + '`), then hand off.'}`,
      { field: where, value: sourceId, status: source.status },
    );
  }
  const o = input as Record<string, unknown>;
  if (typeof o.prompt !== 'string' || o.prompt.trim() === '') throw badRequest('prompt', o.prompt, 'the instruction for the agent that receives the handoff (a non-empty string)', index);
  return { ...o, prompt: handoffPrompt(fullOutput(source), o.prompt) };
}
