/**
 * A handoff's prompt, in the original's form: the FULL output of the task (or workflow step) handed on,
 * then the instruction. Pure. The one form used by workflow `handoff` steps, `tetora dispatch
 * --handoff-from` and `handoffFrom` in POST /api/dispatch.
 */
export function handoffPrompt(context: string, instruction: string): string {
  return `[Handoff Context]\n${context}\n\n[Instruction]\n${instruction}`;
}
