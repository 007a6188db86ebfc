import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TetoraError } from '../errors.js';
import { deepMerge, isPlainObject, parseDotEnv, unknownKeys, valueAt } from './merge.js';
import { DEFAULT_LISTEN, parseListen } from './listen.js';
import { configSchema, legacyProviderTypes, type RawConfig } from './schema.js';
import type { DiscordConfig, LoadResult, ResolvedAgent, ResolvedConfig, ResolvedProvider, ResolvedSkill } from './types.js';
import { resolvePath } from '../util/fsx.js';
import { compileTriggers } from '../schedules/triggers.js';
import { resolveSmartDispatch } from '../routing/config.js';
import { DEFAULT_PROMPT_LIMITS, resolveTaskBoard } from './board.js';

export interface LoadOptions {
  /** `--config PATH`; default `$TETORA_HOME/config.json`. */
  configPath?: string;
  /** The process environment (not modified). */
  env?: Record<string, string | undefined>;
}

// Defined in listen.ts (no zod) so the CLI can name it in `tetora init --help` without loading the schema.
export { DEFAULT_LISTEN };

/** `$TETORA_HOME`, default `~/.tetora`. */
export function homeDir(env: Record<string, string | undefined> = process.env): string {
  const h = env.TETORA_HOME;
  return h && h.length > 0 ? resolvePath(h, process.cwd()) : join(homedir(), '.tetora');
}

export function defaultConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(homeDir(env), 'config.json');
}

/**
 * Number literals of a JSON text too large for a double (1e400), which JSON.parse reads as Infinity: they
 * are kept so that a message can quote the value as written.
 */
function overflowingNumbers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
    const token = m[0];
    if (!token.startsWith('"') && !Number.isFinite(Number(token))) out.push(token);
  }
  return out;
}

function readJson(path: string, what: string, overflow: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new TetoraError(
        'TET_ERR_CONFIG_NOT_FOUND',
        `${what} not found at ${path}. Run \`tetora init\` to write a starter config, or pass --config PATH.`,
        { path },
      );
    }
    throw new TetoraError('TET_ERR_CONFIG_PARSE', `cannot read ${what} ${path}: ${(err as Error).message}. Make it a readable file (\`tetora doctor\` checks the modes), or pass --config PATH.`, { path });
  }
  try {
    const doc: unknown = JSON.parse(text);
    overflow.push(...overflowingNumbers(text));
    return doc;
  } catch (err) {
    throw new TetoraError('TET_ERR_CONFIG_PARSE', `${what} ${path} is not valid JSON: ${(err as Error).message}. Fix the syntax and run \`tetora config validate\`.`, { path });
  }
}

/** Secret fields: the whole value may be `$VAR` or `${VAR}`. */
const SECRET_PATHS: ReadonlyArray<ReadonlyArray<string>> = [
  ['apiToken'],
  ['discord', 'botToken'],
  ['providers', '*', 'apiKey'],
  ['providers', '*', 'env', '*'],
  ['workflowTriggers', '*', 'secret'],
];

/**
 * `fileOf(path)`: the file a value at that path came from (config.json or config.local.json); `dotEnv`: the
 * variables of `.env`, to say where an empty value came from.
 */
function resolveSecrets(
  doc: Record<string, unknown>,
  env: Record<string, string>,
  dotEnv: Record<string, string>,
  fileOf: (path: string[]) => string,
): void {
  const visit = (value: unknown, pattern: ReadonlyArray<string>, path: string[]): void => {
    // A list (workflowTriggers) is walked by index under '*', as a map is by name.
    if (!isPlainObject(value) && !(Array.isArray(value) && pattern[0] === '*')) return;
    const node = value as Record<string, unknown>;
    const [head, ...rest] = pattern;
    const keys = head === '*' ? Object.keys(node) : head !== undefined && Object.hasOwn(node, head) ? [head] : [];
    for (const key of keys) {
      if (rest.length > 0) {
        visit(node[key], rest, [...path, key]);
        continue;
      }
      const value = node[key];
      if (typeof value !== 'string') continue;
      const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(value);
      if (!m) continue;
      const name = (m[1] ?? m[2]) as string;
      const resolved = Object.hasOwn(env, name) ? env[name] : undefined;
      if (resolved === undefined || resolved === '') {
        const field = [...path, key].join('.');
        const file = fileOf([...path, key]);
        const dotEnvPath = join(dirname(file), '.env');
        let problem: string;
        if (resolved === undefined) problem = `which is not set. Set ${name} in the environment or in ${dotEnvPath}.`;
        else if (Object.hasOwn(dotEnv, name) && dotEnv[name] !== '') {
          problem = `which is set but empty in the environment; the environment takes precedence over ${dotEnvPath}, so its value there is not used. Unset ${name} (or set it to the secret) in the environment.`;
        } else problem = `which is set but empty. Set ${name} to the secret in the environment or in ${dotEnvPath}.`;
        throw new TetoraError(
          'TET_ERR_CONFIG_SECRET_UNSET',
          `config ${file}: ${field} refers to environment variable ${name}, ${problem}`,
          { path: field, variable: name, file, empty: resolved === '' },
        );
      }
      node[key] = resolved;
    }
  };
  for (const pattern of SECRET_PATHS) visit(doc, pattern, []);
}

