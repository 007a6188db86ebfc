/**
 * `tetora doctor`'s verdicts: pure functions from gathered facts (see gather.ts) to one check line each.
 * Every failing check carries a fix the user can act on.
 */
import { checkAllowedDirs, type AllowedDirsFact } from './allowed-dirs.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure; null when the check passed. */
  fix: string | null;
  /** Non-fatal remarks (config warnings). */
  warnings?: string[];
}

/** The outcome of running `<exe> --version` or similar. */
export type ProbeOutcome = { ok: true; output: string } | { ok: false; error: string };

export interface HomeFact {
  path: string;
  /** Permission bits, or null when the folder does not exist. */
  mode: number | null;
  /** False when something other than a folder is at the path. @default true */
  isDir?: boolean;
}

export interface FileModeFact {
  path: string;
  mode: number;
}

export type ConfigFact =
  | { ok: true; path: string; warnings: string[] }
  | { ok: false; path: string; error: string };

export type DbFact =
  | { ok: true; path: string; current: number; latest: number }
  | { ok: false; path: string; error: string; code?: string };

export interface ProviderFact {
  name: string;
  type: string;
  kind: 'cli' | 'command' | 'api';
  /** CLI and command providers: the configured executable (a name looked up on PATH, or a path). */
  executable?: string;
  /** Where the executable was found; undefined when not found. */
  resolved?: string;
  /** Found but without the execute permission. */
  notExecutable?: boolean;
  /** CLI providers: `--version`. */
  version?: ProbeOutcome;
  /** API providers: the endpoint probed. */
  url?: string;
  /** API providers: any HTTP answer counts (output is "HTTP <status>"). */
  http?: ProbeOutcome;
}

export interface AgentFact {
  name: string;
  provider: string;
  providerExists: boolean;
  /** The soul file the config names or the default `agents/<name>/SOUL.md`. */
  soulFile?: string;
  soulExists: boolean;
  /** True when the config names the soul file explicitly (a missing one is then an error). */
  soulConfigured: boolean;
}

export interface ListenFact {
  addr: string;
  host: string;
  port: number;
  hasToken: boolean;
  /** free: we could bind it; in-use: someone holds it; otherwise the bind error code. */
  bind: 'free' | 'in-use' | { error: string };
  /** When in use: GET /healthz. */
  healthz?: ProbeOutcome;
}

/** The run spools under the home: how many run folders and bytes they hold (an unreadable folder: error). */
export type SpoolFact = { path: string; runs: number; bytes: number } | { path: string; error: string };

/** The workflow folder: how many definitions, which do not validate, which files are broken or share a name. */
export interface WorkflowsFact {
  dir: string;
  valid: number;
  invalid: Array<{ name: string; file: string; errors: number; first: string }>;
  fileErrors: string[];
}
/** The cron jobs file: loaded (how many jobs, its warnings; `missing` when it does not exist) or its error. */
export type JobsFact = { ok: true; path: string; jobs: number; missing: boolean; warnings: string[] } | { ok: false; path: string; error: string };

export interface DoctorFacts {
  nodeVersion: string;
  home: HomeFact;
  files: FileModeFact[];
  config: ConfigFact;
  db?: DbFact;
  spool?: SpoolFact;
  git: ProbeOutcome;
  providers: ProviderFact[];
  agents: AgentFact[];
  listen?: ListenFact;
  workflows?: WorkflowsFact;
  jobs?: JobsFact;
  discord?: DiscordTokenFact;
  /** What this Tetora is: version, commit, and whether it is the single executable (and where). */
  build?: BuildFact;
  /** Configured workdirs and addDirs against allowedDirs (present when allowedDirs is set). */
  allowedDirs?: AllowedDirsFact;
}

export interface BuildFact {
  version: string;
  commit: string;
  /** `<platform>-<arch>` of the single executable; undefined when running on an installed Node. */
  singleExecutable?: string;
  path: string;
}

/** The version line: always passes (it says what runs, for bug reports and `tetora upgrade`). */
export function checkBuild(b: BuildFact): CheckResult {
  const what = b.singleExecutable ? `single executable ${b.singleExecutable}` : 'npm package';
  return pass('tetora', `version ${b.version}${b.commit ? `, commit ${b.commit}` : ''}, ${what} (${b.path})`);
}

