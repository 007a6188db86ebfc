import pino, { type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { listenFlag } from '../config/listen.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { Engine, lockHome } from '../engine/engine.js';
import type { WorkspaceManager } from '../engine/workspace.js';
import type { DaemonWorkspaces } from './workspaces.js';
import { ExitCode, TetoraError, messageOf } from '../errors.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../http/app.js';
import type { Metrics } from '../http/metrics.js';
import { sseLimitsFromEnv } from '../http/sse.js';
import { ProviderRegistry } from '../providers/registry.js';
import { WorkflowRunner } from '../workflows/runner.js';
import { clockFromEnv } from '../schedules/clock.js';
import { ScheduleService } from '../schedules/service.js';
import type { WorkflowEvent, WorkflowEventSource, WorkflowStartMeta, WorkflowStarter } from '../schedules/types.js';
import { discordStatus, startDiscordLazily } from '../channels/discord/bot.js';
import type { DiscordHandle } from '../channels/discord/index.js';
import { createDiscordDelivery, registerDiscordMetrics } from '../channels/discord/delivery.js';
import { discordNotifier } from '../channels/discord/notify.js';
import { BoardService } from '../board/service.js';
import { spawn } from 'node:child_process';
import { openLogFile } from '../ops/logfile.js';
import { startRetention, type RetentionDuty } from '../ops/retention.js';

export interface ServeOptions {
  configPath?: string;
  logFormat?: 'pretty' | 'json';
  /** Overrides listenAddr (host:port). */
  listen?: string;
  version: string;
  /** The commit it was built from ('' when unknown). */
  commit?: string;
  /** Builds the worktree manager for the engine (none: tasks run in plain folders). */
  workspaces?(config: ResolvedConfig, log: Pino): (WorkspaceManager & { close?(): Promise<void> }) | undefined;
  /**
   * The workflow runner the triggers start runs with (`starter`) and whose events event triggers follow
   * (`events`); called once the engine runs. None: trigger firings are recorded as failed
   * (TET_ERR_WORKFLOWS_UNAVAILABLE); cron jobs work without it.
   */
  workflows?(engine: Engine, log: Pino): { starter?: WorkflowStarter; events?: WorkflowEventSource } | undefined;
}

type DaemonState = 'starting' | 'running' | 'draining' | 'stopped';

/** Loopback only: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Listening beyond loopback needs an apiToken — at start, and at every reload (a reload that drops the
 * token would open the API to the network). Returns the refusal, or undefined when it is safe.
 */
export function unsafeWithout(listenHost: string, listenAddr: string, config: Pick<ResolvedConfig, 'apiToken' | 'configPath'>): TetoraError | undefined {
  if (isLoopback(listenHost) || config.apiToken) return undefined;
  return new TetoraError(
    'TET_ERR_LISTEN_UNSAFE',
    `refusing to serve ${listenAddr} (beyond loopback) without an apiToken: set "apiToken" in ${config.configPath} (e.g. "$TETORA_API_TOKEN") or listen on 127.0.0.1.`,
  );
}

/**
 * Process warnings (deprecations, listener limits) go through the logger instead of Node's plain-text
 * printer, so every line of a JSON log is JSON. Returns the undo.
 */
export function routeWarnings(log: Pick<Pino, 'warn'>): () => void {
  const before = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (w: Error & { code?: string }) => log.warn({ warning: w.name, code: w.code, stack: w.stack }, w.message);
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const l of before) process.on('warning', l);
  };
}

/** What the OS said when listening failed, and what to do about it. Pure. */
export function listenFailure(addr: string, err: unknown): TetoraError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'EADDRINUSE'
      ? 'the address is in use by another process (perhaps another Tetora daemon: check with `tetora status`); stop it or choose another port'
      : code === 'EADDRNOTAVAIL'
        ? 'the address is not on this machine (no network interface has it); listen on 127.0.0.1, 0.0.0.0 or an address of this host'
        : code === 'EACCES' || code === 'EPERM'
          ? 'this user may not listen on that port (ports below 1024 are privileged); choose a port of 1024 or more'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? 'the host name does not resolve; use an IP address or a name in /etc/hosts'
            : 'see the system error above';
  return new TetoraError('TET_ERR_LISTEN_FAILED', `cannot listen on ${addr}: ${messageOf(err)} — ${why}. Change listenAddr in the config or pass --listen host:port.`, { listenAddr: addr, ...(code ? { osCode: code } : {}) }, { cause: err });
}