/** The variables of the `.env` file beside the config; none when it does not exist. */
function readDotEnv(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    const what =
      code === 'EISDIR'
        ? 'it is a directory, not a file. Remove or rename that directory, or replace it by a file of KEY=VALUE lines'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied. Make it readable by the user running tetora (for example `chmod 600` it as that user), or remove it'
          : `${(err as Error).message}. Make it a readable file of KEY=VALUE lines, or remove it`;
    throw new TetoraError('TET_ERR_CONFIG_PARSE', `cannot read the .env file ${path} (beside the config): ${what}.`, { path, errno: code });
  }
  return parseDotEnv(text);
}

/**
 * A config document with the legacy key `roles` renamed to `agents`. When the document has both, their
 * agents are merged, `agents` winning for an agent both name (as before the rename).
 */
function renameRoles(doc: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(doc, 'roles')) return doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (k !== 'roles' && k !== 'agents') out[k] = v;
  const agents = Object.hasOwn(doc, 'agents') ? doc.agents : undefined;
  out.agents = agents === undefined || agents === null ? doc.roles : deepMerge(doc.roles, agents);
  return out;
}

/** `path` (of a document whose `roles` were renamed to `agents`) as the original document `raw` spells it. */
function spellAgents(raw: Record<string, unknown>, path: ReadonlyArray<string>): string[] {
  if (path[0] !== 'agents' || !Object.hasOwn(raw, 'roles')) return [...path];
  const rest = path.slice(1);
  const roles = ['roles', ...rest];
  const hasAgents = Object.hasOwn(raw, 'agents') && raw.agents !== null && raw.agents !== undefined;
  // The deepest part of the path that the file writes under either key names it; `agents` wins a tie, as it
  // wins the merge.
  for (let n = rest.length; n >= 1; n--) {
    const sub = rest.slice(0, n);
    if (hasAgents && valueAt(raw.agents, sub) !== undefined) return [...path];
    if (valueAt(raw.roles, sub) !== undefined) return roles;
  }
  return hasAgents ? [...path] : roles;
}

/** Remove object keys whose value is null, at any depth (array elements are left as they are). */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (isPlainObject(x) ? dropNulls(x) : x));
  if (!isPlainObject(v)) return v;
  for (const [k, x] of Object.entries(v)) {
    if (x === null) delete v[k];
    else dropNulls(x);
  }
  return v;
}

