/**
 * The entry point of the single executable (bundled by scripts/package.mjs with esbuild into one CommonJS
 * file, which `node --experimental-sea-config` turns into the blob postject injects into a copy of node).
 * It sets up what the executable has instead of node_modules (the SQLite addon as an asset, the build
 * stamp) and runs the CLI exactly as bin/tetora.js does.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sea from 'node:sea';
import { main } from '../cli/main.js';
import type { SeaRuntime } from './runtime.js';

// Replaced by esbuild (--define) at packaging time.
declare const __TETORA_VERSION__: string;
declare const __TETORA_COMMIT__: string;
declare const __TETORA_ASSETS__: string[];
declare const __TETORA_TARGET__: string;

const ADDON = 'better_sqlite3.node';

/**
 * A private folder for the extracted addon: $XDG_CACHE_HOME/tetora, ~/.cache/tetora, or a per-user folder
 * in the temp dir. A folder not owned by this user (or not 0700 when it is the temp dir's) is not used.
 */
function cacheDir(): string {
  const uid = process.getuid?.() ?? 0;
  const candidates = [process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'tetora') : undefined, homedir() ? join(homedir(), '.cache', 'tetora') : undefined, join(tmpdir(), `tetora-${uid}`)].filter((x): x is string => !!x);
  const problems: string[] = [];
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(dir);
      if (!st.isDirectory() || (process.getuid && st.uid !== uid)) {
        problems.push(`${dir} is not a folder of this user`);
        continue;
      }
      return dir;
    } catch (err) {
      problems.push(`${dir}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot extract the SQLite addon: no writable cache folder (${problems.join('; ')}); set XDG_CACHE_HOME to a writable folder`);
}

let binding: unknown;

/** Writes the embedded addon once per content (a file named by its hash) and loads it with process.dlopen. */
function sqliteBinding(): unknown {
  if (binding) return binding;
  const bytes = Buffer.from(sea.getAsset(ADDON));
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const file = join(dir, `better_sqlite3-${hash}.node`);
  if (!existsSync(file) || statSync(file).size !== bytes.length) {
    // Written aside and renamed: two processes starting together never load a half-written file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o700 });
    chmodSync(tmp, 0o700);
    renameSync(tmp, file);
  }
  const mod = { exports: {} as unknown };
  process.dlopen(mod, file);
  binding = mod.exports;
  return binding;
}

const runtime: SeaRuntime = {
  version: __TETORA_VERSION__,
  commit: __TETORA_COMMIT__,
  target: __TETORA_TARGET__,
  assets: __TETORA_ASSETS__,
  asset(name) {
    if (!__TETORA_ASSETS__.includes(name)) return undefined;
    return sea.getAsset(name);
  },
  sqliteBinding,
};
globalThis.__tetoraSea = runtime;

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tetora: internal error: ${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
