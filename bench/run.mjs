#!/usr/bin/env node
// Tetora benchmarks: `npm run bench` (builds, then runs this). Writes docs/benchmarks.md.
//   --quick       small counts (a smoke run; numbers not comparable)
//   --out <file>  where to write the report (default docs/benchmarks.md)
//   --cpu-prof    after the throughput rounds, one more round of each build with the daemon under
//                 `node --cpu-prof`, summed into where its CPU time went per task (not counted in the rates)
//   --only-sse, --only-throughput, --only-restart
//                 only that section, printed on stdout (docs/benchmarks.md is not written)
//   --before <dist>  also measure the runner of another build (its dist/ directory, with bin/tetora.js
//                 beside it), e.g. the engine before detached runs: `git worktree add /tmp/tetora-before
//                 0c25eef && ln -s $PWD/node_modules /tmp/tetora-before/ && (cd /tmp/tetora-before && npx tsc
//                 -p tsconfig.json)`, then `--before /tmp/tetora-before/dist`. Without it only this build is
//                 measured, and the report says so.
// Everything runs on 127.0.0.1 and stops by itself.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { CATEGORIES, summarise } from './cpu-profile.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tetora.js');
const FAKE_AGENT = join(ROOT, 'test', 'helpers', 'fake-agent.mjs');
const args = process.argv.slice(2);
/** `--before <dist>`: the bin/tetora.js beside that dist/ runs the "before" daemon. */
const BEFORE = (() => {
  if (!args.includes('--before')) return undefined;
  const dist = resolve(args[args.indexOf('--before') + 1] ?? '');
  const bin = join(dirname(dist), 'bin', 'tetora.js');
  if (!existsSync(join(dist, 'cli', 'main.js')) || !existsSync(bin)) {
    throw new Error(`--before ${dist}: expected a built dist/ (with cli/main.js) and ${bin} beside it; build that tree with \`npx tsc -p tsconfig.json\` first`);
  }
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['-C', dirname(dist), 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 80);
  } catch {
    /* not a git tree */
  }
  return { dist, bin, commit };
})();
const THIS_COMMIT = (() => {
  try {
    return execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown commit';
  }
})();
const quick = args.includes('--quick');
const cpuProf = args.includes('--cpu-prof');
const outPath = resolve(ROOT, args.includes('--out') ? args[args.indexOf('--out') + 1] : 'docs/benchmarks.md');
const N = quick
  ? { warmup: 50, latency1: 200, latency64: 640, tasks: 200, queued: 1000, replayMiB: 20, replaySeconds: 5, restartAgents: 8, restartRounds: 1 }
  : { warmup: 300, latency1: 2000, latency64: 6400, tasks: 2000, queued: 10000, replayMiB: 200, replaySeconds: 20, restartAgents: 8, restartRounds: 5 };
const TOKEN = 'bench-token-0123456789';
const ROUNDS = quick ? 1 : 3;
const homes = [];

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Starts a child that prints "LISTENING <port>"; resolves with the child and its port. */
function startListening(cmd, argv, env, onStderrLine = undefined) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-4000)));
  if (onStderrLine) createInterface({ input: child.stderr }).on('line', onStderrLine);
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('LISTENING ')) res({ child, port: Number(line.slice(10)) });
    });
    child.once('exit', (code) => rej(new Error(`${argv.join(' ')} exited early with ${code}: ${stderr}`)));
  });
}

/**
 * A daemon on a temp home with one agent `bench` running `provider`; `seed(dbPath)` runs before it starts.
 * `bin` is the tetora.js to run (this build's unless given).
 */