/** `literal`: the text the file wrote for `v`, when `v` is a number JSON.parse could not represent. */
function describe(v: unknown, literal?: string): string {
  if (v === undefined) return 'nothing (missing)';
  // JSON.parse reads a number too large for a double (1e400) as Infinity, which JSON.stringify writes as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return `${literal ?? String(v)} (a number too large to represent)`;
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Words for zod's type names in "expected …". */
const TYPE_NAMES: Record<string, string> = {
  array: 'an array (a JSON list)',
  record: 'an object (a JSON map of names to settings)',
  object: 'an object',
  boolean: 'true or false',
  string: 'a string',
  number: 'a number',
};

function invalid(file: string, path: string, value: unknown, expected: string, literal?: string): TetoraError {
  return new TetoraError(
    'TET_ERR_CONFIG_INVALID',
    `config ${file}: ${path} is ${describe(value, literal)}, expected ${expected}. Fix it and run \`tetora config validate\`.`,
    { file, path, value, expected },
  );
}

/**
 * Load and compile a config. A pure function of the files it reads and the `env` it is given: it never
 * writes, never changes process.env, and can be called again to reload on SIGHUP.
 */
export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const procEnv = opts.env ?? process.env;
  const file = resolve(opts.configPath ?? defaultConfigPath(procEnv));
  const dir = dirname(file);
  const warnings: string[] = [];

  /** Number literals too large to represent, as the files write them (see overflowingNumbers). */
  const overflow: string[] = [];
  const mainRaw = readJson(file, 'config file', overflow);
  if (!isPlainObject(mainRaw)) throw invalid(file, '(top level)', mainRaw, 'a JSON object');
  const localPath = join(dir, `${basename(file, '.json')}.local.json`);
  let localRaw: Record<string, unknown> | undefined;
  if (existsSync(localPath)) {
    const localDoc = readJson(localPath, 'local config file', overflow);
    if (!isPlainObject(localDoc)) throw invalid(localPath, '(top level)', localDoc, 'a JSON object');
    localRaw = localDoc;
  }
  // Legacy key `roles` is the original's name for `agents`. It is renamed in each file before the two are
  // merged, so that config.local.json overrides an agent whichever of the two keys either file uses.
  const main = renameRoles(mainRaw);
  const local = localRaw === undefined ? undefined : renameRoles(localRaw);
  const doc = local === undefined ? main : (deepMerge(main, local) as Record<string, unknown>);
  // JSON null means "not set", as it does for the original (Go leaves a field alone on null): the key is
  // dropped, so the default applies. A null in config.local.json thus removes a key of config.json.
  const merged = dropNulls(structuredClone(doc)) as Record<string, unknown>;

  /** The file a value at this path of the merged document came from: the one holding its deepest part. */
  const fileOf = (path: ReadonlyArray<string>): string => {
    if (local === undefined) return file;
    for (let n = path.length; n >= 1; n--) {
      const sub = path.slice(0, n);
      if (valueAt(local, sub) !== undefined) return localPath;
      if (valueAt(main, sub) !== undefined) return file;
    }
    return file;
  };
  /** A path of the merged document as that file spells it (`roles` or `agents`). */
  const inFile = (path: ReadonlyArray<string>): string => {
    const raw = fileOf(path) === localPath && localRaw !== undefined ? localRaw : mainRaw;
    return spellAgents(raw, path).join('.');
  };

  const env: Record<string, string> = {};
  const envPath = join(dir, '.env');
  const dotEnv = readDotEnv(envPath);
  Object.assign(env, dotEnv);
  for (const [k, v] of Object.entries(procEnv)) if (v !== undefined) env[k] = v;

  resolveSecrets(merged, env, dotEnv, fileOf);

  // Provider types of the original that we run as the CLI they drive, with a warning each.
  if (isPlainObject(merged.providers)) {
    for (const [name, p] of Object.entries(merged.providers)) {
      if (!isPlainObject(p) || typeof p.type !== 'string') continue;
      const as = Object.hasOwn(legacyProviderTypes, p.type) ? legacyProviderTypes[p.type] : undefined;
      if (as === undefined) continue;
      warnings.push(`config ${fileOf(['providers', name, 'type'])}: providers.${name}.type "${p.type}" (a provider type of the original Tetora) is not supported; provider "${name}" runs as "${as}"`);
      p.type = as;
    }
  }

  for (const key of unknownKeys(configSchema, merged)) {
    const path = key.split('.');
    warnings.push(`config ${fileOf(path)}: key "${inFile(path)}" is not supported by this version of Tetora and is ignored`);
  }

  /** A wrong value is reported by the key the file uses (`roles` or `agents`) and in the file it came from. */
  const bad: Bad = (dotted, value, expected) => {
    if (dotted === '') return invalid(file, '(top level)', value, expected);
    const path = dotted.split('.');
    // The literal as written, when the files hold exactly one number of that sign too large to represent.
    let literal: string | undefined;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      const same = [...new Set(overflow.filter((t) => t.startsWith('-') === value < 0))];
      if (same.length === 1) literal = same[0];
    }
    return invalid(fileOf(path), inFile(path), value, expected, literal);
  };

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) throw invalid(file, '(top level)', merged, 'a valid config');
    let expected = issue.message;
    if (issue.code === 'invalid_type' && expected.startsWith('Invalid input')) expected = TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
    throw bad(issue.path.map(String).join('.'), valueAt(merged, issue.path), expected);
  }
  return { config: compile(parsed.data, file, env, bad, (m) => warnings.push(`config ${file}: ${m}`)), warnings };
}

/** Builds the error for a wrong value at a dotted JSON path of the merged document. */
type Bad = (path: string, value: unknown, expected: string) => TetoraError;

