import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TetoraError } from '../errors.js';
import { deepMerge, isPlainObject, parseDotEnv, unknownKeys, valueAt } from './merge.js';
import { configSchema, legacyProviderTypes, type RawConfig } from './schema.js';
import type { LoadResult, ResolvedAgent, ResolvedConfig, ResolvedProvider } from './types.js';
import { resolvePath } from '../util/fsx.js';

export interface LoadOptions {
  /** `--config PATH`; default `$TETORA_HOME/config.json`. */
  configPath?: string;
  /** The process environment (not modified). */
  env?: Record<string, string | undefined>;
}

export const DEFAULT_LISTEN = '127.0.0.1:8991';

/** `$TETORA_HOME`, default `~/.tetora`. */
export function homeDir(env: Record<string, string | undefined> = process.env): string {
  const h = env.TETORA_HOME;
  return h && h.length > 0 ? resolvePath(h, process.cwd()) : join(homedir(), '.tetora');
}

export function defaultConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(homeDir(env), 'config.json');
}

function readJson(path: string, what: string): unknown {
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
    throw new TetoraError('TET_ERR_CONFIG_PARSE', `cannot read ${what} ${path}: ${(err as Error).message}`, { path });
  }
  try {
    return JSON.parse(text);
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
];

/** `fileOf(path)`: the file a value at that path came from (config.json or config.local.json). */
function resolveSecrets(doc: Record<string, unknown>, env: Record<string, string>, fileOf: (path: string[]) => string): void {
  const visit = (node: unknown, pattern: ReadonlyArray<string>, path: string[]): void => {
    if (!isPlainObject(node)) return;
    const [head, ...rest] = pattern;
    const keys = head === '*' ? Object.keys(node) : head !== undefined && head in node ? [head] : [];
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
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        const field = [...path, key].join('.');
        const file = fileOf([...path, key]);
        throw new TetoraError(
          'TET_ERR_CONFIG_SECRET_UNSET',
          `config ${file}: ${field} refers to environment variable ${name}, which is not set. Set ${name} in the environment or in ${join(dirname(file), '.env')}.`,
          { path: field, variable: name, file },
        );
      }
      node[key] = resolved;
    }
  };
  for (const pattern of SECRET_PATHS) visit(doc, pattern, []);
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

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
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

function invalid(file: string, path: string, value: unknown, expected: string): TetoraError {
  return new TetoraError(
    'TET_ERR_CONFIG_INVALID',
    `config ${file}: ${path} is ${describe(value)}, expected ${expected}. Fix it and run \`tetora config validate\`.`,
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

  let doc = readJson(file, 'config file');
  if (!isPlainObject(doc)) throw invalid(file, '(top level)', doc, 'a JSON object');
  const localPath = join(dir, `${basename(file, '.json')}.local.json`);
  let local: Record<string, unknown> | undefined;
  if (existsSync(localPath)) {
    const localDoc = readJson(localPath, 'local config file');
    if (!isPlainObject(localDoc)) throw invalid(localPath, '(top level)', localDoc, 'a JSON object');
    local = localDoc;
    doc = deepMerge(doc, local) as Record<string, unknown>;
  }
  // JSON null means "not set", as it does for the original (Go leaves a field alone on null): the key is
  // dropped, so the default applies. A null in config.local.json thus removes a key of config.json.
  const merged = dropNulls(structuredClone(doc)) as Record<string, unknown>;

  // Legacy key `roles` is the original's name for `agents`. Messages name the key the file uses.
  let inFile = (path: string[]): string => path.join('.');
  if ('roles' in merged) {
    const roles = merged.roles;
    const agentNames = new Set('agents' in merged && isPlainObject(merged.agents) ? Object.keys(merged.agents) : []);
    const fromRoles = 'agents' in merged ? (path: string[]) => path[1] !== undefined && !agentNames.has(path[1]) : () => true;
    inFile = (path) => (path[0] === 'agents' && fromRoles(path) ? ['roles', ...path.slice(1)] : path).join('.');
    delete merged.roles;
    merged.agents = 'agents' in merged ? deepMerge(roles, merged.agents) : roles;
  }

  const env: Record<string, string> = {};
  const envPath = join(dir, '.env');
  if (existsSync(envPath)) Object.assign(env, parseDotEnv(readFileSync(envPath, 'utf8')));
  for (const [k, v] of Object.entries(procEnv)) if (v !== undefined) env[k] = v;

  resolveSecrets(merged, env, (path) => (local !== undefined && valueAt(local, path) !== undefined ? localPath : file));

  // Provider types of the original that we run as the CLI they drive, with a warning each.
  if (isPlainObject(merged.providers)) {
    for (const [name, p] of Object.entries(merged.providers)) {
      if (!isPlainObject(p) || typeof p.type !== 'string') continue;
      const as = Object.hasOwn(legacyProviderTypes, p.type) ? legacyProviderTypes[p.type] : undefined;
      if (as === undefined) continue;
      warnings.push(`config ${file}: providers.${name}.type "${p.type}" (a provider type of the original Tetora) is not supported; provider "${name}" runs as "${as}"`);
      p.type = as;
    }
  }

  /** The file a value at this path (as the file spells it) came from. */
  const fileOf = (path: string[]) => (local !== undefined && valueAt(local, path) !== undefined ? localPath : file);
  for (const key of unknownKeys(configSchema, merged)) {
    const path = inFile(key.split('.'));
    warnings.push(`config ${fileOf(path.split('.'))}: key "${path}" is not supported by this version of Tetora and is ignored`);
  }

  /** A wrong value is reported by the key the file uses (`roles` or `agents`) and in the file it came from. */
  const bad: Bad = (dotted, value, expected) => {
    const path = dotted === '' ? '(top level)' : inFile(dotted.split('.'));
    const fromLocal = local !== undefined && dotted !== '' && valueAt(local, path.split('.')) !== undefined;
    return invalid(fromLocal ? localPath : file, path, value, expected);
  };

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) throw invalid(file, '(top level)', merged, 'a valid config');
    let expected = issue.message;
    if (issue.code === 'invalid_type' && expected.startsWith('Invalid input')) expected = TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
    throw bad(issue.path.map(String).join('.'), valueAt(merged, issue.path), expected);
  }
  return { config: compile(parsed.data, file, env, bad), warnings };
}