async function startDaemon(provider, extra = {}, seed = undefined, bin = BIN, nodeArgs = []) {
  const home = mkdtempSync(join(tmpdir(), 'tetora-bench-'));
  homes.push(home);
  const config = {
    listenAddr: '127.0.0.1:0',
    apiToken: TOKEN,
    maxConcurrent: 8,
    drainTimeout: '1s',
    defaultWorkdir: home,
    providers: { p: { type: 'command', ...provider } },
    agents: { bench: { provider: 'p' } },
    ...extra,
  };
  const configPath = join(home, 'config.json');
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  if (seed) await seed(join(home, 'tetora.db'));
  const d = await startListening(process.execPath, [...nodeArgs, bin, '--config', configPath, 'serve', '--log-format', 'json'], {
    TETORA_ANNOUNCE: '1',
    TETORA_HOME: home,
    TETORA_LOG_LEVEL: 'warn',
  });
  return { ...d, home, configPath, base: `http://127.0.0.1:${d.port}` };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

async function post(base, path, body) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 202 && res.status !== 200) throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** `total` POSTs of one task from `concurrency` clients; returns each request's latency in ms. */
async function loadTest(base, concurrency, total) {
  const latencies = [];
  let next = 0;
  const client = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await post(base, '/api/dispatch', { agent: 'bench', prompt: `bench task ${i}` });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return latencies;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => `${x.toFixed(2)} ms`;

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A provider that holds its one slot (provider maxConcurrent 1) so that accepted tasks stay queued:
// accept latency and queue memory are measured without the runner competing for the 2 cores.
const HOLD = { path: '/bin/sleep', args: ['3600'], maxConcurrent: 1 };

async function acceptLatency() {
  const rows = [];
  for (const [name, start] of [
    ['tetora `POST /api/dispatch`', () => startDaemon(HOLD)],
    ['bare `node:http` + 1 SQLite insert', () => startBare()],
  ]) {
    const s = await start();
    try {
      await loadTest(s.base, 8, N.warmup);
      const one = await loadTest(s.base, 1, N.latency1);
      const many = await loadTest(s.base, 64, N.latency64);
      rows.push({ name, one, many });
      log(`${name}: c=1 p50 ${ms(pct(one, 50))} p99 ${ms(pct(one, 99))}; c=64 p50 ${ms(pct(many, 50))} p99 ${ms(pct(many, 99))}`);
    } finally {
      await stop(s.child);
    }
  }
  return rows;
}

async function startBare() {
  const home = mkdtempSync(join(tmpdir(), 'tetora-bench-bare-'));
  homes.push(home);
  const d = await startListening(process.execPath, [join(ROOT, 'bench', 'bare-server.mjs'), join(home, 'bare.db')], {});
  return { ...d, base: `http://127.0.0.1:${d.port}` };
}

async function health(base) {
  const res = await fetch(`${base}/api/health`, { headers });
  return res.json();
}

/** 2,000 tasks through the command provider running `cat` at maxConcurrent 8, dispatched in batches. */
async function throughput(bin = BIN, nodeArgs = []) {
  const d = await startDaemon({ path: '/bin/cat' }, {}, undefined, bin, nodeArgs);
  try {
    const t0 = performance.now();
    for (let i = 0; i < N.tasks; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, N.tasks - i) }, (_, j) => ({ agent: 'bench', prompt: `task ${i + j}` }));
      await post(d.base, '/api/dispatch', batch);
    }
    let h;
    for (;;) {
      h = await health(d.base);
      const by = h.scheduler.byStatus ?? {};
      const ended = (by.succeeded ?? 0) + (by.failed ?? 0) + (by.cancelled ?? 0) + (by.timed_out ?? 0);
      if (ended >= N.tasks) break;
      await sleep(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    const succeeded = h.scheduler.byStatus.succeeded ?? 0;
    if (succeeded !== N.tasks) throw new Error(`only ${succeeded} of ${N.tasks} tasks succeeded: ${JSON.stringify(h.scheduler.byStatus)}`);
    return { seconds, perSecond: N.tasks / seconds };
  } finally {
    await stop(d.child);
  }
}