function compile(raw: RawConfig, file: string, env: Record<string, string>, bad: Bad, warn: (message: string) => void = () => {}): ResolvedConfig {
  const home = dirname(file);
  const rel = (p: string) => resolvePath(p, home, env.HOME);
  /** A bare command name is looked up on PATH; anything with a slash or ~ is a path. */
  const exe = (p: string) => (p.includes('/') || p.startsWith('~') ? rel(p) : p);

  // ":8991" (Go's way of saying every interface) is 0.0.0.0:8991.
  const givenListen = raw.listenAddr ?? DEFAULT_LISTEN;
  const listen = parseListen(givenListen);
  if (!listen.ok) throw bad('listenAddr', givenListen, listen.expected);
  const { addr: listenAddr, host: listenHost, port: listenPort } = listen;

  const claudePath = exe(raw.claudePath ?? 'claude');
  const providers: Record<string, ResolvedProvider> = {};
  const rawProviders = { ...(raw.providers ?? {}) };
  const implicit = new Set<string>();
  if (!Object.hasOwn(rawProviders, 'claude')) {
    rawProviders.claude = { type: 'claude-code', path: claudePath };
    implicit.add('claude');
  }
  if (!Object.hasOwn(rawProviders, 'codex')) {
    rawProviders.codex = { type: 'codex-cli', path: exe(raw.codexPath ?? 'codex') };
    implicit.add('codex');
  }
  for (const [name, p] of Object.entries(rawProviders)) {
    const type = p.type === 'claude-cli' ? 'claude-code' : p.type;
    if (type === 'command' && !p.path) throw bad(`providers.${name}.path`, p.path, 'the executable to run for a "command" provider');
    if (type === 'openai-compatible' && !p.baseUrl) throw bad(`providers.${name}.baseUrl`, p.baseUrl, 'the endpoint URL of an OpenAI-compatible server');
    const resolvedProvider: ResolvedProvider = {
      name,
      type,
      args: p.args ?? [],
      env: p.env ?? {},
      transientPatterns: p.transientPatterns ?? [],
      rateLimitPatterns: p.rateLimitPatterns ?? [],
    };
    const path = p.path ? exe(p.path) : type === 'claude-code' ? claudePath : type === 'codex-cli' ? exe(raw.codexPath ?? 'codex') : undefined;
    if (path !== undefined) resolvedProvider.path = path;
    if (implicit.has(name)) resolvedProvider.implicit = true;
    if (p.baseUrl !== undefined) resolvedProvider.baseUrl = p.baseUrl;
    if (p.apiKey !== undefined) resolvedProvider.apiKey = p.apiKey;
    if (p.model !== undefined) resolvedProvider.model = p.model;
    if (p.maxConcurrent !== undefined) resolvedProvider.maxConcurrent = p.maxConcurrent;
    if (p.maxTokens !== undefined) resolvedProvider.maxTokens = p.maxTokens;
    if (p.firstTokenTimeout !== undefined) resolvedProvider.firstTokenTimeoutMs = p.firstTokenTimeout;
    if (p.pricing !== undefined) resolvedProvider.pricing = p.pricing;
    const promptLimit = p.maxPromptBytes ?? DEFAULT_PROMPT_LIMITS[type];
    if (promptLimit) resolvedProvider.maxPromptBytes = promptLimit;
    for (const key of ['transientPatterns', 'rateLimitPatterns'] as const) {
      resolvedProvider[key].forEach((pat, i) => {
        try {
          new RegExp(pat);
        } catch (err) {
          throw bad(`providers.${name}.${key}.${i}`, pat, `a valid regular expression (${(err as Error).message})`);
        }
      });
    }
    providers[name] = resolvedProvider;
  }

  const defaultProvider = raw.defaultProvider ?? 'claude';
  // Names given by the user are looked up as own keys only: "constructor" or "toString" is no provider.
  const isProvider = (name: string) => Object.hasOwn(providers, name);
  if (!isProvider(defaultProvider)) throw bad('defaultProvider', defaultProvider, `the name of a provider (${Object.keys(providers).join(', ')})`);
  const fallbackProviders = raw.fallbackProviders ?? [];
  fallbackProviders.forEach((name, i) => {
    if (!isProvider(name)) throw bad(`fallbackProviders.${i}`, name, `the name of a provider (${Object.keys(providers).join(', ')})`);
  });

  const agents: Record<string, ResolvedAgent> = {};
  for (const [name, a] of Object.entries(raw.agents ?? {})) {
    const provider = a.provider ?? defaultProvider;
    if (!isProvider(provider)) throw bad(`agents.${name}.provider`, provider, `the name of a provider (${Object.keys(providers).join(', ')})`);
    (a.fallbackProviders ?? []).forEach((fp, i) => {
      if (!isProvider(fp)) throw bad(`agents.${name}.fallbackProviders.${i}`, fp, `the name of a provider (${Object.keys(providers).join(', ')})`);
    });
    const agent: ResolvedAgent = {
      name,
      provider,
      description: a.description ?? '',
      keywords: a.keywords ?? [],
      permissionMode: a.permissionMode ?? raw.defaultPermissionMode ?? 'acceptEdits',
      fallbackProviders: a.fallbackProviders ?? [],
      worktree: a.worktree ?? false,
      worktreeCleanup: a.worktreeCleanup ?? 'keep',
      allowedTools: a.allowedTools ?? [],
      addDirs: (a.addDirs ?? []).map(rel),
    };
    const soul = a.soulFile ? rel(a.soulFile) : join(home, 'agents', name, 'SOUL.md');
    if (a.soulFile || existsSync(soul)) agent.soulFile = soul;
    if (a.model !== undefined) agent.model = a.model;
    const cap = a.maxTasksPerAgent ?? raw.maxTasksPerAgent;
    if (cap !== undefined) agent.maxTasksPerAgent = cap;
    if (a.workdir !== undefined) agent.workdir = rel(a.workdir);
    if (a.baseBranch !== undefined) agent.baseBranch = a.baseBranch;
    if (a.timeout !== undefined) agent.timeoutMs = a.timeout;
    if (a.budget !== undefined) agent.budget = a.budget;
    if (a.maxTurns !== undefined) agent.maxTurns = a.maxTurns;
    if (a.dailyBudget !== undefined) agent.dailyBudget = a.dailyBudget;
    if (a.allowedDirs !== undefined) agent.allowedDirs = a.allowedDirs.map(rel);
    agents[name] = agent;
  }
  if (raw.defaultAgent !== undefined && !Object.hasOwn(agents, raw.defaultAgent)) {
    throw bad('defaultAgent', raw.defaultAgent, `the name of an agent (${Object.keys(agents).join(', ') || 'none defined'})`);
  }

  const config: ResolvedConfig = {
    configPath: file,
    home,
    dbPath: raw.dbPath ? rel(raw.dbPath) : join(home, 'tetora.db'),
    listenAddr,
    listenHost,
    listenPort,
    maxConcurrent: raw.maxConcurrent ?? 8,
    defaultModel: raw.defaultModel ?? 'sonnet',
    defaultProvider,
    defaultTimeoutMs: raw.defaultTimeout ?? 3_600_000,
    defaultBudget: raw.defaultBudget ?? 0,
    defaultPermissionMode: raw.defaultPermissionMode ?? 'acceptEdits',
    claudePath,
    providers,
    fallbackProviders,
    agents,
    retry: {
      baseMs: raw.retry?.base ?? 2000,
      capMs: raw.retry?.cap ?? 300_000,
      maxAttempts: raw.retry?.maxAttempts ?? 3,
      rateLimitWaitMs: raw.retry?.rateLimitWait ?? 60_000,
      maxParkMs: raw.retry?.maxParkTime ?? 6 * 3_600_000,
      maxInterruptions: raw.retry?.maxInterruptions ?? 5,
    },
    drainTimeoutMs: raw.drainTimeout ?? 30_000,
    noOutputTimeoutMs: raw.noOutputTimeout ?? 600_000,
    maxOutputBytes: raw.maxOutputBytes ?? 10 * 1024 * 1024,
    maxRequestBytes: raw.maxRequestBytes ?? 10 * 1024 * 1024,
    worktreePruneIntervalMs: raw.worktreePruneInterval ?? 3_600_000,
    workflowTriggers: compileTriggers(raw.workflowTriggers ?? [], bad),
    jobsFile: raw.jobsFile ? rel(raw.jobsFile) : join(home, 'jobs.json'),
    env,
    workflowDir: raw.workflowDir ? rel(raw.workflowDir) : join(home, 'workflows'),
    workflowEnv: raw.workflowEnv ?? [],
    skills: {},
    agentComm: { maxChildrenPerTask: raw.agentComm?.maxChildrenPerTask ?? 3, maxDepth: raw.agentComm?.maxDepth ?? 2 },
    taskBoard: resolveTaskBoard(raw.taskBoard, agents, raw.defaultAgent, bad),
    retention: {
      eventsDays: raw.retention?.events ?? raw.retention?.history ?? 0,
      outputsDays: raw.retention?.outputs ?? 0,
      runsDays: raw.retention?.runs ?? raw.retention?.history ?? 0,
    },
    logFile: {
      enabled: raw.logFile?.enabled ?? true,
      path: join(home, 'logs', 'tetora.log'),
      maxSizeBytes: raw.logFile?.maxSize ?? 10 * 1024 * 1024,
      maxFiles: raw.logFile?.maxFiles ?? 5,
    },
  };
  for (const [name, sk] of Object.entries(raw.skills ?? {})) {
    const skill: ResolvedSkill = { name, command: exe(sk.command), args: sk.args ?? [] };
    if (sk.timeout !== undefined) skill.timeoutMs = sk.timeout;
    config.skills[name] = skill;
  }
  if (raw.apiToken) config.apiToken = raw.apiToken;
  if (raw.maxTasksPerAgent !== undefined) config.maxTasksPerAgent = raw.maxTasksPerAgent;
  if (raw.defaultAgent !== undefined) config.defaultAgent = raw.defaultAgent;
  if (raw.defaultWorkdir !== undefined) config.defaultWorkdir = rel(raw.defaultWorkdir);
  if (raw.allowedDirs !== undefined) config.allowedDirs = raw.allowedDirs.map(rel);
  if (raw.discord !== undefined) config.discord = resolveDiscord(raw.discord, agents, bad);
  if (raw.smartDispatch !== undefined) config.smartDispatch = resolveSmartDispatch(raw.smartDispatch, agents, raw.defaultAgent, bad, warn);
  if (raw.dailyBudget !== undefined) config.dailyBudget = raw.dailyBudget;
  if (raw.upgrade !== undefined) config.upgrade = { ...raw.upgrade };
  if (raw.outboundHttp !== undefined) config.outboundHttp = { allow: raw.outboundHttp.allow ?? [], blockPrivateNetworks: raw.outboundHttp.blockPrivateNetworks ?? false, ...(raw.outboundHttp.maxResponseBytes !== undefined ? { maxResponseBytes: raw.outboundHttp.maxResponseBytes } : {}) };
  return config;
}

