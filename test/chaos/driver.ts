/**
 * The chaos driver: the real daemon (`tetora serve`, a child process through DaemonHarness) under a mixed
 * load — HTTP dispatches (with and without `?wait`, with idempotency keys), Discord messages through the
 * fake Discord (long replies; 429s and 5xx scripted at random), workflow runs with parallel, delay and
 * approval steps, cron firings on the test clock, board tickets with dependencies, tasks in git worktrees
 * — SIGKILLed at seeded random moments and restarted, N times; then everything is let finish and the
 * store, the fake Discord and the agents' logs are checked (checks.ts). `npm run chaos` (run.ts) and
 * test/integration/chaos.test.ts call `runChaos`.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { statusNonce } from '../../src/channels/discord/nonce.js';
import { DaemonHarness } from '../helpers/daemon.js';
import { processAlive } from '../helpers/engine-harness.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';
import { writeWorkflow } from '../helpers/workflow.js';
import { makeRepo } from '../helpers/worktree-repo.js';
import {
  agentRuns,
  checkBoard,
  checkCron,
  checkDiscord,
  checkOverlaps,
  checkTasks,
  checkWorkflows,
  checkWorktrees,
  prng,
  TERMINAL,
  type AgentLine,
  type DiscordMessageFact,
  type StepFact,
  type TaskFact,
  type TicketFact,
  type Violation,
} from './checks.js';
// @ts-expect-error: a plain .mjs module shared with the agent (no types)
import { expectedOutput } from './chaos-text.mjs';

export const CHAOS_AGENT = resolve(import.meta.dirname, 'chaos-agent.mjs');
const GUILD = '200000000000000001';
const CHANNELS = ['300000000000000001', '300000000000000002'];
const ALICE = { id: '500000000000000001', username: 'alice' };
const CLOCK_START = Date.parse('2026-01-01T00:00:30Z');

export interface ChaosOptions {
  kills: number;
  seed: number;
  /** Shortest and longest time the daemon runs between two kills (ms); a fifth of the kills land within 150 ms of a start. */
  minUpMs?: number;
  maxUpMs?: number;
  /** Time between two pieces of load (ms, drawn between the two). */
  loadMs?: [number, number];
  /** No new load while this many tasks have not ended (back-pressure). */
  maxOpenTasks?: number;
  /** How long everything may take to finish after the last restart before it counts as a violation. */
  settleMs?: number;
  /** Stop killing after this many minutes (the report says how many kills were done). */
  maxMinutes?: number;
  /** Keep the home (store, logs) after the run, for a look. */
  keep?: boolean;
  /** The daemon logs at debug level (into daemon-log.jsonl in the home). */
  debugLog?: boolean;
  /** Progress lines (kills, phases). */
  progress?: (line: string) => void;
}

export interface KillRecord {
  n: number;
  /** ms since the run started. */
  at: number;
  /** How long that daemon had run (ms since it listened). */
  upMs: number;
}

export interface ChaosReport {
  seed: number;
  /** Kills done (fewer than asked when the time budget ran out). */
  kills: number;
  killsAsked: number;
  killLog: KillRecord[];
  requests: {
    http: { sent: number; accepted: number; refused: number; keyedRetries: number; waited: number };
    discord: { posted: number; replied: number; scriptedFaults: number };
    workflows: { started: number; refused: number; approvals: number };
    cron: { slots: number; firings: number };
    board: { tickets: number; refused: number };
    worktrees: { tasks: number; holdingWork: number; kept: number };
  };
  tasks: { total: number; byStatus: Record<string, number>; agentRuns: number; reattachedOrRerun: number };
  runs: { total: number; byStatus: Record<string, number> };
  replies: { sent: number; chunks: number };
  integrity: { integrityCheck: string; foreignKeyViolations: number };
  violations: Violation[];
  durationMs: number;
  settledMs: number;
  home: string | null;
  replay: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One workflow, every run of it: a step, a parallel pair, a delay, an approval, a last step. */
function chaosWorkflow(): Record<string, unknown> {
  const p = (id: string) => `@@tag={{tag}}/${id}@@@@sleep={{sleep}}@@ step ${id}`;
  return {
    name: 'chaos',
    variables: { tag: '', sleep: '200' },
    steps: [
      { id: 's1', agent: 'a', prompt: p('s1') },
      { id: 'par', type: 'parallel', dependsOn: ['s1'], parallel: [{ id: 'p1', agent: 'a', prompt: p('p1') }, { id: 'p2', agent: 'b', prompt: p('p2') }] },
      { id: 'pause', type: 'delay', delay: '700ms', dependsOn: ['par'] },
      { id: 'gate', type: 'human', humanSubtype: 'approval', humanPrompt: 'go on with {{tag}}?', dependsOn: ['pause'] },
      { id: 'last', agent: 'b', prompt: p('last'), dependsOn: ['gate'] },
    ],
  };
}

interface Pending {
  key: string;
  body: Record<string, unknown>;
  what: string;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const rand = prng(o.seed);
  const between = (lo: number, hi: number) => Math.floor(lo + rand() * (hi - lo + 1));
  const log = o.progress ?? (() => {});
  const minUp = o.minUpMs ?? 200;
  const maxUp = o.maxUpMs ?? 1500;
  const loadMs = o.loadMs ?? [150, 600];
  const maxOpen = o.maxOpenTasks ?? 16;

