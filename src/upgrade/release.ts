/**
 * Pure parts of `tetora upgrade`: version order, the single executable's release index, npm's answers
 * and where an npm install lives. No I/O here (test/unit/upgrade.test.ts).
 */
import { TetoraError } from '../errors.js';

/** Compares `1.2.3`, `1.2.3-beta.1` (a pre-release sorts before its release). Negative: a < b. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.replace(/^v/, '').split('+')[0]!.split(/-(.*)/s);
    return { nums: core.split('.').map((n) => Number(n) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length, 3); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

const VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

/** One release of the single executable for one platform. */
export interface ExecutableRelease {
  version: string;
  url: string;
  sha256: string;
}

/**
 * The release index (`upgrade.url`):
 * `{"versions": [{"version": "0.2.0", "files": {"linux-x64": {"url": "tetora-linux-x64", "sha256": "…"}}}]}`.
 * Relative file URLs are resolved against the index's URL. Returns the releases for `target`, newest first;
 * a malformed index is TET_ERR_UPGRADE_CONFIG naming what is wrong.
 */
export function parseIndex(json: unknown, indexUrl: string, target: string): ExecutableRelease[] {
  const bad = (what: string) => new TetoraError('TET_ERR_UPGRADE_CONFIG', `the release index ${indexUrl} is malformed: ${what}. Fix the index (README "Upgrading" shows its form) or upgrade.url.`, { url: indexUrl });
  if (!json || typeof json !== 'object' || !Array.isArray((json as { versions?: unknown }).versions)) throw bad('it has no "versions" list');
  const out: ExecutableRelease[] = [];
  for (const [i, entry] of ((json as { versions: unknown[] }).versions).entries()) {
    const e = entry as { version?: unknown; files?: unknown };
    if (!e || typeof e.version !== 'string' || !isVersion(e.version)) throw bad(`versions[${i}].version is not a version like "1.2.3"`);
    if (!e.files || typeof e.files !== 'object') throw bad(`versions[${i}] (${e.version}) has no "files" object`);
    const f = (e.files as Record<string, { url?: unknown; sha256?: unknown } | undefined>)[target];
    if (!f) continue;
    if (typeof f.url !== 'string' || !f.url) throw bad(`versions[${i}].files.${target}.url is missing`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(f.sha256)) throw bad(`versions[${i}].files.${target}.sha256 is not 64 hex digits`);
    let url: string;
    try {
      url = new URL(f.url, indexUrl).toString();
    } catch {
      throw bad(`versions[${i}].files.${target}.url (${f.url}) is not a URL`);
    }
    out.push({ version: e.version.replace(/^v/, ''), url, sha256: f.sha256.toLowerCase() });
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * The release to install: `to` when given (TET_ERR_UPGRADE_NO_VERSION listing what exists when absent),
 * else the newest. `available` lists the versions there are (newest first), for messages.
 */
export function pickVersion(available: string[], to: string | undefined, where: string): string {
  const sorted = [...available].sort((a, b) => compareVersions(b, a));
  if (to !== undefined) {
    const want = to.replace(/^v/, '');
    if (!sorted.includes(want)) {
      throw new TetoraError('TET_ERR_UPGRADE_NO_VERSION', `${where} has no version ${want}${sorted.length ? ` (it has ${sorted.slice(0, 10).join(', ')}${sorted.length > 10 ? ', …' : ''})` : ''}. Pick one of those with --to, or run \`tetora upgrade --check\`.`, { version: want, available: sorted.slice(0, 50) });
    }
    return want;
  }
  const newest = sorted[0];
  if (newest === undefined) throw new TetoraError('TET_ERR_UPGRADE_NO_VERSION', `${where} lists no version at all. Check the address, or publish a release there.`, {});
  return newest;
}

/** What `npm view <pkg> versions dist-tags --json` printed: the versions and `latest`. */
export function parseNpmView(text: string, pkg: string): { versions: string[]; latest?: string } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new TetoraError('TET_ERR_UPGRADE_NPM', `npm view ${pkg} printed something that is not JSON: ${text.slice(0, 200)}`, {});
  }
  const o = j as { versions?: unknown; 'dist-tags'?: { latest?: unknown } };
  const versions = Array.isArray(o.versions) ? o.versions.filter((v): v is string => typeof v === 'string') : typeof o.versions === 'string' ? [o.versions] : [];
  const latest = typeof o['dist-tags']?.latest === 'string' ? o['dist-tags'].latest : undefined;
  return latest ? { versions, latest } : { versions };
}

/**
 * Where npm installed this package, from its folder: `<prefix>/lib/node_modules/<pkg>` (global, `npm
 * install -g --prefix <prefix>`), `<project>/node_modules/<pkg>` (local), or neither (a source checkout).
 */
export function npmLayout(root: string, pkg: string): { kind: 'global'; prefix: string } | { kind: 'local'; project: string } | { kind: 'checkout' } {
  const parts = root.replace(/\/+$/, '').split('/');
  const name = pkg.startsWith('@') ? 2 : 1;
  const nm = parts.length - name - 1;
  if (nm < 0 || parts[nm] !== 'node_modules') return { kind: 'checkout' };
  if (parts[nm - 1] === 'lib' && nm - 1 > 0) return { kind: 'global', prefix: parts.slice(0, nm - 1).join('/') || '/' };
  return { kind: 'local', project: parts.slice(0, nm).join('/') || '/' };
}

/** npm's failure in words: the kind of error it is (network, missing version, permissions) from its output. */
export function classifyNpmFailure(output: string, what: string): TetoraError {
  const quoted = output.trim().split('\n').slice(-6).join(' | ').slice(0, 600);
  if (/E404|404 Not Found|is not in this registry|No matching version|ETARGET/i.test(output)) {
    return new TetoraError('TET_ERR_UPGRADE_NO_VERSION', `${what}: the registry has no such package or version (npm: ${quoted}). Check the version with \`tetora upgrade --check\`.`, {});
  }
  if (/EACCES|EPERM|permission denied/i.test(output)) {
    return new TetoraError('TET_ERR_UPGRADE_PERMISSION', `${what}: npm may not write the install folder (npm: ${quoted}). Run it as the user who installed Tetora, or with sudo for a system-wide install.`, {});
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|network|fetch failed|socket hang up/i.test(output)) {
    return new TetoraError('TET_ERR_UPGRADE_NETWORK', `${what}: npm cannot reach the registry (npm: ${quoted}). Check the network and the registry setting (upgrade.registry, or npm's own \`npm config get registry\`).`, {});
  }
  return new TetoraError('TET_ERR_UPGRADE_NPM', `${what} failed (npm: ${quoted}).`, {});
}