/** The bot token, asked of Discord (`GET {apiBaseUrl}/v10/users/@me`) when `discord.enabled`. */
export type DiscordTokenFact =
  | { apiBaseUrl: string; empty: true }
  | { apiBaseUrl: string; status: number; user?: { id: string; username: string }; message?: string }
  | { apiBaseUrl: string; error: string };

const MIN_NODE_MAJOR = 20;

function pass(name: string, detail: string): CheckResult {
  return { name, ok: true, detail, fix: null };
}

function fail(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

export function checkNode(version: string): CheckResult {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);
  if (major >= MIN_NODE_MAJOR) return pass('node', `Node v${version.replace(/^v/, '')}`);
  return fail('node', `Node v${version.replace(/^v/, '')} is older than ${MIN_NODE_MAJOR}`, `install Node ${MIN_NODE_MAJOR} or newer (https://nodejs.org, or \`nvm install ${MIN_NODE_MAJOR}\`)`);
}

export function checkHome(home: HomeFact): CheckResult {
  if (home.mode === null) return fail('home', `${home.path} does not exist`, 'run `tetora init` to create it with a starter config');
  if (home.isDir === false) return fail('home', `${home.path} is not a folder`, `move ${home.path} out of the way and run \`tetora init\`, or set TETORA_HOME to another folder`);
  if ((home.mode & 0o077) !== 0) return fail('home', `${home.path} has mode ${octal(home.mode)}; others can read it`, `chmod 700 ${home.path}`);
  return pass('home', `${home.path} (${octal(home.mode)})`);
}

export function checkFileModes(files: FileModeFact[]): CheckResult {
  const loose = files.filter((f) => (f.mode & 0o077) !== 0);
  if (loose.length > 0) {
    return fail('file modes', loose.map((f) => `${f.path} has mode ${octal(f.mode)}`).join('; '), `chmod 600 ${loose.map((f) => f.path).join(' ')}`);
  }
  if (files.length === 0) return pass('file modes', 'no config or database files yet');
  return pass('file modes', `${files.length} file${files.length === 1 ? '' : 's'} private (0600): ${files.map((f) => f.path).join(', ')}`);
}

export function checkConfig(config: ConfigFact): CheckResult {
  if (!config.ok) {
    return fail('config', config.error, `fix ${config.path} (or run \`tetora init\` if it does not exist), then run \`tetora config validate\``);
  }
  const n = config.warnings.length;
  const r = pass('config', `${config.path} is valid${n > 0 ? ` (${n} warning${n === 1 ? '' : 's'})` : ''}`);
  if (n > 0) r.warnings = config.warnings;
  return r;
}

export function checkDb(db: DbFact): CheckResult {
  if (!db.ok) {
    const fix =
      db.code === 'TET_ERR_STORE_MIGRATION'
        ? 'upgrade Tetora, restore a backup of the database, or point dbPath at another file'
        : `make sure the folder of ${db.path} exists and is writable by this user, or set dbPath in the config`;
    return fail('database', db.error, fix);
  }
  if (db.current !== db.latest) {
    return fail('database', `${db.path} is at schema version ${db.current}, expected ${db.latest}`, 'run `tetora doctor` again to apply the pending migrations, or report this');
  }
  return pass('database', `${db.path} (schema version ${db.current}, up to date)`);
}

export function checkSpool(f: SpoolFact): CheckResult {
  const name = 'run spools';
  if ('error' in f) return fail(name, `cannot read ${f.path}: ${f.error}`, `make ${f.path} readable and writable by this user (the daemon keeps its runs' output there)`);
  const size = f.bytes >= 1024 * 1024 ? `${(f.bytes / 1024 / 1024).toFixed(1)} MiB` : `${(f.bytes / 1024).toFixed(1)} KiB`;
  return pass(name, `${f.runs} run folder(s), ${size} in ${f.path} (kept for running tasks and outputs larger than maxOutputBytes)`);
}