  const d = await DaemonHarness.create({});
  const fake = await FakeDiscord.start({ guilds: [{ id: GUILD, name: 'lab', channels: CHANNELS.map((id, i) => ({ id, name: `c${i}` })) }], heartbeatIntervalMs: 1000 });
  const repo = makeRepo(join(d.home, 'repo'));
  const agentLog = join(d.home, 'chaos-agents.jsonl');
  const clockFile = join(d.home, 'test-clock');
  let clock = CLOCK_START;
  // Written whole (a temporary file renamed over it): a daemon starting while the clock moves must never
  // read it empty (a 500-kill run once did, at kill 241, and the daemon refused to start).
  const setClock = (ms: number) => {
    writeFileSync(`${clockFile}.tmp`, String(ms));
    renameSync(`${clockFile}.tmp`, clockFile);
  };
  setClock(clock);
  const base = JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
  d.writeConfig({
    ...base,
    maxConcurrent: 6,
    defaultAgent: 'a',
    retry: { base: 20, cap: 200, maxAttempts: 3 },
    providers: { fake: { type: 'command', path: process.execPath, args: [CHAOS_AGENT], env: { CHAOS_LOG: agentLog, PATH: process.env.PATH ?? '/usr/bin:/bin' } } },
    agents: { a: { provider: 'fake' }, b: { provider: 'fake' }, w: { provider: 'fake', worktree: true } },
    worktreePruneInterval: '2s',
    discord: {
      enabled: true,
      botToken: 'test-token',
      guildID: GUILD,
      channelIDs: CHANNELS,
      routes: { [CHANNELS[0]!]: { agent: 'a' }, [CHANNELS[1]!]: { agent: 'b' } },
      apiBaseUrl: fake.apiBaseUrl,
      showProgress: true,
      maxChunks: 4,
    },
    taskBoard: { maxRetries: 2, autoDispatch: { enabled: true, defaultAgent: 'b', interval: '1s', maxConcurrentTasks: 2 } },
  });
  // Two jobs: `tick` skips the minutes that passed while no daemon ran, `tock` fires the latest of them at start.
  writeFileSync(
    join(d.home, 'jobs.json'),
    JSON.stringify({
      jobs: [
        { id: 'tick', schedule: '* * * * *', task: { prompt: '@@tag=cron@@@@sleep=150@@ tick', agent: 'a' } },
        { id: 'tock', schedule: '*/2 * * * *', catchUp: 'last', task: { prompt: '@@tag=cron@@@@sleep=150@@ tock', agent: 'b' } },
      ],
    }),
  );
  writeWorkflow(d, chaosWorkflow());
  const env = { TETORA_TEST_CLOCK: clockFile, TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' };

  const report: ChaosReport['requests'] = {
    http: { sent: 0, accepted: 0, refused: 0, keyedRetries: 0, waited: 0 },
    discord: { posted: 0, replied: 0, scriptedFaults: 0 },
    workflows: { started: 0, refused: 0, approvals: 0 },
    cron: { slots: 0, firings: 0 },
    board: { tickets: 0, refused: 0 },
    worktrees: { tasks: 0, holdingWork: 0, kept: 0 },
  };
  const violations: Violation[] = [];
  const acceptedTasks: Array<{ id: string; what: string }> = [];
  const keyed = new Map<string, string>(); // idempotency key → the task id first answered
  const pending: Pending[] = []; // keyed requests whose answer was lost (the daemon died): sent again
  const waitedAnswers: Array<{ id: string; status: string }> = [];
  const discordMsgs: Array<{ messageId: string; channelId: string; tag: string; long: number }> = [];
  const acceptedRuns: Array<{ runId: string; tag: string }> = [];
  const acceptedTickets: string[] = [];
  const killLog: KillRecord[] = [];
  let n = 0;
  let up = false;
  let upSince = 0;
  let loadOn = true;
  let stopAll = false;
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  /**
   * POST with a JSON body. A refused connection (the daemon is down: nothing was received) is tried again
   * every 200 ms for a while; any other failure (the daemon died with the request in flight) throws, as
   * then nobody knows whether it was taken.
   */
  const post = async (path: string, body: unknown, timeoutMs = 20_000) => {
    let res: Response | undefined;
    for (let tries = 0; !res; tries++) {
      try {
        res = await d.fetch(path, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        if (tries >= 100 || stopAll || (err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw err;
        await sleep(200);
      }
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: json };
  };

  /** Records the answer to a keyed request; a second answer for one key must name the same task. */
  const answered = (key: string | undefined, id: string, what: string) => {
    if (key) {
      const first = keyed.get(key);
      if (first === undefined) {
        keyed.set(key, id);
        acceptedTasks.push({ id, what });
        report.http.accepted++;
      } else if (first !== id) violations.push({ check: 'idempotency', detail: `${what}: key ${key} answered task ${first} first, then ${id}` });
    } else {
      acceptedTasks.push({ id, what });
      report.http.accepted++;
    }
  };

  const dispatch = async (body: Record<string, unknown>, opts: { key?: string; wait?: boolean; what: string }) => {
    report.http.sent++;
    if (opts.key) body.idempotencyKey = opts.key;
    try {
      const r = await post(`/api/dispatch${opts.wait ? '?wait=true&timeout=20s' : ''}`, body, 30_000);
      if (r.status === 200 || r.status === 202) {
        const id = String(r.body.id);
        answered(opts.key, id, opts.what);
        if (opts.wait && r.status === 200) {
          report.http.waited++;
          waitedAnswers.push({ id, status: String(r.body.status) });
        }
      } else if (r.status === 503) report.http.refused++;
      else violations.push({ check: 'http-answer', detail: `${opts.what}: POST /api/dispatch answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}` });
    } catch {
      // No answer (the daemon died or was down): with a key, send it again later; without, it may or may
      // not have been taken (the store-wide checks cover whatever was).
      if (opts.key) pending.push({ key: opts.key, body, what: opts.what });
      else report.http.refused++;
    }
  };

  const resend = async () => {
    for (const p of pending.splice(0)) {
      report.http.keyedRetries++;
      try {
        const r = await post('/api/dispatch', p.body);
        if (r.status === 200 || r.status === 202) answered(p.key, String(r.body.id), p.what);
        else if (r.status === 503) pending.push(p);
        else violations.push({ check: 'http-answer', detail: `${p.what} (sent again): ${r.status} ${JSON.stringify(r.body).slice(0, 300)}` });
      } catch {
        pending.push(p);
      }
    }
  };

  /** One piece of load, chosen at random. */
  const act = async (forced?: number) => {
    n++;
    // The first six pieces are one of each kind (so even a short run reaches every source), then at random.
    const roll = forced ?? (n <= 6 ? [0.1, 0.4, 0.55, 0.7, 0.9, 0.1][n - 1]! : rand());
    const sleepMs = between(50, 900);
    if (roll < 0.3) {
      const wait = rand() < 0.3;
      const key = wait || rand() < 0.5 ? `chaos-${o.seed}-${n}` : undefined;
      const body = { agent: rand() < 0.5 ? 'a' : 'b', prompt: `@@tag=h${n}@@@@sleep=${sleepMs}@@ http ${n}` };
      track(dispatch(body, { key, wait, what: `HTTP dispatch h${n}${key ? ` (key ${key})` : ''}${wait ? ' ?wait' : ''}` }));
      // Sometimes the same keyed request twice at once: one task.
      if (key && rand() < 0.2) track(dispatch({ ...body }, { key, what: `HTTP dispatch h${n} (key ${key}, sent twice)` }));
    } else if (roll < 0.5) {
      const channelId = CHANNELS[between(0, 1)]!;
      const long = rand() < 0.6 ? between(2500, 9500) : 0;
      if (rand() < 0.35) {
        const fault = rand() < 0.5 ? { status: 429 as const, retryAfterHeader: 1 } : { status: [500, 502, 503][between(0, 2)]! };
        fake.script({ method: 'POST', channelId }, [fault]);
        report.discord.scriptedFaults++;
      }
      const m = fake.post(channelId, { content: `@@tag=d${n}@@@@sleep=${sleepMs}@@@@long=${long}@@ discord ${n}`, author: ALICE });
      discordMsgs.push({ messageId: m.id, channelId, tag: `d${n}`, long });
      report.discord.posted++;
    } else if (roll < 0.62) {
      const tag = `r${n}`;
      track(
        post('/api/workflows/chaos/run', { variables: { tag, sleep: String(between(50, 400)) } })
          .then((r) => {
            if (r.status === 202) {
              acceptedRuns.push({ runId: String(r.body.runId), tag });
              report.workflows.started++;
            } else if (r.status === 503) report.workflows.refused++;
            else violations.push({ check: 'http-answer', detail: `workflow run ${tag}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}` });
          })
          .catch(() => report.workflows.refused++),
      );
    } else if (roll < 0.78) {
      const tag = `b${n}`;
      const dependsOn = acceptedTickets.length && rand() < 0.6 ? [acceptedTickets[between(Math.max(0, acceptedTickets.length - 3), acceptedTickets.length - 1)]!] : [];
      track(
        post('/api/board', { title: `ticket ${tag}`, description: `@@tag=${tag}@@@@sleep=${sleepMs}@@`, dependsOn, status: 'todo' })
          .then((r) => {
            if (r.status === 201) {
              acceptedTickets.push(String((r.body.ticket as { id: string }).id));
              report.board.tickets++;
            } else if (r.status === 503) report.board.refused++;
            else violations.push({ check: 'http-answer', detail: `board ticket ${tag}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}` });
          })
          .catch(() => report.board.refused++),
      );
    } else {
      const commit = rand() < 0.5 ? between(1, 2) : 0;
      const dirty = rand() < 0.3 ? 1 : 0;
      const key = `chaos-${o.seed}-${n}`;
      report.worktrees.tasks++;
      track(dispatch({ agent: 'w', workdir: repo, prompt: `chaos work ${n} @@tag=w${n}@@@@sleep=${sleepMs}@@@@commit=${commit}@@@@dirty=${dirty}@@` }, { key, what: `worktree task w${n}` }));
    }
  };

  /** Approves every run waiting at its gate (through the API; a refused or lost approval is tried again). */
  const approve = async () => {
    const waiting = query<{ run_id: string }>(d, `SELECT run_id FROM workflow_steps WHERE step_id = 'gate' AND status = 'waiting'`);
    for (const w of waiting) {
      try {
        const r = await post(`/api/workflow-runs/${w.run_id}/steps/gate/approve`, {});
        if (r.status === 200) report.workflows.approvals++;
      } catch {
        /* down: next round */
      }
    }
  };

  const daemonLog = join(d.home, 'daemon-log.jsonl');
  /** The daemon's log lines so far go to a file in the home (kept with --keep); memory stays flat over hundreds of restarts. */
  const flushLogs = () => {
    if (d.logs.length) appendFileSync(daemonLog, d.logs.map((l) => `${JSON.stringify(l)}\n`).join(''));
    d.logs.length = 0;
  };
  const start = async () => {
    flushLogs();
    const listening = d.start({ env: { ...env, ...(o.debugLog ? { TETORA_LOG_LEVEL: 'debug' } : {}) } });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`the daemon did not listen within 180 s of its start (seed ${o.seed}, after ${killLog.length} kills): ${d.logs.map((l) => String(l.msg)).slice(-10).join(' | ')}`)), 180_000);
    });
    try {
      await Promise.race([listening, late]);
    } catch (err) {
      throw new Error(`restart after ${killLog.length} kills failed (seed ${o.seed}; a violation of its own): ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    up = true;
    upSince = Date.now();
  };

  // Background loops: load, approvals, the clock.
  const loops: Promise<void>[] = [];
  loops.push(
    (async () => {
      while (!stopAll) {
        // Back-pressure: new work only while the backlog is small, so the load stays at what the agents
        // get through however long the run (the store is read on its own read-only connection).
        if (loadOn && openTasks(d) + notTakenIn(d, discordMsgs.length) < maxOpen) await act().catch((e: unknown) => violations.push({ check: 'driver', detail: `load: ${String(e)}` }));
        await sleep(between(loadMs[0], loadMs[1]));
      }
    })(),
  );
  loops.push(
    (async () => {
      while (!stopAll) {
        if (up) {
          await approve().catch(() => {});
          await resend();
        }
        await sleep(300);
      }
    })(),
  );
  loops.push(
    (async () => {
      // The first two minutes pass at once, whatever the backlog: the second holds a slot of the `catchUp:
      // last` job, which fires even when a kill lands on it, so every run, however short, reaches the cron
      // jobs (CI once did 3 kills in a loaded 7 s with the backlog full at every 3 s tick: no firing).
      let advanced = 0;
      while (!stopAll) {
        await sleep(advanced < 2 ? 1000 : 3000);
        if (!loadOn || (advanced >= 2 && openTasks(d) >= maxOpen)) continue;
        advanced++;
        clock += 60_000;
        setClock(clock);
        report.cron.slots++;
      }
    })(),
  );

