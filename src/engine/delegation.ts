import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import { composeResult, parseDelegations, planDelegation, refusalNote, type ChildResult, type RefusedBlock } from '../agents/delegate.js';
import type { NewTask, TaskLink, TaskPatch, TaskRow } from '../store/tasks.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';
import { fileContains, fullOutput } from './output.js';
import { buildTask } from './request.js';
import { isTerminal } from './states.js';

/** What the row keeps of a composed result held in a file (as a run's output: its head). */
const HEAD_BYTES = 64 * 1024;
/** How far up a chain of delegate links is followed (far beyond any agentComm.maxDepth). */
const MAX_CHAIN = 64;

export interface DelegationDeps {
  ledger: Ledger;
  config(): ResolvedConfig;
  now(): number;
  log: Logger;
  /** Where runs keep their spool folders; a composed result too large for the row is kept under it. */
  spoolRoot(): string;
}

/** A successful run's output as the runner has it: the whole, or its head and the file holding it whole. */
export interface RunOutput {
  output: string;
  outputFile?: { path: string; bytes: number };
}

/** Options of a waiting parent (in `tasks.options`): the blocks refused when it delegated. */
interface DelegationOptions {
  delegation?: { refused?: RefusedBlock[] };
}

/**
 * Delegation inside the engine (the pure part is src/agents/delegate.ts):
 * - `succeeded(…)`: the runner's success path. When the output holds `_delegate` blocks, in the run's own
 *   transaction: `running → waiting` with the task's own output, the accepted children (source `delegate`,
 *   parent_id, no session key — a session of their own —, a `delegate` link with ord and reason), and the
 *   refused blocks kept for the result. No block accepted: `running → succeeded` with a note per refused block.
 * - `onTerminal(row)`: a terminal hook. When the last child of a waiting parent ends, in that child's
 *   terminal transaction: `waiting → succeeded` with the composed result (whatever delivers the parent's
 *   result sees it once, then).
 * - `sweep()`: at start, a waiting parent whose children all ended is composed (belt and braces: the
 *   hook already does it in the children's transactions).
 */
export class Delegation {
  constructor(private readonly d: DelegationDeps) {}

  /**
   * Called inside the transaction of a run that succeeded, instead of `running → succeeded`. Returns
   * false when the output holds no block (the caller records the success as usual).
   */
  succeeded(task: TaskRow, result: RunOutput, data: Record<string, unknown>, endRun: { run: number; costUsd: number; outcome: string; message: string | null }): boolean {
    const { ledger, log } = this.d;
    // A routing classifier's answer is read by smart dispatch, never run as delegation.
    if (task.source === 'route') return false;
    let whole: string;
    try {
      // An output kept in its spool file (possibly gigabytes) is read whole only when it holds a block.
      if (result.outputFile && !fileContains(result.outputFile.path, '"_delegate"')) return false;
      whole = result.outputFile ? readFileSync(result.outputFile.path, 'utf8') : result.output;
    } catch (err) {
      log.warn({ taskId: task.id, err: messageOf(err) }, 'cannot read the whole output to look for _delegate blocks; recording the success without delegation');
      return false;
    }
    const blocks = parseDelegations(whole);
    if (blocks.length === 0) return false;
    const cfg = this.d.config();
    const now = this.d.now();
    const depth = this.depthOf(task.id);
    const plan = planDelegation(blocks, depth, cfg.agentComm, (name) => Object.hasOwn(cfg.agents, name));
    const refused = [...plan.refused];
    const children: Array<{ row: NewTask; reason?: string }> = [];
    for (const c of plan.accepted) {
      // A child gets its own session (no session key: never the parent's) and the parent's priority.
      const request = { prompt: c.task, agent: c.agent, priority: task.priority, idempotencyKey: `delegate:${task.id}:${task.runs}:${children.length}` };
      try {
        const row = buildTask(request, { source: 'delegate', parentId: task.id }, cfg, now);
        children.push(c.reason === undefined ? { row } : { row, reason: c.reason });
      } catch (err) {
        refused.push({ agent: c.agent, why: messageOf(err) });
      }
    }
    if (children.length === 0) {
      const text = composeResult(whole, [], refused.map(refusalNote));
      const patch: TaskPatch = { ...this.#outputPatch(task, text, cfg), errorClass: null, errorMessage: null };
      ledger.move(task, 'running', 'succeeded', patch, { ...data, delegation: { children: [], refused } }, endRun);
      return true;
    }
    const options = { ...(JSON.parse(task.options) as Record<string, unknown>), delegation: { refused } };
    const file = result.outputFile ? { outputFile: result.outputFile.path, outputBytes: result.outputFile.bytes } : {};
    if (!ledger.move(task, 'running', 'waiting', { output: result.output, ...file, options: JSON.stringify(options), errorClass: null, errorMessage: null }, { ...data, delegation: { children: children.length, refused } }, endRun)) return true;
    const made: Array<{ id: string; agent: string | null; ord: number }> = [];
    children.forEach(({ row, reason }, ord) => {
      const r = ledger.accept(row);
      ledger.store.addLink({ fromTask: task.id, toTask: r.task.id, kind: 'delegate', ord, ...(reason !== undefined ? { reason } : {}) }, now);
      made.push({ id: r.task.id, agent: r.task.agent, ord });
    });
    ledger.note(task.id, 'delegated', { children: made, refused, depth });
    log.info({ taskId: task.id, children: made.map((m) => m.id), refused: refused.length }, 'the task delegated work; it waits for its children');
    return true;
  }

  /** How many `delegate` links lead from a top-level task down to this one (a top-level task: 0). */
  depthOf(taskId: string): number {
    let depth = 0;
    for (let cur = taskId; depth < MAX_CHAIN; depth++) {
      const up = this.d.ledger.store.links(cur).to.find((l) => l.kind === 'delegate');
      if (!up) break;
      cur = up.fromTask;
    }
    return depth;
  }

  /** Terminal hook: a child's end may complete its waiting parent (see the class comment). */
  onTerminal(row: TaskRow): void {
    if (!row.parentId) return;
    const parent = this.d.ledger.store.get(row.parentId);
    if (!parent || parent.status !== 'waiting') return;
    const links = this.#childLinks(parent.id);
    if (!links.some((l) => l.toTask === row.id)) return;
    this.#composeIfDone(parent, links);
  }

  /** At start: compose every waiting parent whose children all ended. */
  sweep(): void {
    for (const parent of this.d.ledger.store.withStatus('waiting')) {
      const links = this.#childLinks(parent.id);
      if (links.length === 0) continue;
      this.d.ledger.atomically(() => {
        const fresh = this.d.ledger.store.get(parent.id);
        if (fresh?.status === 'waiting') this.#composeIfDone(fresh, links);
      });
    }
  }

  #childLinks(parentId: string): TaskLink[] {
    return this.d.ledger.store
      .links(parentId)
      .from.filter((l) => l.kind === 'delegate')
      .sort((a, b) => a.ord - b.ord);
  }

