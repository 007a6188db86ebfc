/** The database records its writer's version; a database newer than this Tetora is refused, naming what it needs. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { version } from '../../src/cli/version.js';
import { isTetoraError } from '../../src/errors.js';
import { openDb, writerVersion } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the writer version in meta', () => {
  it('is recorded at every open for writing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-storever-'));
    dirs.push(dir);
    const db = openDb(join(dir, 'tetora.db'));
    expect(writerVersion(db)).toBe(version());
    db.close();
  });

  it('a database at a newer schema is refused at open with the schema and the version it needs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-storever-'));
    dirs.push(dir);
    const path = join(dir, 'tetora.db');
    openDb(path).close();
    const latest = Math.max(...migrations.map((m) => m.version));
    const raw = new Database(path);
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 3, 'from-the-future', Date.now());
    raw.prepare(`UPDATE meta SET value = '9.4.2' WHERE key = 'writer_version'`).run();
    raw.close();
    let err: unknown;
    try {
      openDb(path).close();
    } catch (e) {
      err = e;
    }
    expect(isTetoraError(err) && err.code).toBe('TET_ERR_STORE_MIGRATION');
    const message = (err as Error).message;
    expect(message).toContain(`schema version ${latest + 3} (written by Tetora 9.4.2)`);
    expect(message).toContain(`this Tetora ${version()} knows (schema ${latest})`);
    expect(message).toContain('tetora upgrade --to 9.4.2');
    // Refused without writing: the next version still reads its own writer.
    const check = new Database(path, { readonly: true });
    expect((check.prepare(`SELECT value FROM meta WHERE key = 'writer_version'`).get() as { value: string }).value).toBe('9.4.2');
    check.close();
  });
});