/** The physical limit: spawn `cat` with the prompt on stdin, 8 at a time, the same number of times. */
async function bareSpawn() {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N.tasks) {
      const i = next++;
      await new Promise((res, rej) => {
        const c = spawn('/bin/cat', [], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        c.stdout.on('data', (b) => (out += b));
        c.on('error', rej);
        c.on('close', (code) => (code === 0 && out ? res() : rej(new Error(`cat exited ${code}`))));
        c.stdin.end(`task ${i}`);
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perSecond: N.tasks / seconds };
}

async function memory() {
  const d = await startDaemon(HOLD);
  try {
    await sleep(2000);
    const idle = rssMiB(d.child.pid);
    for (let i = 0; i < N.queued; i += 1000) {
      await post(d.base, '/api/dispatch', Array.from({ length: 1000 }, (_, j) => ({ agent: 'bench', prompt: `queued task ${i + j}: ${'x'.repeat(200)}` })));
    }
    await sleep(2000);
    const h = await health(d.base);
    const queued = rssMiB(d.child.pid);
    const dbBytes = statSync(join(d.home, 'tetora.db')).size + statSync(join(d.home, 'tetora.db-wal')).size;
    return { idle, queued, queuedCount: h.scheduler.queued, dbMiB: dbBytes / 1024 / 1024 };
  } finally {
    await stop(d.child);
  }
}

/** Spawns `tetora serve` on an existing home; resolves with the child, its port and when each milestone came. */
async function respawn(d, onLogLine) {
  const t0 = performance.now();
  const s = await startListening(process.execPath, [BIN, '--config', d.configPath, 'serve', '--log-format', 'json'], {
    TETORA_ANNOUNCE: '1',
    TETORA_HOME: d.home,
    TETORA_LOG_LEVEL: 'info',
  }, onLogLine && ((line) => onLogLine(line, performance.now() - t0)));
  return { ...s, t0, listening: performance.now() - t0, base: `http://127.0.0.1:${s.port}` };
}

/** Reads a task's SSE history (for at most 2 s: a running task's stream stays open) for an event of `type`. */
async function hasEvent(base, id, type) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 2000);
  let text = '';
  try {
    const res = await fetch(`${base}/api/tasks/${id}/events`, { headers, signal: ctl.signal });
    for await (const chunk of res.body) {
      text += Buffer.from(chunk).toString('utf8');
      if (text.includes(`event: ${type}\n`)) return true;
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return false;
}

/**
 * Restart to adopted: `n` fake agents sleeping 30 s run under a daemon that is SIGKILLed; a new daemon on
 * the same home is spawned and timed until it listens, until its log says it re-attached to all `n`, and
 * until every task's events (read over the API) show `adopted`. The baseline: the same home restarted
 * with nothing running (after the agents are gone), spawn to listening.
 */
async function restartRound() {
  const n = N.restartAgents;
  const d = await startDaemon({ path: process.execPath, args: [FAKE_AGENT] }, { maxConcurrent: n });
  const logPath = join(d.home, 'agent-log.jsonl');
  const prompt = JSON.stringify({ log: logPath, state: join(d.home, 'agent-state'), steps: [{ sleepMs: 30000 }] });
  const agentLog = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  let next;
  try {
    const res = await post(d.base, '/api/dispatch', Array.from({ length: n }, () => ({ agent: 'bench', prompt })));
    const ids = res.tasks.map((t) => t.id);
    const deadline = performance.now() + 60_000;
    while (agentLog().filter((l) => l.event === 'start').length < n) {
      if (performance.now() > deadline) throw new Error(`only ${agentLog().filter((l) => l.event === 'start').length} of ${n} agents started within 60 s`);
      await sleep(50);
    }
    const exited = new Promise((r) => d.child.once('exit', r));
    d.child.kill('SIGKILL');
    await exited;

    let reattached = 0;
    let allReattached;
    next = await respawn(d, (line, at) => {
      if (line.includes('re-attached to a run an earlier daemon started') && ++reattached === n) allReattached = at;
    });
    const t0 = next.t0;
    const listening = next.listening;
    const apiDeadline = performance.now() + 60_000;
    let pending = [...ids];
    while (pending.length) {
      const seen = await Promise.all(pending.map((id) => hasEvent(next.base, id, 'adopted')));
      pending = pending.filter((_, i) => !seen[i]);
      if (!pending.length) break;
      if (performance.now() > apiDeadline) throw new Error(`${pending.length} of ${n} tasks show no 'adopted' event 60 s after the restart`);
      await sleep(20);
    }
    const api = performance.now() - t0;
    if (allReattached === undefined) throw new Error(`the restarted daemon logged ${reattached} of ${n} re-attachments`);
    const starts = agentLog().filter((l) => l.event === 'start');
    if (starts.length !== n) throw new Error(`${starts.length} agent starts for ${n} tasks: a run started twice`);

    // Clean up: cancel the 8 (their runs are killed), stop the daemon, then time a restart with nothing to adopt.
    for (const id of ids) await post(next.base, `/api/tasks/${id}/cancel`, {});
    for (const id of ids) {
      for (;;) {
        const t = await (await fetch(`${next.base}/api/tasks/${id}`, { headers })).json();
        if (['cancelled', 'succeeded', 'failed', 'timed_out'].includes(t.status)) break;
        await sleep(50);
      }
    }
    await stop(next.child);
    next = await respawn(d);
    const idle = next.listening;
    return { listening, allReattached, api, idle };
  } finally {
    if (next) await stop(next.child);
    await stop(d.child);
    for (const l of agentLog().filter((x) => x.event === 'start')) {
      try {
        process.kill(-l.ppid, 'SIGKILL'); // the launcher leads its run's process group
      } catch {
        /* gone */
      }
    }
  }
}

function restartSection(rounds) {
  const med = (key) => [...rounds.map((r) => r[key])].sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
  const row = (label, key) => `| ${label} | ${ms(med(key))} | ${(med(key) / med('idle')).toFixed(2)} | ${rounds.map((r) => r[key].toFixed(0)).join(', ')} ms |`;
  return `## Restart to adopted

${N.restartAgents} tasks run a fake agent that sleeps 30 s (\`test/helpers/fake-agent.mjs\`, \`command\` provider,
\`maxConcurrent\` ${N.restartAgents}). Once all ${N.restartAgents} have started, the daemon is killed with SIGKILL and a new
\`tetora serve\` is spawned on the same home. Times are from that spawn to: the \`LISTENING\` line; the ${N.restartAgents}th
log line \`re-attached to a run an earlier daemon started\` (the boot reconciler adopts runs before the
HTTP server listens); every task's event history (\`GET /api/tasks/:id/events\`) showing \`adopted\`. Each round
checks that no agent started twice. The baseline is the same home restarted with nothing running
(spawn to \`LISTENING\`), measured in the same round after the ${N.restartAgents} tasks were cancelled.
Medians of ${rounds.length} rounds.

| spawn of the new daemon to | median | ratio to idle restart | all rounds |
|---|---:|---:|---|
| idle restart: listening (baseline) | ${ms(med('idle'))} | 1.00 | ${rounds.map((r) => r.idle.toFixed(0)).join(', ')} ms |
${row(`all ${N.restartAgents} re-attached (log)`, 'allReattached')}
${row('listening', 'listening')}
${row(`all ${N.restartAgents} show \`adopted\` (API)`, 'api')}
`;
}

/** A finished task with `mib` MiB of 4 KiB text events, written straight into the store (the built dist/). */
async function seedHugeTask(dbPath, mib) {
  const { openDb } = await import(join(ROOT, 'dist', 'store', 'db.js'));
  const { TaskStore } = await import(join(ROOT, 'dist', 'store', 'tasks.js'));
  const db = openDb(dbPath);
  const store = new TaskStore(db);
  const id = '00000000-0000-4000-8000-0000000000b1';
  const text = 'x'.repeat(4096);
  const count = Math.round((mib * 1024 * 1024) / 4096);
  store.insert({ id, source: 'bench', prompt: 'huge', status: 'succeeded', maxAttempts: 1, priority: 0, createdAt: 1 }, { type: 'queued', data: {} });
  for (let i = 0; i < count; i += 5000) {
    store.atomically(() => {
      for (let j = i; j < Math.min(count, i + 5000); j++) store.appendEvent(id, 'provider.text', { text, i: j }, 2);
    });
  }
  store.appendEvent(id, 'succeeded', {}, 3);
  db.close();
  return id;
}

/** Prometheus text → the value of one unlabelled sample. */
function metric(text, name) {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * An SSE client that reads slowly: at most 64 KiB every 10 ms (about 6 MiB/s), through a raw socket so
 * nothing reads ahead of it. Returns a handle with the bytes received so far.
 */
function slowClient(port, path) {
  const s = connect(port, '127.0.0.1');
  const c = { bytes: 0, close: () => (clearInterval(timer), s.destroy()) };
  s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`));
  s.pause();
  s.on('error', () => {});
  const timer = setInterval(() => {
    const chunk = s.read(Math.min(65536, s.readableLength)) ?? s.read();
    if (chunk) c.bytes += chunk.length;
  }, 10);
  return c;
}