  #composeIfDone(parent: TaskRow, links: TaskLink[]): void {
    const store = this.d.ledger.store;
    const kids = links.map((l) => ({ id: l.toTask, row: store.get(l.toTask) }));
    if (kids.some((k) => k.row && !isTerminal(k.row.status))) return;
    const results: ChildResult[] = kids.map(({ id, row }) => {
      if (!row) return { agent: '?', status: 'missing', error: `the child task ${id} is gone from the store` };
      const agent = row.agent ?? '?';
      if (row.status !== 'succeeded') return { agent, status: row.status, error: row.errorMessage ?? 'no message' };
      try {
        return { agent, status: row.status, output: fullOutput(row) };
      } catch (err) {
        return { agent, status: 'output unavailable', error: messageOf(err) };
      }
    });
    let own: string;
    try {
      own = fullOutput(parent);
    } catch (err) {
      own = `${parent.output ?? ''}\n(the rest of this task's own output cannot be read: ${messageOf(err)})`;
    }
    const refused = (JSON.parse(parent.options) as DelegationOptions).delegation?.refused ?? [];
    const text = composeResult(own, results, refused.map(refusalNote));
    const cfg = this.d.config();
    const data = { delegation: { children: kids.map((k) => ({ id: k.id, status: k.row?.status ?? 'missing' })) } };
    let patch: TaskPatch;
    try {
      patch = { ...this.#outputPatch(parent, text, cfg), errorClass: null, errorMessage: null };
    } catch (err) {
      // The result is never cut: when it cannot be kept whole (a full disk), the parent fails saying so,
      // and the child's own end is still recorded (a throw here would roll it back).
      const message = `the composed result (${Buffer.byteLength(text)} bytes) could not be kept in a file: ${messageOf(err)}; each child's output is in its own task (\`tetora task show ${parent.id}\` lists them)`;
      this.d.log.error({ taskId: parent.id, err: messageOf(err) }, 'cannot keep a delegating task\'s composed result');
      this.d.ledger.move(parent, 'waiting', 'failed', { errorClass: 'internal', errorMessage: message }, { ...data, message });
      return;
    }
    this.d.ledger.move(parent, 'waiting', 'succeeded', patch, data);
  }

  /**
   * A result as the row keeps it: whole in the row up to `maxOutputBytes`; beyond, whole in a file under
   * the task's spool folder (`<spoolRoot>/<taskId>/composed/output`, kept while the row refers to it) and
   * its head in the row — never cut.
   */
  #outputPatch(task: Pick<TaskRow, 'id'>, text: string, cfg: ResolvedConfig): TaskPatch {
    const bytes = Buffer.byteLength(text);
    if (bytes <= cfg.maxOutputBytes) return { output: text, outputFile: null, outputBytes: null };
    const dir = join(this.d.spoolRoot(), task.id, 'composed');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'output');
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    const head = Buffer.from(text, 'utf8').subarray(0, HEAD_BYTES).toString('utf8').replace(/\uFFFD$/, '');
    return { output: head, outputFile: path, outputBytes: bytes };
  }
}
