/**
 * The chaos suite's checks (pure): what the driver collected from the store, the fake Discord and the
 * fake agents' logs goes in, the violations come out. No I/O here, so each rule is unit-tested on its own
 * (test/unit/chaos-checks.test.ts).
 */

export interface Violation {
  check: string;
  detail: string;
}

/** One line of the chaos agent's log (test/chaos/chaos-agent.mjs). */
export interface AgentLine {
  event: 'start' | 'end' | 'term';
  tag: string;
  taskId: string;
  attempt: number;
  pid: number;
  t: number;
  cwd?: string;
  commits?: number;
  dirty?: boolean;
}

export interface AgentRun {
  taskId: string;
  tag: string;
  pid: number;
  start: number;
  /** When it logged its end (or its SIGTERM); undefined while it runs or when it vanished. */
  end: number | undefined;
  commits: number;
  dirty: boolean;
  cwd: string | undefined;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** The runs of the agents, one per (task, pid), from their log lines. */
export function agentRuns(lines: AgentLine[]): AgentRun[] {
  const runs = new Map<string, AgentRun>();
  for (const l of lines) {
    const key = `${l.taskId}#${l.pid}`;
    if (l.event === 'start') runs.set(key, { taskId: l.taskId, tag: l.tag, pid: l.pid, start: l.t, end: undefined, commits: 0, dirty: false, cwd: l.cwd });
    const r = runs.get(key);
    if (!r) continue;
    if (l.event === 'end' || l.event === 'term') r.end ??= l.t;
    if (l.event === 'end') {
      r.commits = l.commits ?? 0;
      r.dirty = l.dirty === true;
    }
  }
  return [...runs.values()];
}

/**
 * No task ran twice at the same time: the runs of one task (by its agents' own start/end times and pids)
 * must not overlap. A run without an end whose process is gone vanished (nobody logs a kill; the driver
 * never kills agents): reported too, as its interval is unknown. `alive(pid)` says whether a process lives.
 */
export function checkOverlaps(runs: AgentRun[], alive: (pid: number) => boolean): Violation[] {
  const out: Violation[] = [];
  const byTask = new Map<string, AgentRun[]>();
  for (const r of runs) byTask.set(r.taskId, [...(byTask.get(r.taskId) ?? []), r]);
  for (const [taskId, list] of byTask) {
    list.sort((a, b) => a.start - b.start);
    for (const r of list) {
      if (r.end === undefined) {
        out.push({ check: 'agent-run-ended', detail: `task ${taskId} (${r.tag}): the agent run of pid ${r.pid} started at ${r.start} has no end in the log${alive(r.pid) ? ' and still runs' : ' and its process is gone'}` });
      }
    }
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as AgentRun;
      const cur = list[i] as AgentRun;
      if (prev.end === undefined || cur.start < prev.end) {
        out.push({
          check: 'no-concurrent-runs',
          detail: `task ${taskId} (${cur.tag}) ran twice at the same time: pid ${prev.pid} [${prev.start}, ${prev.end ?? '…'}] and pid ${cur.pid} from ${cur.start}`,
        });
      }
    }
  }
  return out;
}

export interface TaskFact {
  id: string;
  status: string;
  source: string;
  errorMessage: string | null;
  finishedAt: number | null;
  /** How many terminal events (succeeded/failed/cancelled/timed_out) its event log holds. */
  terminalEvents: number;
}

/**
 * Every accepted task exists and ended in exactly one terminal state (one terminal event; a non-empty
 * error when it did not succeed); no task of the store is left unended; no agent started after its task ended.
 */