/**
 * Samples the daemon for `seconds`: its RSS every 200 ms, /healthz latency, and the event-loop delay
 * (Node's monitorEventLoopDelay through /metrics, reset by the first scrape).
 */
async function observe(d, seconds) {
  await fetch(`${d.base}/metrics`, { headers });
  const end = performance.now() + seconds * 1000;
  let rss = 0;
  let healthz = 0;
  while (performance.now() < end) {
    rss = Math.max(rss, rssMiB(d.child.pid));
    const t0 = performance.now();
    await fetch(`${d.base}/healthz`);
    healthz = Math.max(healthz, performance.now() - t0);
    await sleep(200);
  }
  const text = await (await fetch(`${d.base}/metrics`, { headers })).text();
  return { rss, healthz, lagMax: metric(text, 'nodejs_eventloop_lag_max_seconds') * 1000, lagP99: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 };
}

/** Four slow SSE clients replaying a huge task, against the same daemon idle for as long. */
async function sseReplay() {
  let id;
  const d = await startDaemon(HOLD, {}, async (dbPath) => (id = await seedHugeTask(dbPath, N.replayMiB)));
  try {
    await sleep(1000);
    const idle = await observe(d, N.replaySeconds);
    const clients = [1, 2, 3, 4].map(() => slowClient(d.port, `/api/tasks/${id}/events`));
    const busy = await observe(d, N.replaySeconds);
    const received = clients.map((c) => c.bytes / 1024 / 1024);
    for (const c of clients) c.close();
    return { idle, busy, received };
  } finally {
    await stop(d.child);
  }
}

