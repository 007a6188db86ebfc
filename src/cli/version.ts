import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seaRuntime } from '../sea/runtime.js';

/** The package's root folder (holding package.json), outside the single executable. */
function packageRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

/** The package version: stamped into the single executable, else from package.json next to dist/ and src/. */
export function version(): string {
  const sea = seaRuntime();
  if (sea) return sea.version;
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The commit this Tetora was built from: stamped into the single executable; in a git checkout, read from
 * `.git` (no git process); for a package installed from a tarball, `dist/build-info.json` (`prepack`).
 * '' when unknown.
 */
export function commit(): string {
  const sea = seaRuntime();
  if (sea) return sea.commit;
  const root = packageRoot();
  // A checkout's HEAD first: a build-info.json left by an earlier `npm pack` there may be stale.
  const head = gitHead(root);
  if (head) return head;
  try {
    const info = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')) as { commit?: unknown };
    if (typeof info.commit === 'string') return info.commit;
  } catch {
    /* not stamped */
  }
  return '';
}

/** HEAD's commit (12 hex digits) of the checkout at `root`, reading the files git keeps; undefined when not one. */
export function gitHead(root: string): string | undefined {
  try {
    let gitDir = join(root, '.git');
    if (!existsSync(gitDir)) return undefined;
    if (statSync(gitDir).isFile()) {
      // A worktree: `.git` names its folder; refs live in the common folder.
      const m = /^gitdir: (.+)$/m.exec(readFileSync(gitDir, 'utf8'));
      if (!m) return undefined;
      gitDir = resolve(root, (m[1] as string).trim());
    }
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head.slice(0, 12);
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    const common = existsSync(join(gitDir, 'commondir')) ? resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
    for (const d of [gitDir, common]) {
      const f = join(d, ref);
      if (existsSync(f)) return readFileSync(f, 'utf8').trim().slice(0, 12);
    }
    const packed = join(common, 'packed-refs');
    if (existsSync(packed)) {
      const line = readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
      if (line) return line.slice(0, 12);
    }
  } catch {
    /* unreadable: unknown */
  }
  return undefined;
}

/** `0.1.0 (commit abc123def456, single executable linux-x64)`: what `--version` prints after `tetora`. */
export function versionLine(): string {
  const sea = seaRuntime();
  const c = commit();
  const parts = [c ? `commit ${c}` : undefined, sea ? `single executable ${sea.target}` : `node ${process.versions.node}`].filter(Boolean);
  return `${version()} (${parts.join(', ')})`;
}

/** dirname kept for callers that need the package folder (upgrade through npm). */
export function installRoot(): string {
  return dirname(join(packageRoot(), 'package.json'));
}