  let settledMs = 0;
  try {
    loadOn = false;
    await start();
    // The bot's first catch-up marks where each channel starts (what was posted before is history, not
    // answered): the load begins once both channels have their cursor.
    const ready = Date.now() + 60_000;
    while (query(d, `SELECT 1 FROM discord_channels WHERE last_message_id IS NOT NULL`).length < CHANNELS.length) {
      if (Date.now() > ready) throw new Error(`the Discord bot did not catch up on its channels within 60 s: ${d.logs.map((l) => String(l.msg)).slice(-20).join(' | ')}`);
      await sleep(100);
    }
    loadOn = true;
    const budgetEnd = o.maxMinutes ? t0 + o.maxMinutes * 60_000 : Infinity;
    for (let k = 1; k <= o.kills; k++) {
      if (Date.now() > budgetEnd) {
        log(`time budget of ${o.maxMinutes} min spent after ${k - 1} of ${o.kills} kills; stopping the kills there`);
        break;
      }
      // A fifth of the kills hit a daemon that has only just started (reconciling, re-attaching, catching up).
      await sleep(rand() < 0.2 ? between(0, 150) : between(minUp, maxUp));
      const upMs = Date.now() - upSince;
      up = false;
      d.kill('SIGKILL');
      await d.exited();
      killLog.push({ n: k, at: Date.now() - t0, upMs });
      if (k % 10 === 0 || k === o.kills) log(`kill ${k}/${o.kills} at ${((Date.now() - t0) / 1000).toFixed(1)} s (up ${upMs} ms); ${acceptedTasks.length} tasks, ${report.discord.posted} messages, ${acceptedRuns.length} runs, ${acceptedTickets.length} tickets`);
      await sleep(between(0, 300));
      await start();
    }
    loadOn = false;
    // Every kind of request must have been taken at least once (a short run's few were maybe all lost in
    // flight to a kill): what has none gets one now, from the last daemon, which is not killed.
    const kinds: Array<[number, () => boolean]> = [
      [0.1, () => report.http.accepted > 0],
      [0.4, () => discordMsgs.length > 0],
      [0.55, () => acceptedRuns.length > 0],
      [0.7, () => acceptedTickets.length > 0],
      [0.9, () => acceptedTasks.some((a) => a.what.startsWith('worktree'))],
    ];
    await Promise.all([...inflight]);
    for (const [roll, done] of kinds) if (!done()) await act(roll);
    log('kills done; letting everything finish');
    const settleStart = Date.now();
    let lastNote = settleStart;
    const settleDeadline = settleStart + (o.settleMs ?? 120_000);
    for (;;) {
      await Promise.all([...inflight]);
      const open = unsettled(d, pending.length, discordMsgs.length);
      if (open.length === 0) break;
      if (Date.now() - lastNote > 10_000) {
        lastNote = Date.now();
        log(`waiting for: ${open.join('; ')}`);
      }
      if (Date.now() > settleDeadline) {
        violations.push({ check: 'settled', detail: `not finished ${((o.settleMs ?? 120_000) / 1000).toFixed(0)} s after the last restart: ${open.join('; ')}` });
        break;
      }
      await sleep(500);
    }
    settledMs = Date.now() - settleStart;
    stopAll = true;
    await Promise.all(loops);
    await Promise.all([...inflight]);

    // ---- the checks ----
    const lines = readLines<AgentLine>(agentLog);
    const runs = agentRuns(lines);
    const tasks = new Map(
      query<{ id: string; status: string; source: string; error_message: string | null; finished_at: number | null; terminal: number }>(
        d,
        `SELECT t.id, t.status, t.source, t.error_message, t.finished_at,
                (SELECT count(*) FROM task_events e WHERE e.task_id = t.id AND e.type IN ('succeeded','failed','cancelled','timed_out')) AS terminal
           FROM tasks t`,
      ).map((t): [string, TaskFact] => [t.id, { id: t.id, status: t.status, source: t.source, errorMessage: t.error_message, finishedAt: t.finished_at, terminalEvents: t.terminal }]),
    );
    violations.push(...checkTasks(acceptedTasks, tasks, runs));
    for (const w of waitedAnswers) {
      const t = tasks.get(w.id);
      if (TERMINAL.has(w.status) && t && t.status !== w.status) violations.push({ check: 'one-terminal-state', detail: `task ${w.id}: ?wait answered ${w.status}, the store says ${t.status}` });
    }
    violations.push(...checkOverlaps(runs, processAlive));

    // Discord.
    const posted = CHANNELS.flatMap((c) => fake.botMessages(c)).map((m) => ({
      id: m.id,
      content: m.content,
      nonce: m.nonce === null ? null : String(m.nonce),
      replyTo: m.replyTo,
      attachments: m.attachments.map((a) => ({ filename: a.filename, text: a.data.toString('utf8') })),
    }));
    const facts: DiscordMessageFact[] = discordMsgs.map((m) => {
      const inbound = query<{ task_id: string | null; status: string | null }>(d, `SELECT i.task_id, t.status FROM discord_inbound i LEFT JOIN tasks t ON t.id = i.task_id WHERE i.message_id = ?`, m.messageId)[0];
      const replies = query<{ id: number; state: string; body: string }>(d, `SELECT id, state, body FROM discord_outbox WHERE reply_to = ? AND kind = 'reply'`, m.messageId).map((r) => ({
        ...r,
        chunks: query<{ idx: number; nonce: string; content: string; attachment: string | null; message_id: string | null }>(d, `SELECT idx, nonce, content, attachment, message_id FROM discord_chunks WHERE outbox_id = ? ORDER BY idx`, r.id).map((c) => ({
          idx: c.idx,
          nonce: c.nonce,
          content: c.content,
          attachment: c.attachment,
          messageId: c.message_id,
        })),
      }));
      const taskId = inbound?.task_id ?? null;
      const hasStatus = taskId ? query(d, `SELECT 1 FROM discord_status WHERE task_id = ?`, taskId).length > 0 : false;
      return { messageId: m.messageId, tag: m.tag, taskId, taskStatus: inbound?.status ?? null, expected: expectedOutput(m.tag, m.long) as string, replies, statusNonce: taskId && hasStatus ? statusNonce(taskId) : null };
    });
    violations.push(...checkDiscord(facts, posted));
    report.discord.replied = facts.filter((f) => f.replies.some((r) => r.state === 'sent')).length;

    // Workflows.
    const wfRuns = new Map(
      query<{ id: string; status: string; variables: string }>(d, `SELECT id, status, variables FROM workflow_runs`).map((r): [string, { status: string; tag: string }] => [
        r.id,
        { status: r.status, tag: String((JSON.parse(r.variables) as { tag?: string }).tag ?? '?') },
      ]),
    );
    const steps = query<{ run_id: string; step_id: string; status: string; task_id: string | null; ended_at: number | null }>(d, `SELECT run_id, step_id, status, task_id, ended_at FROM workflow_steps`).map(
      (s): StepFact => ({ runId: s.run_id, stepId: s.step_id, status: s.status, taskId: s.task_id, endedAt: s.ended_at }),
    );
    violations.push(...checkWorkflows(acceptedRuns, wfRuns, steps, runs));

    // Worktrees.
    const worktrees = new Map(query<{ task_id: string; path: string; status: string }>(d, `SELECT task_id, path, status FROM worktrees`).map((w): [string, { path: string; status: string }] => [w.task_id, { path: w.path, status: w.status }]));
    violations.push(...checkWorktrees(runs, worktrees, existsSync));
    const holding = new Set(runs.filter((r) => r.commits > 0 || r.dirty).map((r) => r.taskId));
    report.worktrees.holdingWork = holding.size;
    report.worktrees.kept = [...holding].filter((id) => existsSync(worktrees.get(id)?.path ?? '/nonexistent')).length;

    // Board.
    const tickets = new Map(
      query<{ id: string; status: string; description: string; depends_on: string }>(d, `SELECT id, status, description, depends_on FROM board_tickets`).map((t): [string, TicketFact] => [
        t.id,
        { id: t.id, status: t.status, tag: /@@tag=([^@]*)@@/.exec(t.description)?.[1] ?? '?', dependsOn: JSON.parse(t.depends_on) as string[] },
      ]),
    );
    violations.push(...checkBoard(acceptedTickets, tickets, runs));

    // Cron.
    const firings = query<{ id: number; schedule: string; scheduled_at: number; status: string; task_id: string | null; error: string | null }>(d, `SELECT id, schedule, scheduled_at, status, task_id, error FROM schedule_firings`);
    report.cron.firings = firings.length;
    const cronTasks = new Set([...tasks.values()].filter((t) => t.source === 'cron').map((t) => t.id));
    for (const job of ['job:tick', 'job:tock']) {
      const mine = firings.filter((f) => f.schedule === job);
      violations.push(
        ...checkCron(
          mine.map((f) => ({ id: f.id, scheduledAt: f.scheduled_at, status: f.status, taskId: f.task_id, error: f.error })),
          [],
        ),
      );
    }
    const fired = new Set(firings.map((f) => f.task_id));
    for (const id of cronTasks) if (!fired.has(id)) violations.push({ check: 'cron-once', detail: `cron task ${id} belongs to no firing` });
    if (report.cron.slots > 3 && !firings.some((f) => f.schedule === 'job:tock')) violations.push({ check: 'cron-once', detail: `the clock passed ${report.cron.slots} minutes but the catch-up job never fired` });

    // The store itself: stop the daemon cleanly first, then look at the file alone.
    d.kill('SIGTERM');
    const code = await Promise.race([d.exited(), sleep(30_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      violations.push({ check: 'driver', detail: 'the daemon did not exit within 30 s of SIGTERM after the run' });
      d.kill('SIGKILL');
      await d.exited();
    }
    flushLogs();
    const integrity = storeIntegrity(join(d.home, 'tetora.db'));
    violations.push(...integrity.violations);

    const byStatus: Record<string, number> = {};
    for (const t of tasks.values()) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const runsByStatus: Record<string, number> = {};
    for (const r of wfRuns.values()) runsByStatus[r.status] = (runsByStatus[r.status] ?? 0) + 1;
    const chunks = query<{ n: number }>(d, `SELECT count(*) AS n FROM discord_chunks WHERE message_id IS NOT NULL`)[0]?.n ?? 0;
    const sent = query<{ n: number }>(d, `SELECT count(*) AS n FROM discord_outbox WHERE kind = 'reply' AND state = 'sent'`)[0]?.n ?? 0;
    const perTask = new Map<string, number>();
    for (const r of runs) perTask.set(r.taskId, (perTask.get(r.taskId) ?? 0) + 1);
    return {
      seed: o.seed,
      kills: killLog.length,
      killsAsked: o.kills,
      killLog,
      requests: report,
      tasks: { total: tasks.size, byStatus, agentRuns: runs.length, reattachedOrRerun: [...perTask.values()].filter((x) => x > 1).length },
      runs: { total: wfRuns.size, byStatus: runsByStatus },
      replies: { sent, chunks },
      integrity: { integrityCheck: integrity.integrityCheck, foreignKeyViolations: integrity.foreignKeyViolations },
      violations,
      durationMs: Date.now() - t0,
      settledMs,
      home: o.keep ? d.home : null,
      replay: `npm run chaos -- --kills ${o.kills} --seed ${o.seed} --up-ms ${minUp},${maxUp}${o.maxMinutes ? ` --max-minutes ${o.maxMinutes}` : ''}`,
    };
  } finally {
    stopAll = true;
    await d.stop();
    d.killMarked();
    await fake.stop();
    if (!o.keep) rmSync(d.home, { recursive: true, force: true });
  }
}

/** What is still open, as short phrases (empty: everything finished). */
function unsettled(d: DaemonHarness, pendingKeys: number, discordPosted: number): string[] {
  const open: string[] = [];
  if (pendingKeys) open.push(`${pendingKeys} keyed requests not yet answered`);
  const tasks = query<{ status: string; n: number }>(d, `SELECT status, count(*) AS n FROM tasks WHERE status NOT IN ('succeeded','failed','cancelled','timed_out') GROUP BY status`);
  if (tasks.length) open.push(`tasks ${tasks.map((t) => `${t.status}=${t.n}`).join(', ')}`);
  const runs = query<{ n: number }>(d, `SELECT count(*) AS n FROM workflow_runs WHERE status = 'running'`)[0]?.n ?? 0;
  if (runs) open.push(`${runs} workflow runs running`);
  const tickets = query<{ status: string; n: number }>(d, `SELECT status, count(*) AS n FROM board_tickets WHERE status IN ('todo','doing','backlog') GROUP BY status`);
  if (tickets.length) open.push(`tickets ${tickets.map((t) => `${t.status}=${t.n}`).join(', ')}`);
  const outbox = query<{ n: number }>(d, `SELECT count(*) AS n FROM discord_outbox WHERE state = 'pending'`)[0]?.n ?? 0;
  if (outbox) open.push(`${outbox} Discord outbox rows pending`);
  const inbound = query<{ n: number }>(d, `SELECT count(*) AS n FROM discord_inbound WHERE kind = 'task'`)[0]?.n ?? 0;
  if (inbound < discordPosted) open.push(`${discordPosted - inbound} Discord messages not taken in yet`);
  return open;
}

/** Discord messages posted that the bot has not taken in yet (they become tasks once it does). */
function notTakenIn(d: DaemonHarness, posted: number): number {
  try {
    return Math.max(0, posted - (query<{ n: number }>(d, `SELECT count(*) AS n FROM discord_inbound`)[0]?.n ?? 0));
  } catch {
    return Infinity;
  }
}

function openTasks(d: DaemonHarness): number {
  try {
    return query<{ n: number }>(d, `SELECT count(*) AS n FROM tasks WHERE status NOT IN ('succeeded','failed','cancelled','timed_out')`)[0]?.n ?? 0;
  } catch {
    return Infinity; // not readable this moment: no new load until it is
  }
}

function query<T>(d: DaemonHarness, sql: string, ...args: unknown[]): T[] {
  return d.query<T>(sql, ...args);
}

function readLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/**
 * `PRAGMA integrity_check` and `foreign_key_check` on the store (the daemon stopped), plus the references
 * the schema does not declare: every task a row names exists, every run a step or firing names exists.
 */
export function storeIntegrity(path: string): { integrityCheck: string; foreignKeyViolations: number; violations: Violation[] } {
  const db = new Database(path, { readonly: true });
  const violations: Violation[] = [];
  try {
    const ic = (db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
    if (ic !== 'ok') violations.push({ check: 'store-integrity', detail: `PRAGMA integrity_check: ${ic}` });
    const fk = db.prepare('PRAGMA foreign_key_check').all() as Array<Record<string, unknown>>;
    for (const r of fk.slice(0, 20)) violations.push({ check: 'store-integrity', detail: `PRAGMA foreign_key_check: ${JSON.stringify(r)}` });
    const refs: Array<[string, string]> = [
      ['workflow_steps.task_id', `SELECT s.run_id || '/' || s.step_id AS row, s.task_id AS ref FROM workflow_steps s WHERE s.task_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = s.task_id)`],
      ['workflow_steps.run_id', `SELECT s.run_id || '/' || s.step_id AS row, s.run_id AS ref FROM workflow_steps s WHERE NOT EXISTS (SELECT 1 FROM workflow_runs r WHERE r.id = s.run_id)`],
      ['tasks.workflow_run_id', `SELECT t.id AS row, t.workflow_run_id AS ref FROM tasks t WHERE t.workflow_run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM workflow_runs r WHERE r.id = t.workflow_run_id)`],
      ['tasks.parent_id', `SELECT t.id AS row, t.parent_id AS ref FROM tasks t WHERE t.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks p WHERE p.id = t.parent_id)`],
      ['schedule_firings.task_id', `SELECT f.id AS row, f.task_id AS ref FROM schedule_firings f WHERE f.task_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = f.task_id)`],
      ['schedule_firings.workflow_run_id', `SELECT f.id AS row, f.workflow_run_id AS ref FROM schedule_firings f WHERE f.workflow_run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM workflow_runs r WHERE r.id = f.workflow_run_id)`],
      ['board_tickets.current_task', `SELECT b.id AS row, b.current_task AS ref FROM board_tickets b WHERE b.current_task IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = b.current_task)`],
      ['board_tickets.finding_task', `SELECT b.id AS row, b.finding_task AS ref FROM board_tickets b WHERE b.finding_task IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = b.finding_task)`],
      ['board_comments.task_id', `SELECT c.id AS row, c.task_id AS ref FROM board_comments c WHERE c.task_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = c.task_id)`],
      ['worktrees.task_id', `SELECT w.path AS row, w.task_id AS ref FROM worktrees w WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = w.task_id)`],
      ['discord_chunks.outbox_id', `SELECT c.outbox_id || '/' || c.idx AS row, c.outbox_id AS ref FROM discord_chunks c WHERE NOT EXISTS (SELECT 1 FROM discord_outbox o WHERE o.id = c.outbox_id)`],
    ];
    for (const [what, sql] of refs) {
      for (const r of (db.prepare(sql).all() as Array<{ row: unknown; ref: unknown }>).slice(0, 20)) {
        violations.push({ check: 'store-integrity', detail: `${what}: row ${String(r.row)} names ${String(r.ref)}, which does not exist` });
      }
    }
    return { integrityCheck: ic, foreignKeyViolations: fk.length, violations };
  } finally {
    db.close();
  }
}

/** The commit the suite runs on (for the report), or 'unknown'. */
export function currentCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