function sseSection(sse) {
  return `## SSE replay of a huge task

A finished task with ${N.replayMiB} MiB of 4 KiB \`text\` events (written into the store before the daemon starts).
Four clients replay \`GET /api/tasks/:id/events\` from the start, each reading at most 64 KiB every 10 ms
(about 6 MiB/s) through a raw socket, for ${N.replaySeconds} s. The baseline is the same daemon, idle, for as long,
just before. RSS is sampled every 200 ms (\`/proc/<pid>/status\`), \`/healthz\` is requested after each
sample, and the event-loop delay comes from Node's \`monitorEventLoopDelay\` through \`/metrics\`
(\`nodejs_eventloop_lag_*_seconds\`). The replay reads pages of at most 1000 events / 256 KiB and waits for
each client's socket to drain before the next page.

| | idle | 4 slow replays | ratio |
|---|---:|---:|---:|
| daemon RSS, max | ${sse.idle.rss.toFixed(1)} MiB | ${sse.busy.rss.toFixed(1)} MiB | ${(sse.busy.rss / sse.idle.rss).toFixed(2)} |
| event-loop delay, max | ${sse.idle.lagMax.toFixed(1)} ms | ${sse.busy.lagMax.toFixed(1)} ms | ${(sse.busy.lagMax / sse.idle.lagMax).toFixed(1)} |
| event-loop delay, p99 | ${sse.idle.lagP99.toFixed(1)} ms | ${sse.busy.lagP99.toFixed(1)} ms | ${(sse.busy.lagP99 / sse.idle.lagP99).toFixed(1)} |
| \`/healthz\` latency, max | ${ms(sse.idle.healthz)} | ${ms(sse.busy.healthz)} | ${(sse.busy.healthz / sse.idle.healthz).toFixed(1)} |

The clients received ${sse.received.map((x) => `${x.toFixed(1)}`).join(', ')} MiB of the ${N.replayMiB} MiB in that time.
`;
}

