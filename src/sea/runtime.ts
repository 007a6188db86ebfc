/**
 * What the single executable (`npm run package`, see scripts/package.mjs and src/sea/entry.ts) hands the
 * rest of the code before the CLI starts: its build stamp, its embedded assets and the SQLite addon.
 * Outside the executable (installed through npm, or run from a checkout) there is none, and everything
 * comes from the package's files instead.
 */
export interface SeaRuntime {
  /** The package version the executable was built from. */
  version: string;
  /** The git commit it was built from (short), or '' when the tree was not a git checkout. */
  commit: string;
  /** `<platform>-<arch>`: the only platform it runs on (it is that platform's node binary). */
  target: string;
  /** The names of the embedded assets (`better_sqlite3.node`, `dashboard/...` once the dashboard exists). */
  assets: readonly string[];
  /** An embedded asset's bytes, or undefined when the executable holds no such asset. */
  asset(name: string): ArrayBuffer | undefined;
  /** The loaded better-sqlite3 addon (extracted from its asset on first use, then `process.dlopen`ed). */
  sqliteBinding(): unknown;
}

declare global {
  // Set by src/sea/entry.ts, and only there.
  var __tetoraSea: SeaRuntime | undefined;
}

/** The single executable's runtime, or undefined when Tetora runs on an installed Node. */
export function seaRuntime(): SeaRuntime | undefined {
  return globalThis.__tetoraSea;
}

/** Options every better-sqlite3 `new Database(...)` takes: the embedded addon inside the executable. */
export function sqliteOptions(): { nativeBinding?: string } {
  const sea = seaRuntime();
  // better-sqlite3 accepts an already loaded addon object as nativeBinding (its types say string).
  return sea ? { nativeBinding: sea.sqliteBinding() as string } : {};
}
