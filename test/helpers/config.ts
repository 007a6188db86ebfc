import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { TetoraError } from '../../src/errors.js';
import { writeTree } from './cli.js';

/** The TetoraError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): TetoraError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TetoraError);
    return err as TetoraError;
  }
  throw new Error('expected an error, none was thrown');
}

/** Temporary config folders for a test file, removed after each test: `home(files)` writes one. */
export function configHomes(prefix: string): (files: Record<string, unknown>) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (files) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return writeTree(dir, files);
  };
}

/** Load `file` in `dir` with exactly `env` as the environment. */
export function load(dir: string, env: Record<string, string | undefined> = {}, file = 'config.json') {
  return loadConfig({ configPath: join(dir, file), env });
}
