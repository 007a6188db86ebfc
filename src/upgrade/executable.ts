/**
 * The single executable replacing itself: download to a temporary file in the executable's own folder
 * (so the final rename is atomic), check its sha256 and that it runs, keep the current file as
 * `<exe>.previous`, then rename the new one over the executable. Whatever fails before that last rename
 * leaves the executable as it was.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, constants, copyFileSync, createWriteStream, existsSync, linkSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TetoraError, messageOf } from '../errors.js';
import { parseIndex, type ExecutableRelease } from './release.js';

export function previousPath(exe: string): string {
  return `${exe}.previous`;
}

function networkError(what: string, url: string, err: unknown): TetoraError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return new TetoraError('TET_ERR_UPGRADE_NETWORK', `cannot ${what} ${url}: ${cause?.code ?? cause?.message ?? messageOf(err)}. Check the network and upgrade.url in the config; nothing was changed.`, { url });
}

/** The release index at `url`: this platform's releases, newest first. */
export async function fetchIndex(url: string, target: string): Promise<ExecutableRelease[]> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw networkError('fetch the release index', url, err);
  }
  if (res.status !== 200) throw new TetoraError('TET_ERR_UPGRADE_NETWORK', `the release index ${url} answered HTTP ${res.status}; check upgrade.url in the config. Nothing was changed.`, { url, status: res.status });
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new TetoraError('TET_ERR_UPGRADE_CONFIG', `the release index ${url} is not JSON; check upgrade.url in the config.`, { url });
  }
  return parseIndex(json, url, target);
}

/** Fails with TET_ERR_UPGRADE_PERMISSION unless this user may replace `exe` (write its folder). */
export function assertReplaceable(exe: string): void {
  try {
    accessSync(dirname(exe), constants.W_OK);
  } catch {
    throw new TetoraError('TET_ERR_UPGRADE_PERMISSION', `cannot replace ${exe}: this user may not write its folder ${dirname(exe)}. Run \`tetora upgrade\` as the owner of that folder (or with sudo).`, { path: exe });
  }
}

function runVersion(file: string): Promise<string> {
  return new Promise((res, rej) => {
    execFile(file, ['--version'], { timeout: 30_000, env: { ...process.env, TETORA_ANNOUNCE: '' } }, (err, stdout, stderr) => (err ? rej(new Error(stderr.trim() || err.message)) : res(stdout.trim())));
  });
}

/**
 * Download `release` next to `exe`, check its checksum and that it runs and says its version, then keep
 * `exe` as `<exe>.previous` and rename the new file over `exe`. Nothing is replaced when any check fails.
 */
export async function replaceExecutable(exe: string, release: ExecutableRelease): Promise<void> {
  assertReplaceable(exe);
  const dir = dirname(exe);
  const tmp = join(dir, `.${basename(exe)}.download-${process.pid}`);
  try {
    let res: Response;
    try {
      res = await fetch(release.url, { signal: AbortSignal.timeout(10 * 60_000) });
    } catch (err) {
      throw networkError('download', release.url, err);
    }
    if (res.status !== 200 || !res.body) throw new TetoraError('TET_ERR_UPGRADE_NETWORK', `downloading ${release.url} answered HTTP ${res.status}; nothing was replaced. Check the release index at upgrade.url.`, { url: release.url, status: res.status });
    const hash = createHash('sha256');
    const body = Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]);
    body.on('data', (c: Buffer) => hash.update(c));
    try {
      await pipeline(body, createWriteStream(tmp, { mode: 0o700 }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new TetoraError('TET_ERR_UPGRADE_PERMISSION', `cannot write ${tmp}: ${messageOf(err)}. Run \`tetora upgrade\` as the owner of ${dir}.`, { path: tmp });
      if (code === 'ENOSPC') throw new TetoraError('TET_ERR_UPGRADE_PERMISSION', `no space left in ${dir} for the new executable; free some and run it again. Nothing was replaced.`, { path: tmp });
      throw networkError('download', release.url, err);
    }
    const got = hash.digest('hex');
    if (got !== release.sha256) {
      throw new TetoraError('TET_ERR_UPGRADE_CHECKSUM', `the download of ${release.url} has sha256 ${got}, but the release index says ${release.sha256}; nothing was replaced. Run it again; if it persists, the index or the file is wrong.`, { url: release.url, expected: release.sha256, actual: got });
    }
    chmodSync(tmp, statSync(exe).mode & 0o777 | 0o100);
    let said: string;
    try {
      said = await runVersion(tmp);
    } catch (err) {
      throw new TetoraError('TET_ERR_UPGRADE_CHECKSUM', `the downloaded executable (${release.url}) does not run on this machine: ${messageOf(err)}; nothing was replaced.`, { url: release.url });
    }
    if (!said.startsWith(`tetora ${release.version}`)) {
      throw new TetoraError('TET_ERR_UPGRADE_CHECKSUM', `the downloaded executable says "${said}", not version ${release.version} as the release index does; nothing was replaced. Tell whoever publishes the index.`, { url: release.url });
    }
    keepPrevious(exe);
    renameSync(tmp, exe);
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
}

/** `exe` → `<exe>.previous` (replacing an older one), leaving `exe` in place. */
function keepPrevious(exe: string): void {
  const prev = previousPath(exe);
  const tmp = `${prev}.${process.pid}`;
  try {
    linkSync(exe, tmp);
  } catch {
    copyFileSync(exe, tmp);
  }
  renameSync(tmp, prev);
}

/** Swap `exe` and `<exe>.previous` (so a second rollback goes forward again); the version now in place. */
export async function rollbackExecutable(exe: string): Promise<string> {
  const prev = previousPath(exe);
  if (!existsSync(prev)) throw new TetoraError('TET_ERR_UPGRADE_NO_ROLLBACK', `there is no ${prev} to go back to: only an executable replaced by \`tetora upgrade\` keeps its previous file.`, { path: prev });
  assertReplaceable(exe);
  let said: string;
  try {
    said = await runVersion(prev);
  } catch (err) {
    throw new TetoraError('TET_ERR_UPGRADE_NO_ROLLBACK', `the previous executable ${prev} does not run: ${messageOf(err)}; nothing was changed.`, { path: prev });
  }
  const swap = `${exe}.rollback-${process.pid}`;
  linkOrCopy(exe, swap);
  renameSync(prev, exe);
  renameSync(swap, prev);
  return /^tetora (\S+)/.exec(said)?.[1] ?? said;
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}
