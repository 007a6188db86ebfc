/**
 * `tetora backup` / `tetora restore` against a real daemon: a backup taken while tasks run restores to a
 * daemon that sees every task that had finished; restore refuses a running daemon and damaged archives
 * (changing nothing), and keeps what it replaces.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonHarness, TOKEN, daemonPool } from '../helpers/daemon.js';

const pool = daemonPool();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'tetora-backup-test-'));
  dirs.push(d);
  return d;
};

/** Rewrite an archive after `change(dir)` edits its extracted files; the manifest's checksums are recomputed when `resum`. */
async function tamper(archive: string, out: string, change: (dir: string) => void, resum: boolean): Promise<void> {
  const dir = tmp();
  await tar.x({ file: archive, cwd: dir });
  change(dir);
  if (resum) {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; bytes: number; sha256: string }> };
    for (const f of manifest.files) {
      const buf = readFileSync(join(dir, f.path));
      f.bytes = buf.length;
      f.sha256 = createHash('sha256').update(buf).digest('hex');
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  }
  await tar.c({ gzip: true, file: out, cwd: dir }, readdirSync(dir));
}

async function waitRunning(d: DaemonHarness, ids: string[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ts = await Promise.all(ids.map((id) => d.task(id)));
    if (ts.every((t) => t.status === 'running')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('tasks did not start');
}

describe('backup and restore', () => {
  it('a backup taken while tasks run restores to a daemon that sees every finished task; restore refuses while a daemon runs', async () => {
    const d = await pool.start({ drainTimeout: '1s' });
    mkdirSync(join(d.home, 'workflows'), { recursive: true });
    writeFileSync(join(d.home, 'workflows', 'wf.json'), JSON.stringify({ name: 'wf', steps: [{ id: 's', agent: 'a', prompt: 'x' }] }));
    mkdirSync(join(d.home, 'agents', 'a'), { recursive: true });
    writeFileSync(join(d.home, 'agents', 'a', 'SOUL.md'), 'You are agent a.\n');
    writeFileSync(join(d.home, 'config.local.json'), JSON.stringify({ maxConcurrent: 6 }));

    const first = await d.dispatch([0, 1, 2, 3, 4].map((i) => ({ agent: i % 2 ? 'b' : 'a', prompt: d.prompt({ out: `answer ${i}` }) })));
    const finished = await d.waitTerminal(first.body.tasks.map((t) => t.id));
    expect(finished.every((t) => t.status === 'succeeded')).toBe(true);
    const slow = await d.dispatch([0, 1].map(() => ({ agent: 'a', prompt: d.prompt({ sleepMs: 60_000 }) })));
    const slowIds = slow.body.tasks.map((t) => t.id);
    await waitRunning(d, slowIds);

    const out = join(tmp(), 'home.tar.gz');
    const b = await d.cli(['backup', out, '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const made = JSON.parse(b.stdout) as { manifest: { tasks: number; secrets: string; files: Array<{ path: string }>; redacted: Record<string, string[]> } };
    expect(made.manifest.tasks).toBe(7);
    expect(made.manifest.secrets).toBe('redacted');
    expect(made.manifest.redacted['config.json']).toEqual(['apiToken']);
    expect(made.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['tetora.db', 'config.json', 'config.local.json', 'agents/a/SOUL.md', 'workflows/wf.json']));
    // The token is not in the archive.
    const peek = tmp();
    await tar.x({ file: out, cwd: peek });
    expect(readFileSync(join(peek, 'config.json'), 'utf8')).not.toContain(TOKEN);

    // Refused while the daemon holds the home, nothing touched.
    const refused = await d.cli(['restore', out, '--force']);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(/another Tetora daemon \(pid \d+, instance .*\) is running on .*tetora\.db; stop it first/);
    expect(readdirSync(d.home).filter((f) => f.startsWith('replaced-') || f.startsWith('.restore-'))).toEqual([]);

    // The daemon stops (its runs interrupted); the archive goes to a new home.
    d.kill('SIGTERM');
    expect(await d.exited()).toBe(0);
    d.killMarked();
    const d2 = pool.track(await DaemonHarness.create());
    const r = await d2.cli(['restore', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restored .*home\.tar\.gz \(taken .* checksums and database integrity checked\)/);
    expect(r.stdout).toContain('config.json');
    expect(existsSync(join(d2.home, 'workflows', 'wf.json'))).toBe(true);
    expect(readFileSync(join(d2.home, 'agents', 'a', 'SOUL.md'), 'utf8')).toBe('You are agent a.\n');
    // The hidden token came back from the config the restore replaced (which had the same token).
    expect((JSON.parse(readFileSync(d2.configPath, 'utf8')) as { apiToken: string }).apiToken).toBe(TOKEN);
    await d2.start();
    for (const t of finished) {
      const seen = await d2.task(t.id);
      expect(seen.status).toBe('succeeded');
      expect(seen.output).toBe(t.output);
    }
    // The tasks that ran during the backup are there too (the new daemon's boot recovery takes them on).
    for (const id of slowIds) expect((await d2.task(id)).id).toBe(id);
    d2.killMarked();
  }, 120_000);

  it('refuses damaged archives and an existing database without --force; with --force keeps what it replaces', async () => {
    const d = await pool.start();
    const done = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'kept' }) }, '?wait=true');
    const id = done.body.tasks[0]!.id;
    const dir = tmp();
    const good = join(dir, 'good.tar.gz');
    expect((await d.cli(['backup', good])).code).toBe(0);
    await d.stop();
    const before = readFileSync(join(d.home, 'tetora.db'));

    const garbage = join(dir, 'garbage.tar.gz');
    writeFileSync(garbage, 'this is not an archive at all');
    const changed = join(dir, 'changed.tar.gz');
    await tamper(good, changed, (x) => writeFileSync(join(x, 'config.json'), '{"maxConcurrent": 99}'), false);
    const badDb = join(dir, 'bad-db.tar.gz');
    await tamper(
      good,
      badDb,
      (x) => {
        const db = readFileSync(join(x, 'tetora.db'));
        db.fill(0xa5, 4096 * 2 + 8, 4096 * 6);
        writeFileSync(join(x, 'tetora.db'), db);
      },
      true,
    );
    const noManifest = join(dir, 'no-manifest.tar.gz');
    await tamper(good, noManifest, (x) => rmSync(join(x, 'manifest.json')), false);
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.tar.gz'), /the file does not exist/],
      [garbage, /it is not a readable \.tar\.gz/],
      [changed, /config\.json does not match its checksum in the manifest/],
      [badDb, /its database fails SQLite's integrity check/],
      [noManifest, /it has no manifest\.json, so it is not a Tetora backup/],
    ];
    for (const [file, why] of cases) {
      const r = await d.cli(['restore', file, '--force']);
      expect(r.code, `${file}: ${r.stderr}`).toBe(65);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/Nothing was changed; restore another archive\./);
    }
    expect(readFileSync(join(d.home, 'tetora.db')).equals(before)).toBe(true);
    expect(readdirSync(d.home).filter((f) => f.startsWith('replaced-') || f.startsWith('.restore-'))).toEqual([]);

    const noForce = await d.cli(['restore', good]);
    expect(noForce.code).toBe(73);
    expect(noForce.stderr).toMatch(/tetora\.db exists; `tetora restore .* --force` replaces it/);

    const forced = await d.cli(['restore', good, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    const res = JSON.parse(forced.stdout) as { keptIn: string; restored: Array<{ entry: string; replaced: boolean }> };
    expect(res.restored.find((x) => x.entry === 'tetora.db')?.replaced).toBe(true);
    expect(readdirSync(res.keptIn)).toEqual(expect.arrayContaining(['tetora.db', 'config.json']));
    await d.start();
    expect((await d.task(id)).output).toBe('kept');
  }, 120_000);

  it('says what is wrong with its arguments', async () => {
    const d = await DaemonHarness.create();
    const none = await d.cli(['restore']);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/missing required argument 'file'/);
    const bad = await d.cli(['backup', '--frobnicate']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/unknown option '--frobnicate'/);
    const help = await d.cli(['backup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--with-secrets/);
    const out = join(tmp(), 'x.tar.gz');
    writeFileSync(out, 'x');
    const exists = await d.cli(['backup', out]);
    expect(exists.code).toBe(74);
    expect(exists.stderr).toMatch(/already exists; give another file name/);
  });
});
