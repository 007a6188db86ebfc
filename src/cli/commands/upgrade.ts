import type { Command } from 'commander';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolvedConfig } from '../../config/types.js';
import { TetoraError, isTetoraError } from '../../errors.js';
import { seaRuntime } from '../../sea/runtime.js';
import { compareVersions, npmLayout, pickVersion } from '../../upgrade/release.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { ExitWith } from '../exit.js';
import { installRoot, version } from '../version.js';

/** `--check` exits with this when a newer version is available (0 when up to date). */
export const NEWER_AVAILABLE_EXIT = 10;

interface UpgradeOpts {
  check?: boolean;
  to?: string;
  rollback?: boolean;
  drain?: boolean;
  json?: boolean;
}

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description('install a newer Tetora (npm install, or the single executable from upgrade.url) and restart a running daemon on it without stopping running agents')
    .option('--check', `print the current and the latest version; exit 0 when up to date, ${NEWER_AVAILABLE_EXIT} when a newer one is available`)
    .option('--to <version>', 'install this version (also an older one) instead of the latest')
    .option('--rollback', 'go back to the executable replaced by the last upgrade (npm installs: the version installed before it)')
    .option('--drain', 'restart a running daemon only after its running tasks finish (default: hand them to the new daemon)')
    .option('--json', 'print JSON')
    .action(async (opts: UpgradeOpts, cmd: Command) => {
      const { homeDir } = await import('../../config/load.js');
      const { fetchIndex, replaceExecutable, rollbackExecutable, assertReplaceable } = await import('../../upgrade/executable.js');
      const { npmInstall, npmVersions } = await import('../../upgrade/npm.js');
      const config = await loadOptional(cmd);
      const current = version();
      const sea = seaRuntime();
      const say = (line: string) => {
        if (!opts.json) process.stdout.write(`${line}\n`);
      };
      let installed: string | undefined;
      if (sea) {
        const exe = realpathSync(process.execPath);
        if (opts.rollback) {
          installed = await rollbackExecutable(exe);
          say(`rolled back ${exe} to ${installed} (the replaced file is kept for another --rollback)`);
        } else {
          const url = config?.upgrade?.url;
          if (!url) throw new TetoraError('TET_ERR_UPGRADE_CONFIG', `no release index: set "upgrade": {"url": "https://…/index.json"} in ${config?.configPath ?? 'the config'} (README "Upgrading").`, {});
          const releases = await fetchIndex(url, sea.target);
          if (releases.length === 0) throw new TetoraError('TET_ERR_UPGRADE_NO_VERSION', `the release index ${url} has no release for ${sea.target}.`, { url, target: sea.target });
          const latest = pickVersion(releases.map((r) => r.version), undefined, `the release index ${url}`);
          if (opts.check) return check(current, latest, opts);
          const want = pickVersion(releases.map((r) => r.version), opts.to, `the release index ${url} (for ${sea.target})`);
          if (want === current && !opts.to) return upToDate(current, opts);
          assertReplaceable(exe);
          const release = releases.find((r) => r.version === want)!;
          say(`downloading ${want} from ${release.url}`);
          await replaceExecutable(exe, release);
          installed = want;
          say(`installed ${want} as ${exe} (the previous ${current} is kept as ${exe}.previous: \`tetora upgrade --rollback\`)`);
        }
      } else {
        const pkg = config?.upgrade?.package ?? 'tetora';
        const registry = config?.upgrade?.registry;
        const layout = npmLayout(installRoot(), pkg);
        if (layout.kind === 'checkout' && !opts.check) {
          throw new TetoraError('TET_ERR_UPGRADE_UNSUPPORTED', `Tetora runs from a source checkout (${installRoot()}), which it cannot upgrade itself: update it with \`git pull && npm ci && npm run build\`.`, { path: installRoot() });
        }
        // What was installed before the last upgrade, for --rollback (the home folder, with or without a config).
        const stateFile = join(config?.home ?? homeDir(), 'upgrade.json');
        let want: string;
        if (opts.rollback) {
          const prev = readPrevious(stateFile);
          if (!prev) throw new TetoraError('TET_ERR_UPGRADE_NO_ROLLBACK', `no earlier version is recorded in ${stateFile}: \`tetora upgrade --rollback\` goes back only after a \`tetora upgrade\`. Install one with \`tetora upgrade --to VERSION\`.`, {});
          want = prev;
        } else {
          const { versions, latest: tagged } = await npmVersions(pkg, registry);
          const latest = tagged ?? pickVersion(versions, undefined, `the registry's ${pkg}`);
          if (opts.check) return check(current, latest, opts);
          want = opts.to ? pickVersion(versions, opts.to, `the registry's ${pkg}`) : latest;
          if (want === current && !opts.to) return upToDate(current, opts);
        }
        if (layout.kind === 'checkout') throw new TetoraError('TET_ERR_UPGRADE_UNSUPPORTED', `Tetora runs from a source checkout (${installRoot()}).`, {});
        say(`installing ${pkg}@${want} with npm`);
        const how = await npmInstall(pkg, want, layout, registry);
        mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
        writeFileSync(stateFile, JSON.stringify({ previous: current, installed: want, at: new Date().toISOString() }), { mode: 0o600 });
        installed = want;
        say(`installed ${pkg}@${want} (${how}); \`tetora upgrade --rollback\` goes back to ${current}`);
      }
      const daemon = config ? await restartDaemon(config, opts.drain === true, say) : undefined;
      if (opts.json) printJson({ previous: current, installed, daemon: daemon ?? null });
    });
}

