import { readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seaRuntime } from '../../sea/runtime.js';

/**
 * The dashboard's built files (`npm run build` writes them to dist/dashboard/: index.html, app.js,
 * app.css, …). Inside the single executable they are its embedded assets `dashboard/<file>`; otherwise
 * files of dist/dashboard/ beside this code (src/http/dashboard → ../../../dist/dashboard, and the same
 * from dist/http/dashboard), or of the folder TETORA_DASHBOARD_DIR names (development, tests).
 */
export interface AssetSource {
  /** Where the files come from, for messages. */
  readonly where: string;
  /** The file's bytes, or undefined when there is no such file (or the name is not a safe relative path). */
  read(name: string): Buffer | undefined;
}

/** The default folder: dist/dashboard/ of this package. */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));
}

/**
 * Whether `name` is a plain relative path inside the asset folder: no `..` or `.` segment, no absolute path,
 * no backslash, no NUL, no empty segment. Pure.
 */
export function safeAssetName(name: string): boolean {
  if (name === '' || name.length > 512 || name.includes('\0') || name.includes('\\') || name.startsWith('/')) return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** Files from a folder; a path that leaves it (also through a symlink) is no file. */
export function folderAssets(dir: string): AssetSource {
  const root = resolve(dir);
  return {
    where: root,
    read(name) {
      if (!safeAssetName(name)) return undefined;
      const path = join(root, name);
      try {
        const real = realpathSync(path);
        const realRoot = realpathSync(root);
        if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined;
        if (!statSync(real).isFile()) return undefined;
        return readFileSync(real);
      } catch {
        return undefined;
      }
    },
  };
}

/** The single executable's embedded `dashboard/<name>` assets. */
function seaAssets(asset: (name: string) => ArrayBuffer | undefined): AssetSource {
  return {
    where: 'the assets embedded in this executable',
    read(name) {
      if (!safeAssetName(name)) return undefined;
      try {
        const bytes = asset(`dashboard/${name}`);
        return bytes ? Buffer.from(bytes) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** Where this daemon reads the dashboard from: `dir` when given, the executable's assets, else dist/dashboard/. */
export function dashboardAssets(dir?: string): AssetSource {
  if (dir) return folderAssets(dir);
  const sea = seaRuntime();
  if (sea) return seaAssets((n) => sea.asset(n));
  return folderAssets(defaultDashboardDir());
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The Content-Type of an asset by its extension (unknown: application/octet-stream). Pure. */
export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers on every dashboard answer (pages and assets). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};
