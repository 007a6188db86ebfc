import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MARK = 'TETORA_TESTS_TMPDIR';

/**
 * Every temporary home, repository and database the tests make goes under one folder (TMPDIR is
 * inherited by the test workers and the daemons and agents they start), removed when the run ends.
 * Each vitest project (vitest.config.ts) runs this setup: the first one makes the folder, the others find it
 * (a folder per project, nested, made paths too long for Chromium's socket).
 */
export default function setup(): () => void {
  if (process.env[MARK]) return () => {};
  const root = mkdtempSync(join(tmpdir(), 'tetora-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  process.env[MARK] = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    delete process.env[MARK];
    rmSync(root, { recursive: true, force: true });
  };
}