export function checkTasks(accepted: Array<{ id: string; what: string }>, tasks: Map<string, TaskFact>, runs: AgentRun[]): Violation[] {
  const out: Violation[] = [];
  for (const a of accepted) {
    if (!tasks.has(a.id)) out.push({ check: 'accepted-not-lost', detail: `${a.what}: task ${a.id} was accepted but is not in the store` });
  }
  for (const t of tasks.values()) {
    if (!TERMINAL.has(t.status)) out.push({ check: 'one-terminal-state', detail: `task ${t.id} (source ${t.source}) ended ${t.status}, not in a terminal state` });
    else if (t.terminalEvents !== 1) out.push({ check: 'one-terminal-state', detail: `task ${t.id} (source ${t.source}) has ${t.terminalEvents} terminal events (status ${t.status})` });
    if (TERMINAL.has(t.status) && t.status !== 'succeeded' && !t.errorMessage?.trim()) {
      out.push({ check: 'one-terminal-state', detail: `task ${t.id} ended ${t.status} without an error message` });
    }
  }
  for (const r of runs) {
    const t = tasks.get(r.taskId);
    if (t?.finishedAt != null && r.start > t.finishedAt) {
      out.push({ check: 'no-run-after-end', detail: `task ${r.taskId} (${r.tag}) ended at ${t.finishedAt} (${t.status}) but an agent (pid ${r.pid}) started for it at ${r.start}` });
    }
  }
  return out;
}

/** A chunk of a reply as the store holds it. */
export interface ChunkFact {
  idx: number;
  nonce: string;
  content: string;
  /** The file this chunk carries (a reply longer than `maxChunks` messages goes whole as a file), or null. */
  attachment: string | null;
  messageId: string | null;
}

/** A bot message as the fake Discord holds it. */
export interface PostedFact {
  id: string;
  content: string;
  nonce: string | null;
  replyTo: string | null;
  attachments: Array<{ filename: string; text: string }>;
}

export interface DiscordMessageFact {
  /** The user's message (a snowflake). */
  messageId: string;
  tag: string;
  /** The task the message became (from the store), if any. */
  taskId: string | null;
  taskStatus: string | null;
  /** What the agent answers (when the task succeeded, the reply holds exactly this). */
  expected: string;
  /** Reply rows (kind reply) of the outbox for this message: state, body, chunks. */
  replies: Array<{ id: number; state: string; body: string; chunks: ChunkFact[] }>;
  /** The nonce of the task's live status message, when it has a status row. */
  statusNonce: string | null;
}

/** Snowflakes compare as numbers (they are longer than a double keeps exactly). */
function snowflakeLess(a: string, b: string): boolean {
  return BigInt(a) < BigInt(b);
}

/**
 * Every Discord message got exactly one reply, every chunk of it posted once (one message per nonce) and
 * in order, with the whole text; at most one status message per task. `posted`: the bot's messages in
 * the message's channel.
 */