export function checkGit(git: ProbeOutcome): CheckResult {
  if (git.ok) return pass('git', git.output);
  return fail('git', `git is not usable: ${git.error}`, 'install git (Debian/Ubuntu: `apt-get install git`, macOS: `xcode-select --install`) and make sure it is on PATH');
}

const INSTALL: Record<string, string> = {
  'claude-code': 'install Claude Code with `npm install -g @anthropic-ai/claude-code` (then run `claude` once to log in)',
  'codex-cli': 'install Codex with `npm install -g @openai/codex` (then run `codex login`)',
};

function pathSetting(p: ProviderFact): string {
  if (p.name === 'claude' && p.type === 'claude-code') return `providers.${p.name}.path or claudePath`;
  if (p.name === 'codex' && p.type === 'codex-cli') return `providers.${p.name}.path or codexPath`;
  return `providers.${p.name}.path`;
}

export function checkProvider(p: ProviderFact): CheckResult {
  const name = `provider ${p.name}`;
  if (p.kind === 'api') {
    if (p.http?.ok) return pass(name, `${p.type} endpoint ${p.url} answers (${p.http.output})`);
    const why = p.http && !p.http.ok ? p.http.error : 'not probed';
    return fail(name, `${p.type} endpoint ${p.url} does not answer: ${why}`, `start the server behind ${p.url}, or correct providers.${p.name}.baseUrl`);
  }
  const exe = p.executable ?? '(none)';
  if (p.resolved === undefined) {
    const where = exe.includes('/') ? `${exe} does not exist` : `${exe} is not on PATH`;
    const install = INSTALL[p.type];
    const fix = install ? `${install}, or set ${pathSetting(p)} to the executable` : `set ${pathSetting(p)} to an existing executable`;
    return fail(name, `${p.type}: ${where}`, fix);
  }
  if (p.notExecutable) return fail(name, `${p.type}: ${p.resolved} is not executable`, `chmod +x ${p.resolved}`);
  if (p.kind === 'command') return pass(name, `command ${p.resolved}`);
  if (!p.version || !p.version.ok) {
    const why = p.version && !p.version.ok ? p.version.error : 'not probed';
    return fail(name, `${p.type}: \`${p.resolved} --version\` failed: ${why}`, `run \`${p.resolved} --version\` by hand to see why; reinstall it or set ${pathSetting(p)} to a working executable`);
  }
  return pass(name, `${p.type} ${p.resolved} (${p.version.output})`);
}

