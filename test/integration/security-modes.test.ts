/**
 * Issue 14, security tests: file modes. After a real daemon run (tasks, one whose output is spooled, the log
 * file, a config reload, a backup), every file the daemon or the CLI wrote under $TETORA_HOME is 0600 and
 * every folder 0700 — while a task runs (its spool files, the store's -wal/-shm) and after; the backup
 * archive is 0600. The test runs the daemon and the CLI under umask 0, so only what Tetora does counts: its
 * entry point sets umask 077 (src/cli/main.ts), plus explicit modes on the files it creates.
 */
import { lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';

let d: DaemonHarness;
const savedUmask = process.umask();

afterAll(async () => {
  process.umask(savedUmask);
  d?.kill('SIGTERM');
  await d?.exited();
});

/** Every path under `dir` with its permission bits. */
function walk(dir: string): Array<{ path: string; dir: boolean; mode: number }> {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const st = lstatSync(p);
    const entry = { path: p, dir: st.isDirectory(), mode: st.mode & 0o777 };
    return st.isDirectory() ? [entry, ...walk(p)] : st.isFile() ? [entry] : [];
  });
}

/** The home's entries (but the fake agent's own files) and those whose mode is not 0600 / 0700. */
function snapshot(home: string): { names: string[]; loose: string[] } {
  const entries = walk(home).filter((e) => {
    const rel = relative(home, e.path);
    return rel !== 'agent-log.jsonl' && !rel.startsWith('agent-state');
  });
  return {
    names: entries.map((e) => relative(home, e.path)),
    loose: entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${relative(home, e.path)} ${e.mode.toString(8)}`),
  };
}

describe('file modes', () => {
  it('every file the daemon and the CLI write under the home is 0600, every folder 0700, the backup 0600', async () => {
    d = await DaemonHarness.create({ logFile: { enabled: true } });
    // The fake agent's own files (its log and state) are set apart below; the config files are the user's
    // (the harness writes them 0600): the daemon, the reload and the backup must leave them so.
    writeFileSync(join(d.home, 'config.local.json'), '{}\n', { mode: 0o600 });
    // Children inherit the umask: 0 means every mode below is the one Tetora asked for.
    process.umask(0);
    await d.start();
    const small = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'ok' }) });
    const big = await d.dispatch({ agent: 'a', prompt: d.prompt({ bigOutput: 3 * 1024 * 1024 }) });
    await d.waitTerminal([...small.body.tasks, ...big.body.tasks].map((t) => t.id));
    // While a task runs: its spool files (stdin, stdout, stderr) and the store's -wal and -shm exist.
    const slow = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 4000, out: 'late' }) });
    const until = Date.now() + 20_000;
    while (!d.log().some((l) => l.event === 'start' && l.taskId === slow.body.tasks[0]!.id) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const during = snapshot(d.home);
    expect(during.names).toEqual(expect.arrayContaining(['tetora.db-wal', 'tetora.db-shm']));
    expect(during.names.filter((n) => n.startsWith('runtime/runs/') && /\/(stdout|stderr|stdin)$/.test(n)).length).toBeGreaterThanOrEqual(2);
    expect(during.loose).toEqual([]);
    await d.waitTerminal([slow.body.tasks[0]!.id]);
    d.kill('SIGHUP');
    const archive = join(d.home, 'b.tar.gz');
    const backup = await runCli(['--config', d.configPath, 'backup', archive], { TETORA_HOME: d.home });
    expect(backup.code, backup.stderr).toBe(0);
    d.kill('SIGTERM');
    await d.exited();
    process.umask(savedUmask);

    const after = snapshot(d.home);
    // The run wrote what the test is about: the store, the log file, the runtime folder, the backup.
    expect(after.names).toEqual(expect.arrayContaining(['tetora.db', 'config.json', 'config.local.json', 'b.tar.gz', 'logs', 'logs/tetora.log', 'runtime']));
    expect(after.loose).toEqual([]);
    expect(lstatSync(d.home).mode & 0o777).toBe(0o700);
  });
});
