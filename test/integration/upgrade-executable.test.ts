/**
 * `tetora upgrade` as the single executable, end to end: two executables (1.0.0 and 1.1.0, built once for
 * this file from this tree) served with a release index by a local HTTP server on 127.0.0.1. A bad checksum
 * is refused and nothing is replaced; --check; an upgrade while an agent runs (the daemon restarts on the
 * new version, which adopts the agent: its task ends once, recorded by the new daemon); --rollback; --to a
 * version the index does not have.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSea, runExe, seaImpossible, startServe, type SeaBuild } from '../helpers/sea.js';

const impossible = seaImpossible();
const TOKEN = 'upgrade-test-token-0123456789abcdef';
const target = `${process.platform}-${process.arch}`;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe.skipIf(impossible !== undefined)(`tetora upgrade of the single executable${impossible ? ` (skipped: ${impossible})` : ''}`, () => {
  let root: string;
  let v1: SeaBuild;
  let v2: SeaBuild;
  let server: Server;
  let base = '';
  /** What /index.json serves; tests change it. */
  let index: unknown = {};
  let exe: string;
  let home: string;
  let env: Record<string, string>;

  const goodIndex = () => ({
    versions: [
      { version: '1.0.0', files: { [target]: { url: 'files/tetora-1.0.0', sha256: v1.sha256 } } },
      { version: '1.1.0', files: { [target]: { url: `${base}/files/tetora-1.1.0`, sha256: v2.sha256 } } },
    ],
  });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tetora-upgrade-exe-'));
    // Built one after the other: two esbuild+postject runs at once only compete for the same cores.
    v1 = await buildSea(join(root, 'files', 'tetora-1.0.0'), { version: '1.0.0' });
    v2 = await buildSea(join(root, 'files', 'tetora-1.1.0'), { version: '1.1.0' });
    server = createServer((req, res) => {
      if (req.url === '/index.json') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(index));
      }
      const m = /^\/files\/(tetora-1\.[01]\.0)$/.exec(req.url ?? '');
      if (m) return res.end(readFileSync(join(root, 'files', m[1] as string)));
      res.statusCode = 404;
      res.end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

    mkdirSync(join(root, 'bin'));
    exe = join(root, 'bin', 'tetora');
    copyFileSync(v1.out, exe);
    home = join(root, 'home');
    mkdirSync(home, { mode: 0o700 });
    env = { HOME: root, TETORA_HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
    // A slow agent: it records its start, waits for the file named by its prompt, then answers.
    writeConfig({});
  }, 300_000);

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function writeConfig(extra: Record<string, unknown>): void {
    writeFileSync(
      join(home, 'config.json'),
      JSON.stringify({
        apiToken: TOKEN,
        defaultProvider: 'sh',
        providers: { sh: { type: 'command', path: '/bin/sh', args: ['-c', 'read -r f; echo start >>"$f.starts"; while [ ! -e "$f" ]; do sleep 0.1; done; printf "finished\\n"'] } },
        agents: { slow: { provider: 'sh' } },
        defaultAgent: 'slow',
        drainTimeout: '30s',
        upgrade: { url: `${base}/index.json` },
        ...extra,
      }),
      { mode: 0o600 },
    );
  }

  it('refuses a download whose sha256 differs from the index and replaces nothing', async () => {
    index = { versions: [{ version: '1.1.0', files: { [target]: { url: 'files/tetora-1.1.0', sha256: 'a'.repeat(64) } } }] };
    const r = await runExe(exe, ['upgrade'], env);
    expect(r.code, r.stdout + r.stderr).toBe(65);
    expect(r.stderr).toContain('sha256');
    expect(r.stderr).toContain('nothing was replaced');
    expect(sha(exe)).toBe(v1.sha256);
    expect(readdirSync(join(root, 'bin'))).toEqual(['tetora']);
  });

  it('--check prints current and latest and exits 10 when newer exists, --to an unknown version is refused', async () => {
    index = goodIndex();
    const r = await runExe(exe, ['upgrade', '--check'], env);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stdout).toContain('current 1.0.0, latest 1.1.0');
    const none = await runExe(exe, ['upgrade', '--to', '9.9.9'], env);
    expect(none.code).toBe(65);
    expect(none.stderr).toContain('no version 9.9.9');
    expect(sha(exe)).toBe(v1.sha256);
  });

  it('upgrades while an agent runs: the daemon restarts on 1.1.0, adopts the agent, and its task ends once there; --rollback goes back', async () => {
    index = goodIndex();
    const daemon = await startServe(exe, [], env, root);
    writeConfig({ listenAddr: `127.0.0.1:${daemon.port}` });
    const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${daemon.port}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    let newPid: number | undefined;
    try {
      const before = (await (await api('/api/health')).json()) as { version: string; instance: string };
      expect(before.version).toBe('1.0.0');
      const go = join(root, 'go');
      const res = await api('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'slow', prompt: go }) });
      expect(res.status).toBe(202);
      const id = ((await res.json()) as { tasks: Array<{ id: string }> }).tasks[0]!.id;
      // The agent runs (it wrote its start) before the upgrade begins.
      while (!existsSync(`${go}.starts`)) await new Promise((r) => setTimeout(r, 50));

      const up = await runExe(exe, ['upgrade'], env);
      expect(up.code, up.stdout + up.stderr).toBe(0);
      expect(up.stdout).toContain('runs version 1.1.0');
      expect(sha(exe)).toBe(v2.sha256);
      expect(sha(`${exe}.previous`)).toBe(v1.sha256);
      // The old daemon handed over and exited cleanly; a new one (1.1.0) answers on the same address.
      expect(await daemon.exited).toBe(0);
      const after = (await (await api('/api/health')).json()) as { version: string; instance: string; pid: number };
      expect(after.version).toBe('1.1.0');
      expect(after.instance).not.toBe(before.instance);
      newPid = after.pid;
      expect((await (await api(`/api/tasks/${id}`)).json()) as { status: string }).toMatchObject({ status: 'running' });

      writeFileSync(go, '');
      let task: { status: string; output?: string };
      for (;;) {
        task = (await (await api(`/api/tasks/${id}`)).json()) as { status: string; output?: string };
        if (task.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(task.status).toBe('succeeded');
      expect(task.output).toContain('finished');
      // The agent started once; the task ended once, by the new daemon, which adopted the run.
      expect(readFileSync(`${go}.starts`, 'utf8')).toBe('start\n');
      const db = new Database(join(home, 'tetora.db'), { readonly: true });
      try {
        const events = db.prepare(`SELECT type FROM task_events WHERE task_id = ? ORDER BY seq`).all(id) as Array<{ type: string }>;
        expect(events.filter((e) => ['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted'].includes(e.type)).map((e) => e.type)).toEqual(['succeeded']);
        expect(events.map((e) => e.type)).toContain('adopted');
        const runs = db.prepare(`SELECT instance_id AS instance FROM task_runs WHERE task_id = ?`).all(id) as Array<{ instance: string }>;
        expect(runs).toEqual([{ instance: after.instance }]);
        const writer = db.prepare(`SELECT value FROM meta WHERE key = 'writer_version'`).get() as { value: string };
        expect(writer.value).toBe('1.1.0');
      } finally {
        db.close();
      }

      // Back to 1.0.0: the daemon restarts on it (nothing runs now).
      const back = await runExe(exe, ['upgrade', '--rollback'], env);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      expect(back.stdout).toContain('rolled back');
      expect(back.stdout).toContain('runs version 1.0.0');
      expect(sha(exe)).toBe(v1.sha256);
      expect(sha(`${exe}.previous`)).toBe(v2.sha256);
      const v = await runExe(exe, ['--version'], env);
      expect(v.stdout).toMatch(/^tetora 1\.0\.0 /);
      const again = (await (await api('/api/health')).json()) as { pid: number };
      newPid = again.pid;
      const drained = await runExe(exe, ['drain'], env);
      expect(drained.code, drained.stderr).toBe(0);
      while (alive(newPid)) await new Promise((r) => setTimeout(r, 100));
      newPid = undefined;
    } finally {
      daemon.child.kill('SIGKILL');
      if (newPid && alive(newPid)) process.kill(newPid, 'SIGKILL');
    }
  }, 240_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