export function checkAgent(a: AgentFact): CheckResult {
  const name = `agent ${a.name}`;
  if (!a.providerExists) return fail(name, `its provider "${a.provider}" is not configured`, `add providers.${a.provider} or set agents.${a.name}.provider to a configured provider`);
  if (a.soulConfigured && !a.soulExists) {
    return fail(name, `soul file ${a.soulFile} does not exist`, `create ${a.soulFile} (the agent's system prompt) or correct agents.${a.name}.soulFile`);
  }
  const soul = a.soulExists ? `soul ${a.soulFile}` : `no soul file (runs without a system prompt; create ${a.soulFile} to give it one)`;
  return pass(name, `provider ${a.provider}, ${soul}`);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

export function checkListen(l: ListenFact): CheckResult {
  const name = 'listen';
  if (!LOOPBACK.test(l.host) && !l.hasToken) {
    return fail(name, `${l.addr} is beyond loopback and no apiToken is set`, 'set apiToken in the config (e.g. `"apiToken": "$TETORA_API_TOKEN"`), or set listenAddr to 127.0.0.1:8991');
  }
  if (l.bind === 'free') return pass(name, `${l.addr} is free`);
  if (l.bind === 'in-use') {
    if (l.healthz?.ok) return pass(name, `a Tetora daemon answers at ${l.addr} (${l.healthz.output})`);
    const why = l.healthz && !l.healthz.ok ? l.healthz.error : 'no answer';
    return fail(name, `${l.addr} is in use by another program (GET /healthz: ${why})`, `stop the program holding port ${l.port} (\`ss -ltnp 'sport = :${l.port}'\` shows it), or set listenAddr to a free port`);
  }
  return fail(name, `cannot listen on ${l.addr}: ${l.bind.error}`, `set listenAddr to an address of this machine with a port it may use, e.g. 127.0.0.1:8991`);
}

export function checkWorkflows(w: WorkflowsFact): CheckResult {
  const name = 'workflows';
  const bad = w.invalid.length + w.fileErrors.length;
  if (bad === 0) return pass(name, w.valid === 0 ? `none in ${w.dir}` : `${w.valid} in ${w.dir}, all valid`);
  const parts = [
    ...w.invalid.map((i) => `"${i.name}" (${i.file}) has ${i.errors} error${i.errors > 1 ? 's' : ''}, first ${i.first}`),
    ...w.fileErrors,
  ];
  return fail(name, `${bad} of ${w.valid + bad} in ${w.dir} cannot run: ${parts.join('; ')}`, 'run `tetora workflow validate` to see every error with its JSON path, and fix the files');
}

/** A jobs file that does not exist is a warning (no cron jobs), not a failure; one that does not load is. */
export function checkJobs(f: JobsFact): CheckResult {
  const name = 'jobs';
  if (!f.ok) return fail(name, f.error, `fix ${f.path} (the message names the job and field), then reload the daemon (SIGHUP)`);
  const r = pass(name, f.missing ? `${f.path} does not exist: no cron jobs are scheduled` : `${f.path}: ${f.jobs} job${f.jobs === 1 ? '' : 's'}`);
  if (f.warnings.length > 0) r.warnings = f.warnings;
  return r;
}

export function checkDiscordToken(f: DiscordTokenFact): CheckResult {
  const name = 'discord token';
  const portal = 'the Discord developer portal (Applications → your bot → Bot → Reset Token)';
  if ('empty' in f) return fail(name, 'discord.enabled is true but discord.botToken is empty', `put the bot token from ${portal} in discord.botToken, e.g. "$DISCORD_BOT_TOKEN" with the variable in .env`);
  if ('error' in f) return fail(name, `cannot reach Discord at ${f.apiBaseUrl}/v10/users/@me: ${f.error}`, 'check the network (and a proxy) and discord.apiBaseUrl (default https://discord.com/api)');
  if (f.status === 200 && f.user) return pass(name, `Discord accepts the token: bot ${f.user.username} (${f.user.id})`);
  if (f.status === 401) {
    return fail(name, `Discord refused the bot token (GET ${f.apiBaseUrl}/v10/users/@me answered 401${f.message ? `: ${f.message}` : ''})`, `copy a new token from ${portal} into discord.botToken (or the $VAR it names), then \`kill -HUP\` the daemon`);
  }
  return fail(name, `GET ${f.apiBaseUrl}/v10/users/@me answered HTTP ${f.status}${f.message ? `: ${f.message}` : ''}`, 'try again later; if it persists, check discord.apiBaseUrl and https://discordstatus.com');
}

/** Every check, in the order they print. */
export function runChecks(f: DoctorFacts): CheckResult[] {
  const out = [...(f.build ? [checkBuild(f.build)] : []), checkNode(f.nodeVersion), checkHome(f.home), checkConfig(f.config), checkFileModes(f.files)];
  if (f.db) out.push(checkDb(f.db));
  if (f.spool) out.push(checkSpool(f.spool));
  out.push(checkGit(f.git));
  for (const p of f.providers) out.push(checkProvider(p));
  for (const a of f.agents) out.push(checkAgent(a));
  if (f.listen) out.push(checkListen(f.listen));
  if (f.workflows) out.push(checkWorkflows(f.workflows));
  if (f.jobs) out.push(checkJobs(f.jobs));
  if (f.discord) out.push(checkDiscordToken(f.discord));
  if (f.allowedDirs) out.push(checkAllowedDirs(f.allowedDirs));
  return out;
}

/** Human output: one line per check, the fix below each failure, a summary last. */
export function formatReport(checks: CheckResult[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
    for (const w of c.warnings ?? []) lines.push(`    warning: ${w}`);
    if (c.fix) lines.push(`    fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
  return `${lines.join('\n')}\n`;
}