/** Alternates this build, the bare spawn loop and the --before build, ROUNDS times; keeps the medians. */
async function throughputRounds() {
  log(`throughput: ${N.tasks} tasks through the command provider at maxConcurrent 8, ${ROUNDS} rounds${BEFORE ? `, this build and --before ${BEFORE.dist}` : ' (no --before: this build only)'}`);
  const tps = [];
  const befores = [];
  const bares = [];
  for (let i = 0; i < ROUNDS; i++) {
    tps.push(await throughput());
    bares.push(await bareSpawn());
    if (BEFORE) befores.push(await throughput(BEFORE.bin));
    log(`round ${i + 1}: tetora ${tps[i].seconds.toFixed(2)} s (${tps[i].perSecond.toFixed(1)} tasks/s), bare spawn loop ${bares[i].seconds.toFixed(2)} s (${bares[i].perSecond.toFixed(1)} spawns/s)${BEFORE ? `, before ${befores[i].seconds.toFixed(2)} s (${befores[i].perSecond.toFixed(1)} tasks/s)` : ''}`);
  }
  let profiles;
  if (cpuProf) {
    log('one more round of each build with the daemon under node --cpu-prof');
    profiles = [];
    for (const [label, bin] of [['this build', BIN], ...(BEFORE ? [['before', BEFORE.bin]] : [])]) {
      const dir = mkdtempSync(join(tmpdir(), 'tetora-bench-prof-'));
      homes.push(dir);
      const r = await throughput(bin, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length !== 1) throw new Error(`expected one CPU profile of the daemon in ${dir}, found ${files.length}`);
      profiles.push({ label, seconds: r.seconds, sums: summarise(join(dir, files[0])) });
    }
  }
  return { tps, bares, befores, profiles };
}

/** Where the daemon's CPU went, per task, from one profiled round of each build. */
function profileTable(profiles) {
  const perTask = (us) => `${(us / 1000 / N.tasks).toFixed(2)} ms`;
  const busy = (s) => s.total - s.idle - s['startup (module loading)'];
  const rows = [...CATEGORIES.map(([k]) => k).filter((k) => k !== 'idle' && !k.startsWith('startup')), 'other'].map(
    (k) => `| ${k} | ${profiles.map((p) => `${perTask(p.sums[k])} (${((p.sums[k] / busy(p.sums)) * 100).toFixed(0)} %)`).join(' | ')} |`,
  );
  return `Where the daemon's CPU time goes, per task, from one more round of each build with the daemon under
\`node --cpu-prof\` (\`--cpu-prof\`; not counted above; module loading at start and idle time left out):

| daemon CPU per task | ${profiles.map((p) => p.label).join(' | ')} |
|---|${profiles.map(() => '---:').join('|')}|
${rows.join('\n')}
| **busy, total** | ${profiles.map((p) => `**${perTask(busy(p.sums))}**`).join(' | ')} |
| idle (waiting) | ${profiles.map((p) => perTask(p.sums.idle)).join(' | ')} |`;
}

