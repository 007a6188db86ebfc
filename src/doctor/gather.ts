/** Gathers the facts `tetora doctor` judges (checks.ts): files, config, database, git, providers, agents, listen address. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { commit, installRoot, version } from '../cli/version.js';
import { seaRuntime } from '../sea/runtime.js';
import { basename, dirname, join, resolve } from 'node:path';
import { homeDir, loadConfig } from '../config/load.js';
import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import { isTetoraError, messageOf } from '../errors.js';
import { migrationStatus, openDb } from '../store/db.js';
import type { AgentFact, DbFact, DoctorFacts, FileModeFact, HomeFact, ListenFact, ProviderFact, SpoolFact, WorkflowsFact, JobsFact, DiscordTokenFact } from './checks.js';
import { loadWorkflows } from '../workflows/load.js';
import { checkLoaded } from '../workflows/service.js';
import { loadJobs } from '../schedules/jobs.js';
import { findExecutable, httpAnswers, httpStatus, modeOrNull, probeBind, runVersion } from './probe.js';
import { allowedDirsFact } from './allowed-dirs.js';

export interface GatherOptions {
  /** `--config PATH`; default `$TETORA_HOME/config.json`. */
  configPath?: string;
  env: Record<string, string | undefined>;
  /** Time allowed to `<cli> --version` and `git --version`. @default 5000 */
  versionTimeoutMs?: number;
  /** Time allowed to an HTTP endpoint to answer. @default 2500 */
  httpTimeoutMs?: number;
}

const DEFAULT_BASE_URL: Record<string, string> = { anthropic: 'https://api.anthropic.com' };

function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Providers worth checking: every one the config declares, plus the implicit `claude`/`codex` when something uses them. */
export function providersToCheck(config: ResolvedConfig): ResolvedProvider[] {
  const used = new Set<string>([config.defaultProvider, ...config.fallbackProviders]);
  for (const a of Object.values(config.agents)) {
    used.add(a.provider);
    for (const p of a.fallbackProviders) used.add(p);
  }
  return Object.values(config.providers).filter((p) => !p.implicit || used.has(p.name));
}

async function providerFact(p: ResolvedProvider, config: ResolvedConfig, opts: GatherOptions): Promise<ProviderFact> {
  if (p.type === 'anthropic' || p.type === 'openai-compatible') {
    const url = p.baseUrl ?? DEFAULT_BASE_URL[p.type] ?? '';
    return { name: p.name, type: p.type, kind: 'api', url, http: await httpAnswers(url, opts.httpTimeoutMs) };
  }
  const kind = p.type === 'command' ? 'command' : 'cli';
  const env = { ...config.env, ...p.env };
  const executable = p.path ?? (p.type === 'codex-cli' ? 'codex' : 'claude');
  const fact: ProviderFact = { name: p.name, type: p.type, kind, executable };
  const found = findExecutable(executable, env.PATH);
  if (!found) return fact;
  fact.resolved = found.path;
  if (!found.executable) {
    fact.notExecutable = true;
    return fact;
  }
  if (kind === 'cli') fact.version = await runVersion(found.path, { env, cwd: config.home, timeoutMs: opts.versionTimeoutMs });
  return fact;
}

/** One fact per agent; its provider is looked up as an own key of config.providers ("constructor" is none). */
export function agentFacts(config: ResolvedConfig): AgentFact[] {
  return Object.values(config.agents).map((a) => {
    const soulFile = a.soulFile ?? join(config.home, 'agents', a.name, 'SOUL.md');
    return {
      name: a.name,
      provider: a.provider,
      providerExists: Object.hasOwn(config.providers, a.provider),
      soulFile,
      soulExists: existsSync(soulFile),
      soulConfigured: a.soulFile !== undefined,
    };
  });
}

async function listenFact(config: ResolvedConfig, opts: GatherOptions): Promise<ListenFact> {
  const { listenAddr: addr, listenHost: host, listenPort: port } = config;
  const fact: ListenFact = { addr, host, port, hasToken: Boolean(config.apiToken), bind: await probeBind(host, port) };
  if (fact.bind === 'in-use') {
    const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
    const r = await httpStatus(`http://${target.includes(':') ? `[${target}]` : target}:${port}/healthz`, opts.httpTimeoutMs);
    if ('error' in r) fact.healthz = { ok: false, error: r.error };
    else if (r.status >= 200 && r.status < 300) fact.healthz = { ok: true, output: `GET /healthz: HTTP ${r.status}` };
    else fact.healthz = { ok: false, error: `HTTP ${r.status}` };
  }
  return fact;
}

function dbFact(path: string): DbFact {
  try {
    const db = openDb(path);
    try {
      const { current, latest } = migrationStatus(db);
      return { ok: true, path, current, latest };
    } finally {
      db.close();
    }
  } catch (err) {
    const fact: DbFact = { ok: false, path, error: messageOf(err) };
    if (isTetoraError(err)) fact.code = err.code;
    return fact;
  }
}

function homeFact(path: string): HomeFact {
  const mode = modeOrNull(path);
  if (mode === null) return { path, mode };
  let isDir = true;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // Vanished between the two looks: judge it by the mode alone.
  }
  return isDir ? { path, mode } : { path, mode, isDir };
}

