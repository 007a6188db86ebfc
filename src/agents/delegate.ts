/**
 * Delegation blocks in an agent's output, and the parent's composed result. Pure: no I/O, no clock.
 *
 * A block is a JSON object whose first key is `_delegate`, anywhere in the output (in prose, or inside a
 * code fence — a fenced block counts like any other, as agents usually fence their JSON):
 *
 *   {"_delegate": {"agent": "reviewer", "task": "Review the patch above", "reason": "needs a second pair of eyes"}}
 *
 * `role` is accepted for `agent` (the original's name). Blocks are found in the order they appear; the end
 * of a block is found by brace matching that skips braces inside JSON strings (escapes included), and the
 * text from its `{` to the matching `}` must then parse as JSON. Text that looks like a block but does not
 * parse (an unclosed brace, a trailing comma) is no block. A block inside another block is part of it.
 */

export interface DelegateBlock {
  /** Position of the block's `{` in the output (UTF-16 index). */
  index: number;
  /** The agent (or `role`), as written; undefined when missing or not a non-empty string. */
  agent?: string;
  /** The work handed to the child; undefined when missing or not a non-empty string. */
  task?: string;
  reason?: string;
}

/** Where a block may start: `{`, spaces, then the key `"_delegate"` and its colon. */
const START = /\{\s*"_delegate"\s*:/g;

/**
 * The index just past the `}` that closes the object opening at `start`, skipping braces in JSON strings;
 * -1 when it never closes. Linear in the text it reads.
 */
export function matchBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++; // whatever is escaped, it neither ends the string nor counts
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */) depth++;
    else if (c === 0x7d /* } */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Every `_delegate` block of `output`, in order (see the module comment). */
export function parseDelegations(output: string): DelegateBlock[] {
  const out: DelegateBlock[] = [];
  START.lastIndex = 0;
  for (let m = START.exec(output); m !== null; m = START.exec(output)) {
    const end = matchBrace(output, m.index);
    if (end < 0) continue; // never closes: no block here (a later start may still be one)
    let parsed: unknown;
    try {
      parsed = JSON.parse(output.slice(m.index, end));
    } catch {
      continue;
    }
    const inner = (parsed as { _delegate?: unknown })._delegate;
    const block: DelegateBlock = { index: m.index };
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      const o = inner as Record<string, unknown>;
      const agent = nonEmpty(o.agent) ?? nonEmpty(o.role);
      if (agent !== undefined) block.agent = agent;
      const task = nonEmpty(o.task);
      if (task !== undefined) block.task = task;
      const reason = nonEmpty(o.reason);
      if (reason !== undefined) block.reason = reason;
    }
    out.push(block);
    START.lastIndex = end; // what is inside this block belongs to it
  }
  return out;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim().length > 0 ? v : undefined;
}

export interface DelegationLimits {
  /** At most this many children per output (`agentComm.maxChildrenPerTask`). */
  maxChildrenPerTask: number;
  /** A task at depth d may delegate while d < maxDepth (`agentComm.maxDepth`; a top-level task is at depth 0). */
  maxDepth: number;
}

export interface AcceptedChild {
  agent: string;
  task: string;
  reason?: string;
  /** 0, 1, 2, … in the order of the output. */
  ord: number;
}

export interface RefusedBlock {
  /** The agent the block named, or `?`. */
  agent: string;
  why: string;
}

/**
 * Which blocks become child tasks: in the order of the output, a block naming a known agent and a task
 * is accepted until `maxChildrenPerTask` are; every other block is refused with its reason (past the
 * depth limit, no task, no agent, an unknown agent, over the cap). Blocks refused for another reason do
 * not count against the cap.
 */
export function planDelegation(blocks: readonly DelegateBlock[], depth: number, limits: DelegationLimits, isAgent: (name: string) => boolean): { accepted: AcceptedChild[]; refused: RefusedBlock[] } {
  const accepted: AcceptedChild[] = [];
  const refused: RefusedBlock[] = [];
  for (const b of blocks) {
    const agent = b.agent ?? '?';
    if (depth >= limits.maxDepth) {
      refused.push({ agent, why: `this task is at delegation depth ${depth} and agentComm.maxDepth is ${limits.maxDepth}; a delegated task may not delegate further` });
    } else if (b.agent === undefined) {
      refused.push({ agent, why: 'the block names no agent ("agent" or "role")' });
    } else if (b.task === undefined) {
      refused.push({ agent, why: 'the block has no "task"' });
    } else if (!isAgent(b.agent)) {
      refused.push({ agent, why: `agent "${b.agent}" is not in the config` });
    } else if (accepted.length >= limits.maxChildrenPerTask) {
      refused.push({ agent, why: `over agentComm.maxChildrenPerTask (${limits.maxChildrenPerTask}) for one output` });
    } else {
      const child: AcceptedChild = { agent: b.agent, task: b.task, ord: accepted.length };
      if (b.reason !== undefined) child.reason = b.reason;
      accepted.push(child);
    }
  }
  return { accepted, refused };
}

/** The note a refused block leaves in the parent's result. */
export function refusalNote(r: RefusedBlock): string {
  return `\n---\n[Delegation to ${r.agent} refused]\n${r.why}`;
}

export interface ChildResult {
  agent: string;
  status: string;
  /** The child's whole output (a succeeded child). */
  output?: string;
  /** Why it did not succeed (a failed, cancelled or timed-out child), or why its output cannot be read. */
  error?: string;
}

/**
 * The parent's result: its own output, then each child's WHOLE output under `[Delegated to <agent>]`, in
 * the order of the output (a child that did not succeed: its status and error instead), then a note for
 * every refused block. Nothing is cut.
 */
export function composeResult(own: string, children: readonly ChildResult[], notes: readonly string[]): string {
  let out = own;
  for (const c of children) {
    const body = c.status === 'succeeded' && c.output !== undefined ? c.output : `(${c.status}: ${c.error ?? 'no message'})`;
    out += `\n---\n[Delegated to ${c.agent}]\n${body}`;
  }
  for (const n of notes) out += n;
  return out;
}