/** The `discord` block with its defaults; a route to an agent that does not exist is a config error naming it. */
function resolveDiscord(d: NonNullable<RawConfig['discord']>, agents: Record<string, unknown>, bad: Bad): DiscordConfig {
  const routes: Record<string, string> = {};
  for (const [channel, r] of Object.entries(d.routes ?? {})) {
    const agent = r.agent ?? r.role;
    if (agent === undefined) throw bad(`discord.routes.${channel}`, r, 'an object naming the agent that answers in that channel, e.g. {"agent": "helper"}');
    if (!(agent in agents)) throw bad(`discord.routes.${channel}.agent`, agent, `one of the configured agents (${Object.keys(agents).join(', ') || 'none defined'})`);
    routes[channel] = agent;
  }
  const mention = [...(d.mentionChannelIDs ?? [])];
  if (d.channelID !== undefined && !mention.includes(d.channelID)) mention.push(d.channelID);
  const out: DiscordConfig = {
    enabled: d.enabled ?? false,
    botToken: d.botToken ?? '',
    channelIds: d.channelIDs ?? [],
    mentionChannelIds: mention,
    routes,
    showProgress: d.showProgress ?? true,
    threadBindings: { enabled: d.threadBindings?.enabled ?? false, ttlHours: d.threadBindings?.ttlHours ?? 24 },
    reactions: { enabled: d.reactions?.enabled ?? false, emojis: d.reactions?.emojis ?? {} },
    apiBaseUrl: (d.apiBaseUrl ?? 'https://discord.com/api').replace(/\/+$/, ''),
    allowDMs: d.allowDMs ?? false,
    maxChunks: d.maxChunks ?? 3,
    sendRetry: { baseMs: d.sendRetry?.base ?? 1000, capMs: d.sendRetry?.cap ?? 300_000, maxAttempts: d.sendRetry?.maxAttempts ?? 8 },
  };
  if (d.guildID !== undefined) out.guildId = d.guildID;
  if (d.allowedUserIDs !== undefined) out.allowedUserIds = d.allowedUserIDs;
  return out;
}