export function checkDiscord(messages: DiscordMessageFact[], posted: PostedFact[]): Violation[] {
  const out: Violation[] = [];
  const byNonce = new Map<string, PostedFact[]>();
  for (const p of posted) if (p.nonce !== null) byNonce.set(p.nonce, [...(byNonce.get(p.nonce) ?? []), p]);
  for (const [nonce, list] of byNonce) {
    if (list.length > 1) out.push({ check: 'chunk-once', detail: `nonce ${nonce} was posted ${list.length} times (messages ${list.map((p) => p.id).join(', ')})` });
  }
  for (const m of messages) {
    const who = `Discord message ${m.messageId} (${m.tag})`;
    if (!m.taskId) {
      out.push({ check: 'discord-accepted', detail: `${who} never became a task` });
      continue;
    }
    if (m.replies.length !== 1) {
      out.push({ check: 'one-reply', detail: `${who}: ${m.replies.length} replies in the outbox (task ${m.taskId})` });
      continue;
    }
    const reply = m.replies[0]!;
    if (reply.state !== 'sent') {
      out.push({ check: 'one-reply', detail: `${who}: its reply (outbox ${reply.id}) is ${reply.state}, not sent` });
      continue;
    }
    const chunks = [...reply.chunks].sort((a, b) => a.idx - b.idx);
    const seen: PostedFact[] = [];
    for (const c of chunks) {
      const list = byNonce.get(c.nonce) ?? [];
      if (list.length === 0) out.push({ check: 'chunk-once', detail: `${who}: chunk ${c.idx} (nonce ${c.nonce}) of outbox ${reply.id} is not in the channel` });
      else seen.push(list[0]!);
      if (list.length === 1 && c.messageId !== null && c.messageId !== list[0]!.id) {
        out.push({ check: 'chunk-once', detail: `${who}: chunk ${c.idx} recorded as message ${c.messageId} but posted as ${list[0]!.id}` });
      }
    }
    for (let i = 1; i < seen.length; i++) {
      if (!snowflakeLess(seen[i - 1]!.id, seen[i]!.id)) out.push({ check: 'chunks-in-order', detail: `${who}: chunk ${i} (message ${seen[i]!.id}) was posted before chunk ${i - 1} (message ${seen[i - 1]!.id})` });
    }
    for (let i = 0; i < Math.min(seen.length, chunks.length); i++) {
      const c = chunks[i]!;
      const p = seen[i]!;
      if (p.content !== c.content) out.push({ check: 'reply-whole', detail: `${who}: chunk ${c.idx} was posted as ${p.content.length} chars, planned as ${c.content.length}` });
      if (c.attachment !== null) {
        const file = p.attachments.find((a) => a.filename === c.attachment);
        if (!file) out.push({ check: 'reply-whole', detail: `${who}: chunk ${c.idx} was posted without its file ${c.attachment}` });
        else if (file.text !== reply.body) out.push({ check: 'reply-whole', detail: `${who}: the file ${c.attachment} (${file.text.length} chars) is not the reply body (${reply.body.length} chars)` });
      }
    }
    const attached = chunks.some((c) => c.attachment !== null);
    if (!attached && seen.length === chunks.length && seen.map((p) => p.content).join('') !== reply.body) {
      out.push({ check: 'reply-whole', detail: `${who}: the posted chunks joined (${seen.map((p) => p.content).join('').length} chars) are not the reply body (${reply.body.length} chars)` });
    }
    if (m.taskStatus === 'succeeded' && reply.body !== m.expected) {
      out.push({ check: 'reply-whole', detail: `${who}: the reply body (${reply.body.length} chars) is not the agent's answer (${m.expected.length} chars)` });
    }
    const answering = posted.filter((p) => p.replyTo === m.messageId && p.nonce !== m.statusNonce);
    if (answering.length !== 1) out.push({ check: 'one-reply', detail: `${who}: ${answering.length} bot messages (not the status) reply to it: ${answering.map((p) => p.id).join(', ')}` });
    if (m.statusNonce) {
      const statuses = byNonce.get(m.statusNonce) ?? [];
      if (statuses.length > 1) out.push({ check: 'one-status-message', detail: `${who}: ${statuses.length} status messages for task ${m.taskId}` });
    }
  }
  return out;
}

export interface StepFact {
  runId: string;
  stepId: string;
  status: string;
  taskId: string | null;
  endedAt: number | null;
}

/**
 * Workflows: every accepted run is in the store and ended; no step's agent started after the step had
 * ended; a dispatch step ran as one task (its tag `<run tag>/<step>`; re-runs after a crash continue that task).
 */
export function checkWorkflows(accepted: Array<{ runId: string; tag: string }>, runs: Map<string, { status: string; tag: string }>, steps: StepFact[], agent: AgentRun[]): Violation[] {
  const out: Violation[] = [];
  const ENDED = new Set(['success', 'error', 'cancelled', 'timeout', 'resumed']);
  for (const a of accepted) if (!runs.has(a.runId)) out.push({ check: 'accepted-not-lost', detail: `workflow run ${a.runId} (${a.tag}) was accepted but is not in the store` });
  for (const [id, r] of runs) if (!ENDED.has(r.status)) out.push({ check: 'run-ended', detail: `workflow run ${id} (${r.tag}) is still ${r.status}` });
  const tagOfRun = new Map([...runs].map(([id, r]) => [id, r.tag]));
  for (const s of steps) {
    const tag = `${tagOfRun.get(s.runId) ?? '?'}/${s.stepId}`;
    const mine = agent.filter((r) => r.tag === tag);
    const tasks = new Set(mine.map((r) => r.taskId));
    if (tasks.size > 1) out.push({ check: 'step-once', detail: `step ${s.stepId} of run ${s.runId} ran as ${tasks.size} tasks: ${[...tasks].join(', ')}` });
    if (s.endedAt !== null) {
      for (const r of mine) {
        if (r.start > s.endedAt) out.push({ check: 'step-once', detail: `step ${s.stepId} of run ${s.runId} ended at ${s.endedAt} (${s.status}) but its agent (pid ${r.pid}, task ${r.taskId}) started again at ${r.start}` });
      }
    }
  }
  return out;
}