/** The workflow folder checked against the config (a file that cannot be read is reported, never thrown). */
export function workflowsFact(config: ResolvedConfig): WorkflowsFact {
  const all = loadWorkflows(config.workflowDir);
  const fact: WorkflowsFact = { dir: config.workflowDir, valid: 0, invalid: [], fileErrors: all.errors.map((e) => e.message) };
  for (const w of all.workflows.values()) {
    const c = checkLoaded(w, config);
    const first = c.errors[0];
    if (first) fact.invalid.push({ name: w.def.name, file: w.file, errors: c.errors.length, first: `${first.path}: ${first.message}` });
    else fact.valid++;
  }
  return fact;
}

/** Collect every fact. Opening the database creates it and applies pending migrations, as the daemon would. */
export async function gatherFacts(opts: GatherOptions): Promise<{ facts: DoctorFacts; config?: ResolvedConfig }> {
  const configPath = resolve(opts.configPath ?? join(homeDir(opts.env), 'config.json'));
  const home = dirname(configPath);
  const git = runVersion('git', { env: definedEnv(opts.env), timeoutMs: opts.versionTimeoutMs });

  let config: ResolvedConfig | undefined;
  let configFact: DoctorFacts['config'];
  try {
    const loaded = loadConfig({ configPath, env: opts.env });
    config = loaded.config;
    configFact = { ok: true, path: configPath, warnings: loaded.warnings };
  } catch (err) {
    configFact = { ok: false, path: configPath, error: messageOf(err) };
  }

  const facts: DoctorFacts = {
    nodeVersion: process.versions.node,
    home: homeFact(home),
    files: [],
    config: configFact,
    git: { ok: false, error: 'not probed' },
    providers: [],
    agents: [],
    build: buildFact(),
  };
  if (config) {
    facts.db = dbFact(config.dbPath);
    facts.spool = spoolFact(join(config.home, 'runtime', 'runs'));
    const [providers, listen] = await Promise.all([
      Promise.all(providersToCheck(config).map((p) => providerFact(p, config, opts))),
      listenFact(config, opts),
    ]);
    facts.providers = providers;
    facts.agents = agentFacts(config);
    facts.listen = listen;
    facts.workflows = workflowsFact(config);
    facts.jobs = jobsFact(config);
    const allowed = allowedDirsFact(config);
    if (allowed) facts.allowedDirs = allowed;
    if (config.discord?.enabled) facts.discord = await discordTokenFact(config.discord.apiBaseUrl, config.discord.botToken);
  }
  const localPath = join(home, `${basename(configPath, '.json')}.local.json`);
  const privateFiles = [configPath, localPath, join(home, '.env')];
  if (config) privateFiles.push(config.dbPath);
  for (const path of privateFiles) {
    const mode = modeOrNull(path);
    if (mode !== null) facts.files.push({ path, mode } satisfies FileModeFact);
  }
  facts.git = await git;
  return config ? { facts, config } : { facts };
}

/** Count the run folders (`<taskId>/<run>`) and bytes under the spool root; a missing root is empty. */
export function spoolFact(root: string): SpoolFact {
  if (!existsSync(root)) return { path: root, runs: 0, bytes: 0 };
  try {
    let runs = 0;
    let bytes = 0;
    for (const task of readdirSync(root, { withFileTypes: true })) {
      if (!task.isDirectory()) continue;
      for (const run of readdirSync(join(root, task.name), { withFileTypes: true })) {
        if (!run.isDirectory()) continue;
        runs++;
        for (const f of readdirSync(join(root, task.name, run.name), { withFileTypes: true })) {
          if (f.isFile()) bytes += statSync(join(root, task.name, run.name, f.name)).size;
        }
      }
    }
    return { path: root, runs, bytes };
  } catch (err) {
    return { path: root, error: messageOf(err) };
  }
}

/** The jobs file as the daemon would load it. */
export function jobsFact(config: ResolvedConfig): JobsFact {
  try {
    const j = loadJobs(config);
    return { ok: true, path: j.path, jobs: j.jobs.length, missing: j.missing, warnings: j.warnings };
  } catch (err) {
    return { ok: false, path: config.jobsFile, error: messageOf(err) };
  }
}

/** Ask Discord who the bot token belongs to (`GET {apiBaseUrl}/v10/users/@me`, 5 s). */
export async function discordTokenFact(apiBaseUrl: string, token: string): Promise<DiscordTokenFact> {
  if (!token) return { apiBaseUrl, empty: true };
  try {
    const res = await fetch(`${apiBaseUrl}/v10/users/@me`, { headers: { authorization: `Bot ${token}` }, signal: AbortSignal.timeout(5000) });
    const body = (await res.json().catch(() => ({}))) as { id?: unknown; username?: unknown; message?: unknown };
    const out: DiscordTokenFact = { apiBaseUrl, status: res.status };
    if (res.status === 200 && typeof body.id === 'string') out.user = { id: body.id, username: String(body.username ?? '') };
    if (typeof body.message === 'string') out.message = body.message;
    return out;
  } catch (err) {
    return { apiBaseUrl, error: messageOf(err) };
  }
}

/** This Tetora's version and commit, and the executable or package folder it runs from. */
function buildFact(): NonNullable<DoctorFacts['build']> {
  const sea = seaRuntime();
  return { version: version(), commit: commit(), path: sea ? process.execPath : installRoot(), ...(sea ? { singleExecutable: sea.target } : {}) };
}