export function makeLogger(format: 'pretty' | 'json' | undefined, file?: NodeJS.WritableStream): Pino {
  const usePretty = format === 'pretty' || (format === undefined && process.stderr.isTTY);
  const level = (process.env.TETORA_LOG_LEVEL ?? 'info') as pino.Level;
  const console = usePretty ? pretty({ colorize: true, destination: 2, sync: true, ignore: 'pid,hostname' }) : pino.destination({ dest: 2, sync: true });
  // The log file (see src/ops/logfile.ts) always gets JSON lines, whatever stderr gets.
  if (file) return pino({ level }, pino.multistream([{ level, stream: console }, { level, stream: file }]));
  return pino({ level }, console);
}

/** `tetora serve`: runs until drained or stopped; resolves to the exit code. */
export async function serve(opts: ServeOptions): Promise<number> {
  const load = () => loadConfig(opts.configPath ? { configPath: opts.configPath } : {});
  const first = load();
  const logFile = first.config.logFile.enabled ? openLogFile(first.config.logFile) : undefined;
  const log = makeLogger(opts.logFormat, logFile?.stream);
  let config = first.config;
  for (const w of first.warnings) log.warn(w);
  if (opts.listen) {
    const l = listenFlag(opts.listen);
    config = { ...config, listenAddr: l.addr, listenHost: l.host, listenPort: l.port };
  }
  const unsafe = unsafeWithout(config.listenHost, config.listenAddr, config);
  if (unsafe) throw unsafe;
  const sseLimits = sseLimitsFromEnv(process.env.TETORA_SSE_LIMITS);
  const unrouteWarnings = routeWarnings(log);

  let state: DaemonState = 'starting';
  const setState = (s: DaemonState) => {
    state = s;
    log.info({ state: s }, 'daemon state changed');
  };
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  // Signals are handled from the first moment: during boot (reconcile can take seconds) a SIGHUP or
  // SIGTERM is remembered and acted on once the daemon runs, instead of killing it.
  let pendingDrain: string | undefined;
  let pendingReload = false;
  const onTerm = (sig: NodeJS.Signals) => {
    if (state === 'starting') {
      pendingDrain = sig;
      log.info({ signal: sig }, 'signal during start: draining as soon as the daemon runs');
    } else if (state === 'draining') {
      log.warn({ signal: sig }, 'second signal: interrupting running tasks now');
      void stopNow();
    } else void drain(sig);
  };
  const onHup = () => {
    if (state === 'starting') {
      pendingReload = true;
      log.info('SIGHUP during start: reloading the config as soon as the daemon runs');
    } else reload();
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);
  log.info({ config: config.configPath, db: config.dbPath }, 'daemon starting: recovering what an earlier run left');
  const offSignals = () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
  };

  // Aborted when the daemon closes: SSE streams and ?wait answers end, so the HTTP server can close.
  const shutdown = new AbortController();
  // One daemon per store, decided before anything opens the database (the worktree manager has a
  // connection of its own): a second daemon must not migrate it or start pruning.
  const homeLock = lockHome(config.dbPath);
  let workspaces: ReturnType<NonNullable<ServeOptions['workspaces']>>;
  try {
    workspaces = opts.workspaces?.(config, log);
  } catch (err) {
    homeLock?.release();
    throw err;
  }
  let app: FastifyInstance | undefined;
  let boundPort = config.listenPort;
  let metrics: Metrics | undefined;
  let schedules: ScheduleService | undefined;
  let discord: DiscordHandle | undefined;
  let retention: RetentionDuty | undefined;
  const engine = new Engine({
    config,
    providers: new ProviderRegistry(config),
    log,
    ...(homeLock ? { homeLock } : {}),
    ...(workspaces ? { workspaces } : {}),
    // Every run has ended: close the HTTP side before the store closes, so nothing reads a closed store.
    beforeClose: async () => {
      await retention?.stop();
      await discordOut.stop();
      shutdown.abort();
      metrics?.close();
      await app?.close();
      await workspaces?.close?.();
    },
  });

  // The workflow runner's terminal hook must be in place before the engine starts (boot recovery may end tasks).
  const workflows = new WorkflowRunner({ engine, config: () => config, log, instanceId: engine.instanceId, ...(workspaces ? { workspaces } : {}) });
  // The board's terminal hook, too (a ticket follows its task also when the reconciler ends it); its scan starts after the engine.
  const board = new BoardService({ engine, config: () => config, log });
  // Discord replies: the terminal hook before the engine starts (the boot reconciler may end tasks), delivery after.
  // Always made (its hook only acts on Discord tasks), so a bot enabled later by SIGHUP loses no reply;
  // delivery starts once Discord is enabled (at start or at a reload) and then keeps draining the outbox.
  const discordOut = createDiscordDelivery(engine, { config: () => config.discord, log });
  let delivering = false;
  const decideGate = (runId: string, stepId: string, kind: 'approve' | 'reject', by: string) => void workflows.decide(runId, stepId, { kind, by });
  // Workflow notify steps and human gates to `discord:<channelId>` go through the same outbox while the bot is enabled.
  const notifier = discordNotifier(discordOut.store, (ch) => discordOut.wake(ch));
  const followDiscord = () => {
    workflows.useNotifier(config.discord?.enabled ? notifier : undefined);
    if (config.discord?.enabled && !delivering) {
      delivering = true;
      discordOut.start();
    }
  };

  // A second signal: interrupt the runs now. Open ?wait clients still get their 202 with the tasks'
  // states and SSE streams end cleanly (both answer the shutdown signal); only idle keep-alive
  // connections are cut, and app.close() (before the store closes) waits for the answers in flight.
  const stopNow = async () => {
    shutdown.abort();
    await schedules?.stop().catch((err: unknown) => log.error({ err: messageOf(err) }, 'stopping the schedules failed'));
    await board.stop().catch(() => {});
    await discord?.stop().catch(() => {});
    app?.server.closeIdleConnections();
    workflows.stop();
    await engine.stop();
  };

  /**
   * Drain, whatever the store says: a store that refuses writes (a full disk, a read-only or failing disk)
   * cannot stop the drain. Exit 0 when everything was recorded; 75 (EX_TEMPFAIL) when the store refused
   * writes to the end: what it refused is recorded at the next start (runs' results from their spools).
   */
  const drain = async (why: string) => {
    if (state === 'draining' || state === 'stopped') return;
    setState('draining');
    let counts: { running?: number; queued?: number } = {};
    try {
      const stats = engine.stats();
      counts = { running: stats.running, queued: stats.queued };
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'cannot read the task counts from the store; draining anyway');
    }
    log.info({ why, ...counts, drainTimeoutMs: config.drainTimeoutMs }, 'draining: no new tasks; running tasks get drainTimeout to finish');
    workflows.stop();
    // Schedules stop before the engine: no firing is attempted into an engine that refuses work.
    await schedules?.stop().catch((err: unknown) => log.error({ err: messageOf(err) }, 'stopping the schedules failed'));
    await board.stop().catch((err: unknown) => log.error({ err: messageOf(err) }, 'stopping the board scan failed'));
    // No new Discord messages while draining: what arrives meanwhile is caught up at the next start.
    await discord?.stop().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'stopping the Discord gateway failed'));
    try {
      await engine.drain(config.drainTimeoutMs);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'drain failed');
    }
    const store = engine.storeHealth();
    setState('stopped');
    if (!store.ok) {
      log.error({ code: store.code, reason: store.reason, fix: store.fix }, 'stopped while the store refused writes; what it refused is recorded at the next start');
      resolveDone(ExitCode.tempFail);
    } else resolveDone(0);
  };

  /**
   * An upgrade's restart (`POST /api/admin/restart`, `tetora upgrade`): the same program path, now holding
   * the new version, takes over. With `drain`, running tasks first finish (a drain, up to drainTimeout);
   * otherwise they are handed over: this daemon stops taking work, closes its HTTP side, lets go of the runs
   * without stopping them and exits, and its successor adopts them. Under a service manager (systemd's
   * INVOCATION_ID, TETORA_SUPERVISED=1) the manager starts the successor: this daemon exits 75 for it;
   * otherwise it starts the successor itself (same arguments, environment, folder and output, on the
   * address it listens on) right before it exits.
   */
  const restart = async (mode: 'handover' | 'drain') => {
    if (state !== 'running') return;
    const supervised = supervisedRestart(process.env);
    log.info({ mode, supervised }, 'restarting on the installed version');
    if (mode === 'drain') {
      await drain('restart');
    } else {
      setState('draining');
      workflows.stop();
      await schedules?.stop().catch((err: unknown) => log.error({ err: messageOf(err) }, 'stopping the schedules failed'));
      await discord?.stop().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'stopping the Discord gateway failed'));
      engine.pauseForHandover();
      await discordOut.stop().catch(() => {});
      shutdown.abort();
      metrics?.close();
      await app?.close().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'closing the HTTP server failed'));
      // From here on nothing awaits: the store closes and the process exits in this one turn, so no
      // follower of a run sees the closed store (it would take that for a failure and stop the run).
      engine.handOver();
    }
    offSignals();
    if (supervised) process.exit(ExitCode.tempFail);
    try {
      startSuccessor(config.listenHost, boundPort);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'cannot start the new daemon; start `tetora serve` again (running agents are adopted by it)');
      process.exit(ExitCode.tempFail);
    }
    process.exit(0);
  };

  const reload = () => {
    try {
      const next = load();
      const unsafe = unsafeWithout(config.listenHost, config.listenAddr, next.config);
      if (unsafe) throw unsafe;
      for (const w of next.warnings) log.warn(w);
      if (next.config.listenAddr !== config.listenAddr && !opts.listen) log.warn({ listenAddr: next.config.listenAddr }, 'listenAddr changed: it takes effect at the next restart');
      const before = { maxConcurrent: config.maxConcurrent, agents: Object.keys(config.agents).length };
      config = { ...next.config, listenAddr: config.listenAddr, listenHost: config.listenHost, listenPort: config.listenPort };
      engine.reload(config);
      void schedules?.reload(config).catch((err: unknown) => log.error({ err: messageOf(err) }, 'reloading the schedules failed'));
      board.reload();
      reloadDiscord();
      followDiscord();
      log.info({ before, after: { maxConcurrent: config.maxConcurrent, agents: Object.keys(config.agents).length } }, 'config reloaded');
    } catch (err) {
      log.error({ err: messageOf(err) }, 'config reload refused; the old config stays');
    }
  };

  /** Discord follows the reloaded config: started, reloaded (no reconnect unless the token changed) or stopped. */
  const reloadDiscord = () => {
    if (config.discord?.enabled && discord) discord.reload(config);
    else if (config.discord?.enabled) discord = startDiscordLazily({ engine, config, log, ...(metrics ? { registry: metrics.registry } : {}), onOutbox: (ch: string) => discordOut.wake(ch), decideGate });
    else if (discord) {
      const d = discord;
      discord = undefined;
      void d.stop();
    }
  };

  try {
    const report = await engine.start();
    // The daily cleanup of finished tasks' events, outputs and runs (once across daemons: a leased duty).
    retention = startRetention({ engine, config: () => config, log });
    // Delivery (and the workflow notifier) after the engine started; reloads call this again.
    followDiscord();
    if (report.interrupted.length || report.requeued.length || report.failed.length) {
      log.warn({ interrupted: report.interrupted.length, requeued: report.requeued.length, failed: report.failed.length, killedGroups: report.killedGroups.length }, 'recovered tasks left by the previous run');
    }
    await workflows.boot();
    // Schedules start after the engine (their firings make tasks) and stop before it (see drain).
    const wf = opts.workflows?.(engine, log) ?? {
      starter: { start: (name: string, vars: Record<string, string>, meta: WorkflowStartMeta) => workflows.start(name, vars, { source: meta.source, ...(meta.trigger ? { trigger: { ...meta.trigger } } : {}) }) },
      events: { subscribe: (fn: (e: WorkflowEvent) => void) => workflows.subscribe((e) => fn({ ...e })) },
    };
    schedules = new ScheduleService({
      engine,
      config,
      log,
      clock: clockFromEnv(process.env),
      ...(wf?.starter ? { starter: wf.starter } : {}),
      ...(wf?.events ? { events: wf.events } : {}),
    });
    await schedules.start();
    board.start();
    ({ app, metrics } = buildApp({
      engine,
      version: opts.version,
      ...(opts.commit ? { commit: opts.commit } : {}),
      apiToken: () => config.apiToken,
      draining: () => state !== 'running',
      requestDrain: () => void drain('api'),
      requestRestart: (mode: 'handover' | 'drain') => {
        void restart(mode);
        return { restart: supervisedRestart(process.env) ? 'manager' : 'self' };
      },
      shutdown: shutdown.signal,
      log,
      sse: sseLimits,
      workflows,
      schedules,
      discord: () => discordStatus(engine, config, discord),
      discordWake: (ch: string) => discordOut.wake(ch),
      board,
      // The dashboard's built files: dist/dashboard/ (or the executable's assets) unless TETORA_DASHBOARD_DIR names another folder.
      ...(process.env.TETORA_DASHBOARD_DIR ? { dashboardDir: process.env.TETORA_DASHBOARD_DIR } : {}),
      // The dashboard's worktree page prunes through the daemon's own manager (its per-repository queue).
      ...(workspaces && 'manager' in workspaces ? { worktrees: (workspaces as DaemonWorkspaces).manager } : {}),
      ...(config.maxRequestBytes ? { bodyLimit: config.maxRequestBytes } : {}),
    }));
    registerDiscordMetrics(metrics.registry, discordOut);
    try {
      await app.listen({ host: config.listenHost, port: config.listenPort });
    } catch (err) {
      throw listenFailure(config.listenAddr, err);
    }
  } catch (err) {
    offSignals();
    unrouteWarnings();
    workflows.stop();
    await schedules?.stop().catch(() => {});
    await board.stop().catch(() => {});
    await engine.stop().catch(() => {});
    await logFile?.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listenPort;
  boundPort = port;
  setState('running');
  log.info({ url: `http://${config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost}:${port}`, instance: engine.instanceId, config: config.configPath, db: config.dbPath }, 'tetora listening');
  // A line for scripts and tests that start the daemon on port 0.
  if (process.env.TETORA_ANNOUNCE === '1') process.stdout.write(`LISTENING ${port}\n`);
  if (config.discord?.enabled) discord = startDiscordLazily({ engine, config, log, registry: metrics.registry, onOutbox: (ch: string) => discordOut.wake(ch), decideGate });
  if (pendingReload) reload();
  if (pendingDrain) void drain(pendingDrain);

  const code = await done;
  offSignals();
  unrouteWarnings();
  await logFile?.close();
  return code;
}