/** Worktrees: a task whose agent left commits or untracked files keeps its worktree (and it must exist). */
export function checkWorktrees(agent: AgentRun[], worktrees: Map<string, { path: string; status: string }>, exists: (path: string) => boolean): Violation[] {
  const out: Violation[] = [];
  const holding = new Map<string, AgentRun>();
  for (const r of agent) if (r.commits > 0 || r.dirty) holding.set(r.taskId, r);
  for (const [taskId, r] of holding) {
    const w = worktrees.get(taskId);
    if (!w) {
      out.push({ check: 'worktree-kept', detail: `task ${taskId} (${r.tag}) worked in ${r.cwd ?? '?'} but the store has no worktree row for it` });
      continue;
    }
    if (w.status === 'removed' || !exists(w.path)) {
      out.push({ check: 'worktree-kept', detail: `the worktree ${w.path} of task ${taskId} (${r.tag}) holds ${r.commits} commits${r.dirty ? ' and untracked files' : ''} but was removed (row ${w.status})` });
    }
  }
  return out;
}

export interface TicketFact {
  id: string;
  tag: string;
  status: string;
  dependsOn: string[];
}

/**
 * Board: every accepted ticket is in the store and settled (done, failed or review: none left in todo or
 * doing); no ticket's agent started before each of its dependencies' last agent run had ended.
 */
export function checkBoard(accepted: string[], tickets: Map<string, TicketFact>, agent: AgentRun[]): Violation[] {
  const out: Violation[] = [];
  for (const id of accepted) if (!tickets.has(id)) out.push({ check: 'accepted-not-lost', detail: `board ticket ${id} was accepted but is not in the store` });
  for (const t of tickets.values()) {
    if (!['done', 'failed', 'review'].includes(t.status)) out.push({ check: 'ticket-settled', detail: `ticket ${t.id} (${t.tag}) is still ${t.status}` });
    const first = Math.min(...agent.filter((r) => r.tag === t.tag).map((r) => r.start));
    for (const dep of t.dependsOn) {
      const d = tickets.get(dep);
      if (!d) continue;
      const depEnds = agent.filter((r) => r.tag === d.tag).map((r) => r.end ?? Infinity);
      const depLast = depEnds.length ? Math.max(...depEnds) : Infinity;
      if (Number.isFinite(first) && first < depLast) {
        out.push({ check: 'ticket-dependencies', detail: `ticket ${t.id} (${t.tag}) started at ${first}, before its dependency ${dep} (${d.tag}, ${d.status}) had finished its run${depLast === Infinity ? 's (never ran)' : ` at ${depLast}`}` });
      }
    }
  }
  return out;
}

/** Cron: each firing made one task (or says why not), and each cron task belongs to one firing. */
export function checkCron(firings: Array<{ id: number; scheduledAt: number; status: string; taskId: string | null; error: string | null }>, cronTasks: string[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<number, number>();
  const taskOf = new Map<string, number>();
  for (const f of firings) {
    seen.set(f.scheduledAt, (seen.get(f.scheduledAt) ?? 0) + 1);
    if (f.taskId) {
      if (taskOf.has(f.taskId)) out.push({ check: 'cron-once', detail: `firings ${taskOf.get(f.taskId)} and ${f.id} share task ${f.taskId}` });
      taskOf.set(f.taskId, f.id);
    } else if (!f.error) out.push({ check: 'cron-once', detail: `firing ${f.id} (${new Date(f.scheduledAt).toISOString()}) made no task and says no error (${f.status})` });
  }
  for (const [at, n] of seen) if (n > 1) out.push({ check: 'cron-once', detail: `the slot ${new Date(at).toISOString()} fired ${n} times` });
  for (const id of cronTasks) if (!taskOf.has(id)) out.push({ check: 'cron-once', detail: `cron task ${id} belongs to no firing` });
  return out;
}

/** mulberry32: a small seeded PRNG (the same seed gives the same kill delays and the same requests). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