/** Builds the error for a wrong value at a dotted JSON path of the merged document. */
type Bad = (path: string, value: unknown, expected: string) => TetoraError;

function compile(raw: RawConfig, file: string, env: Record<string, string>, bad: Bad): ResolvedConfig {
  const home = dirname(file);
  const rel = (p: string) => resolvePath(p, home, env.HOME);
  /** A bare command name is looked up on PATH; anything with a slash or ~ is a path. */
  const exe = (p: string) => (p.includes('/') || p.startsWith('~') ? rel(p) : p);

  // ":8991" (Go's way of saying every interface) is 0.0.0.0:8991.
  const givenListen = raw.listenAddr ?? DEFAULT_LISTEN;
  const listenAddr = givenListen.startsWith(':') ? `0.0.0.0${givenListen}` : givenListen;
  const sep = listenAddr.lastIndexOf(':');
  const listenHost = listenAddr.slice(0, sep).replace(/^\[|\]$/g, '');
  const listenPort = Number(listenAddr.slice(sep + 1));
  if (listenPort > 65535) throw bad('listenAddr', givenListen, 'a port between 0 and 65535');

  const claudePath = exe(raw.claudePath ?? 'claude');
  const providers: Record<string, ResolvedProvider> = {};
  const rawProviders = { ...(raw.providers ?? {}) };
  const implicit = new Set<string>();
  if (!rawProviders.claude) {
    rawProviders.claude = { type: 'claude-code', path: claudePath };
    implicit.add('claude');
  }
  if (!rawProviders.codex) {
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
  if (!providers[defaultProvider]) throw bad('defaultProvider', defaultProvider, `the name of a provider (${Object.keys(providers).join(', ')})`);
  const fallbackProviders = raw.fallbackProviders ?? [];
  fallbackProviders.forEach((name, i) => {
    if (!providers[name]) throw bad(`fallbackProviders.${i}`, name, `the name of a provider (${Object.keys(providers).join(', ')})`);
  });

  const agents: Record<string, ResolvedAgent> = {};
  for (const [name, a] of Object.entries(raw.agents ?? {})) {
    const provider = a.provider ?? defaultProvider;
    if (!providers[provider]) throw bad(`agents.${name}.provider`, provider, `the name of a provider (${Object.keys(providers).join(', ')})`);
    (a.fallbackProviders ?? []).forEach((fp, i) => {
      if (!providers[fp]) throw bad(`agents.${name}.fallbackProviders.${i}`, fp, `the name of a provider (${Object.keys(providers).join(', ')})`);
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
    agents[name] = agent;
  }
  if (raw.defaultAgent !== undefined && !agents[raw.defaultAgent]) {
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
    },
    drainTimeoutMs: raw.drainTimeout ?? 30_000,
    noOutputTimeoutMs: raw.noOutputTimeout ?? 600_000,
    worktreePruneIntervalMs: raw.worktreePruneInterval ?? 3_600_000,
    env,
  };
  if (raw.apiToken) config.apiToken = raw.apiToken;
  if (raw.maxTasksPerAgent !== undefined) config.maxTasksPerAgent = raw.maxTasksPerAgent;
  if (raw.defaultAgent !== undefined) config.defaultAgent = raw.defaultAgent;
  if (raw.defaultWorkdir !== undefined) config.defaultWorkdir = rel(raw.defaultWorkdir);
  if (raw.discord !== undefined) config.discord = raw.discord;
  if (raw.smartDispatch !== undefined) config.smartDispatch = raw.smartDispatch;
  if (raw.dailyBudget !== undefined) config.dailyBudget = raw.dailyBudget;
  return config;
}