/** Whether a service manager restarts this daemon (systemd sets INVOCATION_ID; TETORA_SUPERVISED=1 says so). */
export function supervisedRestart(env: NodeJS.ProcessEnv): boolean {
  return env.TETORA_SUPERVISED === '1' || (env.INVOCATION_ID !== undefined && env.TETORA_SUPERVISED !== '0');
}

/**
 * The command line that runs this program again with `args`: the single executable is its own program
 * (process.argv[1] repeats its path); on Node, node's flags and the script come first.
 */
export function selfCommand(args: string[], proc: { execPath: string; execArgv: string[]; argv: string[]; sea: boolean }): { file: string; args: string[] } {
  if (proc.sea) return { file: proc.execPath, args };
  return { file: proc.execPath, args: [...proc.execArgv, proc.argv[1] as string, ...args] };
}

/** This daemon's arguments with `--listen` pinned to the address it listens on (a successor keeps it). */
export function successorArgs(argv: string[], listen: string): string[] {
  return [...argv, '--listen', listen];
}

/** Starts the next daemon: the same program path (now the new version), arguments, environment, folder and output. */
function startSuccessor(host: string, port: number): void {
  const listen = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const cmd = selfCommand(successorArgs(process.argv.slice(2), listen), { execPath: process.execPath, execArgv: process.execArgv, argv: process.argv, sea: globalThis.__tetoraSea !== undefined });
  const child = spawn(cmd.file, cmd.args, { detached: true, stdio: 'inherit', env: process.env, cwd: process.cwd() });
  child.unref();
}