async function loadOptional(cmd: Command): Promise<ResolvedConfig | undefined> {
  try {
    return (await loadForCommand(cmd, { quiet: true })).config;
  } catch (err) {
    if (isTetoraError(err) && err.code === 'TET_ERR_CONFIG_NOT_FOUND') return undefined;
    throw err;
  }
}

function readPrevious(file: string): string | undefined {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { previous?: unknown };
    return typeof j.previous === 'string' ? j.previous : undefined;
  } catch {
    return undefined;
  }
}

function check(current: string, latest: string, opts: UpgradeOpts): never {
  const newer = compareVersions(latest, current) > 0;
  if (opts.json) printJson({ current, latest, newer });
  else process.stdout.write(`current ${current}, latest ${latest}${newer ? ': a newer version is available (`tetora upgrade`)' : ': up to date'}\n`);
  throw new ExitWith(newer ? NEWER_AVAILABLE_EXIT : 0);
}

function upToDate(current: string, opts: UpgradeOpts): void {
  if (opts.json) printJson({ previous: current, installed: null, daemon: null });
  else process.stdout.write(`already at the latest version, ${current}\n`);
}

interface Healthz {
  version?: string;
  instance?: string;
}

/**
 * A daemon answering at the configured address is restarted on the installed version: handing its running
 * agents over (or, with `drain`, after they finish); then this waits until the new daemon answers.
 */
async function restartDaemon(config: ResolvedConfig, drain: boolean, say: (l: string) => void): Promise<{ from: string | null; to: string | null; instance: string | null; handedOver: number } | undefined> {
  const client = new DaemonClient(config, { idleTimeoutMs: 10_000 });
  const before = await healthz(client);
  if (!before) {
    say('no daemon is running; the next `tetora serve` runs the new version (and applies its migrations)');
    return undefined;
  }
  let answer: { running: number; restart: string };
  try {
    answer = (await client.json<{ running: number; restart: string }>('POST', '/api/admin/restart', { mode: drain ? 'drain' : 'handover' })).body;
  } catch (err) {
    if (isTetoraError(err) && err.code === 'TET_ERR_HTTP_NOT_FOUND') {
      throw new TetoraError('TET_ERR_UPGRADE_RESTART', `the new version is installed, but the running daemon (version ${before.version ?? 'unknown'}) cannot restart itself: run \`tetora drain\`, then start \`tetora serve\` again (running agents are adopted).`, {});
    }
    throw new TetoraError('TET_ERR_UPGRADE_RESTART', `the new version is installed, but the daemon refused to restart: ${(err as Error).message}`, {});
  }
  say(drain ? `restarting the daemon once its ${answer.running} running task(s) finish (up to drainTimeout)` : `restarting the daemon; ${answer.running} running task(s) are handed over to the new one`);
  // Up to drainTimeout for a drain, then the new daemon's start (recovery included).
  const deadline = Date.now() + (drain ? config.drainTimeoutMs : 0) + 120_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await healthz(client);
    if (now && now.instance !== before.instance) {
      say(`the daemon runs version ${now.version ?? 'unknown'} (instance ${now.instance})`);
      return { from: before.version ?? null, to: now.version ?? null, instance: now.instance ?? null, handedOver: drain ? 0 : answer.running };
    }
    if (Date.now() > deadline) {
      throw new TetoraError('TET_ERR_UPGRADE_RESTART', `the new version is installed, but no new daemon answered at ${client.base} within ${Math.round((deadline - Date.now()) / 1000 + 120)} s${answer.restart === 'manager' ? ' (its service manager should have started it: check `tetora service status`)' : ''}. Start \`tetora serve\` again; running agents are adopted by it.`, {});
    }
  }
}

/** /healthz of the daemon (200 or 503 both carry its version and instance), or undefined when none answers. */
async function healthz(client: DaemonClient): Promise<Healthz | undefined> {
  try {
    const res = await client.raw('GET', '/healthz');
    const text = await res.text();
    return JSON.parse(text) as Healthz;
  } catch {
    return undefined;
  }
}