function throughputSection({ tps, bares, befores, profiles }) {
  const median = (xs) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
  const tp = median(tps);
  const bare = median(bares);
  const before = BEFORE ? median(befores) : undefined;
  const perTask = (r) => (r.seconds / N.tasks) * 1000;
  const overhead = (r) => `${(perTask(r) - perTask(bare)).toFixed(2)} ms`;
  return `## End-to-end throughput

${N.tasks} tasks dispatched in batches of 1,000 to an agent whose \`command\` provider runs \`/bin/cat\` (prompt on
stdin, answer on stdout) at \`maxConcurrent\` 8, timed until the last one is \`succeeded\`. Each task: a
transaction to claim it, its run spawned in a process group of its own with a watchdog (since issue 9: through
the launcher, which starts the agent once the run's record is committed), output captured, a transaction to
finish it, every event appended. The baseline spawns \`/bin/cat\` the same number of times, 8 at a time, from a
bare loop.

| run | median time | tasks/s | ratio to bare spawn | overhead per task | all rounds |
|---|---:|---:|---:|---:|---|
| bare spawn loop, ${N.tasks} spawns (baseline) | ${bare.seconds.toFixed(2)} s | ${bare.perSecond.toFixed(1)} | 1.00 | – | ${bares.map((r) => `${r.seconds.toFixed(2)} s`).join(', ')} |
| tetora (this build), ${N.tasks} tasks | ${tp.seconds.toFixed(2)} s | ${tp.perSecond.toFixed(1)} | ${(tp.perSecond / bare.perSecond).toFixed(2)} | ${overhead(tp)} | ${tps.map((r) => `${r.seconds.toFixed(2)} s`).join(', ')} |
${
  before
    ? `| tetora before (${BEFORE.commit.split(' ')[0]}), ${N.tasks} tasks | ${before.seconds.toFixed(2)} s | ${before.perSecond.toFixed(1)} | ${(before.perSecond / bare.perSecond).toFixed(2)} | ${overhead(before)} | ${befores.map((r) => `${r.seconds.toFixed(2)} s`).join(', ')} |\n`
    : ''
}
"Overhead per task" is the median wall time per task (8 at a time) minus the bare loop's per spawn.
This build reaches **${((tp.perSecond / bare.perSecond) * 100).toFixed(0)} %** of the bare spawn rate on this machine (medians of ${ROUNDS}
alternating rounds)${
  before
    ? `; the build before (\`--before ${BEFORE.dist}\`, commit ${BEFORE.commit.split(' ')[0]}) reached **${((before.perSecond / bare.perSecond) * 100).toFixed(0)} %** in the same rounds (that build: \`git worktree add ${dirname(BEFORE.dist)} ${BEFORE.commit.split(' ')[0]} && ln -s $PWD/node_modules ${dirname(BEFORE.dist)}/ && (cd ${dirname(BEFORE.dist)} && npx tsc -p tsconfig.json)\`). Since issue 9 (detached runs) every run goes through a \`/bin/sh\` launcher in its own session that waits for a go until the run's record is committed, the agent writes to spool files that the daemon follows, and the launcher leaves the exit status in a file: one more process (\`sh\`, which then forks the agent) and a few files per run`
    : ' (no `--before` build given: only this build was measured)'
}.

${
  profiles
    ? profileTable(profiles)
    : `No CPU profile in this run (\`--cpu-prof\` takes one). An earlier one (2026-11-25, before detached runs): 29 % of the daemon's CPU in
\`child_process.spawn\`, which forks the ~85 MiB daemon (the bare loop forks a small process), and about 35 % in
the durable SQLite commits each task needs (\`synchronous=FULL\`).`
}
`;
}

async function restartRounds() {
  log(`restart to adopted: ${N.restartAgents} running agents, ${N.restartRounds} rounds`);
  const restarts = [];
  for (let i = 0; i < N.restartRounds; i++) {
    restarts.push(await restartRound());
    const r = restarts[i];
    log(`round ${i + 1}: listening ${ms(r.listening)}, all re-attached (log) ${ms(r.allReattached)}, all adopted (API) ${ms(r.api)}; idle restart ${ms(r.idle)}`);
  }
  return restarts;
}

async function main() {
  const loadBefore = loadavg();
  log(`load average at start: ${loadBefore.map((x) => x.toFixed(2)).join(', ')}`);
  const loadNote = () => `Load average (1, 5, 15 min) ${loadBefore.map((x) => x.toFixed(2)).join(', ')} at the start, ${loadavg().map((x) => x.toFixed(2)).join(', ')} at the end.\n`;
  if (args.includes('--only-sse')) {
    process.stdout.write(sseSection(await sseReplay()) + loadNote());
    return;
  }
  if (args.includes('--only-throughput')) {
    process.stdout.write(throughputSection(await throughputRounds()) + loadNote());
    return;
  }
  if (args.includes('--only-restart')) {
    process.stdout.write(restartSection(await restartRounds()) + loadNote());
    return;
  }
  const started = new Date();
  log(`accept latency (${N.latency1} requests at 1 client, ${N.latency64} at 64)`);
  const latency = await acceptLatency();
  const throughputs = await throughputRounds();
  const restarts = await restartRounds();
  log(`memory: idle, then ${N.queued} queued tasks`);
  const mem = await memory();
  log(`rss idle ${mem.idle.toFixed(1)} MiB, with ${mem.queuedCount} queued ${mem.queued.toFixed(1)} MiB`);
  log(`SSE replay: 4 slow clients on a ${N.replayMiB} MiB task for ${N.replaySeconds} s, against the same daemon idle`);
  const sse = await sseReplay();
  log(`rss ${sse.idle.rss.toFixed(1)} → ${sse.busy.rss.toFixed(1)} MiB; event-loop delay max ${sse.idle.lagMax.toFixed(1)} → ${sse.busy.lagMax.toFixed(1)} ms`);
  const loadAfter = loadavg();
  log(`load average at the end: ${loadAfter.map((x) => x.toFixed(2)).join(', ')}`);
  const command = `npm run bench${quick || BEFORE || cpuProf ? ' --' : ''}${quick ? ' --quick' : ''}${cpuProf ? ' --cpu-prof' : ''}${BEFORE ? ` --before ${BEFORE.dist}` : ''}`;

  const cpu = cpus();
  const md = `# Benchmarks

Produced by \`${command}\`${quick ? ' (SMOKE RUN: small counts, not comparable)' : ''} (\`bench/run.mjs\`) on ${started.toISOString().slice(0, 10)},
at commit ${THIS_COMMIT}:
${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, Linux.
Load generator, daemon and baseline share the same ${cpu.length} cores; everything is on 127.0.0.1. The machine is
shared: load average (1, 5, 15 min) ${loadBefore.map((x) => x.toFixed(2)).join(', ')} at the start and ${loadAfter.map((x) => x.toFixed(2)).join(', ')} at the end
(other processes included), so compare ratios, not absolute times.

## Dispatch accept latency

Time from sending \`POST /api/dispatch\` (one task, bearer token, JSON body) to receiving the \`202\`, which
Tetora sends only after the task and its \`queued\` event are committed to SQLite (WAL, \`synchronous=FULL\`).
The baseline is a bare \`node:http\` server doing one SQLite insert per request with the same durability
(\`bench/bare-server.mjs\`). Keep-alive connections; ${N.warmup} warm-up requests first. Accepted tasks stay
queued (their provider holds its only slot), so the runner does not compete for the cores.
Tetora commits the requests that arrive in one turn of its event loop together (group commit: one fsync
for many clients, each answered after it); the baseline commits each request alone.

| server | clients | requests | p50 | p99 |
|---|---:|---:|---:|---:|
${latency
  .flatMap((r) => [
    `| ${r.name} | 1 | ${r.one.length} | ${ms(pct(r.one, 50))} | ${ms(pct(r.one, 99))} |`,
    `| ${r.name} | 64 | ${r.many.length} | ${ms(pct(r.many, 50))} | ${ms(pct(r.many, 99))} |`,
  ])
  .join('\n')}

${throughputSection(throughputs)}

${restartSection(restarts)}
## Daemon memory

| state | RSS |
|---|---:|
| idle, after start | ${mem.idle.toFixed(1)} MiB |
| ${mem.queuedCount.toLocaleString('en')} tasks queued (prompts of ~215 bytes) | ${mem.queued.toFixed(1)} MiB |

The store (database plus WAL) held ${mem.dbMiB.toFixed(1)} MiB at that point. Queued tasks live in SQLite, not in
the daemon's heap; the scheduler asks the store for the next candidate.

${sseSection(sse)}`;
  // Sections measured by their own scripts are kept: workflows (bench/workflows.mjs), Discord (bench/discord.mjs).
  const previous = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';
  const kept = [/<!-- workflow-bench:start -->[\s\S]*<!-- workflow-bench:end -->/, /<!-- discord-bench:begin -->[\s\S]*<!-- discord-bench:end -->/]
    .map((re) => re.exec(previous)?.[0])
    .filter(Boolean);
  writeFileSync(outPath, kept.length ? `${md.trimEnd()}\n\n${kept.join('\n\n')}\n` : md);
  log(`wrote ${outPath}`);
}

try {
  await main();
} finally {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
}
