/**
 * The CLI (`node bin/tetora.js` as a child process) against the real daemon (`tetora serve` as a child
 * process): ports fetch refuses, workdirs, --json errors, output of drain, the store fallback of
 * `task list|show|logs` without a daemon, and tool results in the progress lines.
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli as runCliIn } from '../helpers/cli.js';
import { DaemonHarness, daemonPool, runCli } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

const { start: daemon, track } = daemonPool();

/** Unprivileged ports on the WHATWG fetch "bad ports" list, which undici's fetch refuses to connect to. */
const BAD_PORTS = [6667, 6000, 5060, 10080, 6665, 6666, 6668, 6669, 6679, 6697, 5061, 6566, 4190, 4045, 3659, 2049, 1719, 1720, 1723];

describe('CLI: reaching the daemon', () => {
  it('reaches a daemon on a port that fetch refuses (status, task list, dispatch --wait, drain)', async () => {
    let d: DaemonHarness | undefined;
    for (const port of BAD_PORTS) {
      const candidate = await DaemonHarness.create();
      track(candidate);
      try {
        await candidate.start({ port });
        d = candidate;
        break;
      } catch {
        // taken on this machine: try the next one
      }
    }
    if (!d) throw new Error(`none of the ports ${BAD_PORTS.join(', ')} was free for the daemon`);
    // The premise: fetch will not talk to this port at all.
    await expect(fetch(`http://127.0.0.1:${d.port}/healthz`)).rejects.toThrow();

    const status = await d.cli(['status']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`127.0.0.1:${d.port}`);

    const run = await d.cli(['dispatch', d.prompt({ out: 'answer on a bad port' }), '--agent', 'a', '--wait']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('answer on a bad port\n');

    const list = await d.cli(['task', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { tasks: unknown[] }).tasks).toHaveLength(1);

    const drain = await d.cli(['drain']);
    expect(drain.code).toBe(0);
    expect(drain.stdout).toMatch(/^draining: /);
    expect(await d.exited()).toBe(0);
  });
});

/** Every command with a --json option, with a placeholder for each required argument. */
function jsonCommands(): string[][] {
  const out: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      // Required arguments get a placeholder, or a valid value where the command checks it before the config (a status).
      if (sub.options.some((o) => o.long === '--json')) out.push([...path, ...sub.registeredArguments.filter((a) => a.required).map((a) => (a.name() === 'status' ? 'todo' : 'x'))]);
      walk(sub, path);
    }
  };
  walk(buildProgram(), []);
  return out;
}

interface JsonError {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('CLI: --json errors', () => {
  it('every command with --json prints its error as {"error": {code, message, details}} on stdout, keeping the exit code', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'tetora-json-')), 'nowhere', 'config.json');
    // Commands that need no config: init writes one, doctor reports it, config validate has its own answer
    // (below); a service is removed and an archive restored on a machine without one (a fresh machine);
    // upgrade refuses a source checkout before anything else.
    const noConfig = ['init', 'doctor', 'config validate', 'service uninstall', 'restore', 'upgrade'];
    const commands = jsonCommands().filter((c) => !noConfig.includes(c.slice(0, 2).join(' ').replace(/ x$/, '')));
    expect(commands.length).toBeGreaterThan(10);
    // Four at a time: one Node process per command, and the list grows with every command group.
    const results: Array<{ args: string[]; r: Awaited<ReturnType<typeof runCli>> }> = [];
    for (let i = 0; i < commands.length; i += 4) {
      const batch = commands.slice(i, i + 4);
      results.push(...(await Promise.all(batch.map(async (args) => ({ args, r: await runCli([...args, '--json', '--config', missing]) })))));
    }
    for (const { args, r } of results) {
      expect(r.code, args.join(' ')).toBe(78);
      const out = JSON.parse(r.stdout) as JsonError;
      expect(out, args.join(' ')).toEqual({ error: { code: 'TET_ERR_CONFIG_NOT_FOUND', message: expect.stringContaining(missing) as string, details: { path: missing } } });
      expect(r.stderr).toContain(missing);
    }
    // `config validate --json` keeps its {ok: false, error} answer.
    const validate = await runCli(['config', 'validate', '--json', '--config', missing]);
    expect(validate.code).toBe(78);
    expect((JSON.parse(validate.stdout) as { ok: boolean; error: { code: string } }).error.code).toBe('TET_ERR_CONFIG_NOT_FOUND');
  }, 180_000);

  it('usage errors, daemon errors and an unreachable daemon print the error object too', async () => {
    const d = await daemon();
    const usage = await d.cli(['task', 'list', '--json', '--bogus']);
    expect(usage.code).toBe(64);
    expect((JSON.parse(usage.stdout) as JsonError).error.code).toBe('TET_ERR_USAGE');
    const priority = await d.cli(['dispatch', 'hi', '--priority', 'high', '--json']);
    expect(priority.code).toBe(64);
    expect((JSON.parse(priority.stdout) as JsonError).error).toMatchObject({ code: 'TET_ERR_USAGE', message: expect.stringContaining('--priority') as string });
    const unknown = await d.cli(['task', 'show', 'no-such-task', '--json']);
    expect(unknown.code).toBe(65);
    expect((JSON.parse(unknown.stdout) as JsonError).error).toMatchObject({ code: 'TET_ERR_TASK_NOT_FOUND', details: { status: 404 } });
    const agent = await d.cli(['dispatch', 'hi', '--agent', 'nobody', '--json']);
    expect(agent.code).toBe(64);
    expect((JSON.parse(agent.stdout) as JsonError).error.code).toBe('TET_ERR_AGENT_UNKNOWN');
    // Without --json, stdout stays empty.
    expect((await d.cli(['task', 'show', 'no-such-task'])).stdout).toBe('');

    await d.stop();
    const down = await d.cli(['status', '--json']);
    expect(down.code).toBe(69);
    expect((JSON.parse(down.stdout) as JsonError).error).toMatchObject({ code: 'TET_ERR_DAEMON_UNREACHABLE', details: { url: `http://127.0.0.1:${d.port}` } });
  });
});

describe('CLI: an error while following a task', () => {
  it("a daemon restarted with another token refuses the follow's reconnect: the daemon's message, exit 1", async () => {
    const d = await daemon();
    const waiting = d.cli(['dispatch', d.prompt({ sleepMs: 3000, out: 'late' }), '--agent', 'a', '--wait']);
    await waitUntil(() => d.log().some((l) => l.event === 'start'));
    d.kill('SIGKILL');
    await d.exited();
    d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), apiToken: 'another-token-0123456789abcdef' });
    await d.start();
    const r = await waiting;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^task \S+ accepted \(queued\)\n/);
    expect(r.stderr.endsWith('tetora: the bearer token is wrong; use the apiToken from the daemon config.\n')).toBe(true);
  });
});

/** `tetora <args>` against `d`, run from the folder `cwd`. */
function cliFrom(d: DaemonHarness, cwd: string, args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  return runCliIn(['--config', d.configPath, ...args], { ...env, TETORA_HOME: d.home }, { cwd });
}

describe('CLI: dispatch --workdir', () => {
  it('sends the folder the user typed, made absolute from their current folder, never one in the Tetora home', async () => {
    const d = await daemon();
    const project = realpathSync(mkdtempSync(join(tmpdir(), 'tetora-project-')));
    mkdirSync(join(project, 'sub'));
    writeFileSync(join(project, 'notes.txt'), 'a file\n');

    const here = await cliFrom(d, project, ['dispatch', d.prompt({ out: 'here' }), '--agent', 'a', '--workdir', '.', '--wait', '--json']);
    expect(here.code).toBe(0);
    const sub = await cliFrom(d, project, ['dispatch', d.prompt({ out: 'sub' }), '--agent', 'a', '--workdir', './sub', '--wait', '--json']);
    expect(sub.code).toBe(0);
    const byTask = (id: string) => d.log().find((l) => l.event === 'start' && l.taskId === id)?.cwd;
    const hereTask = JSON.parse(here.stdout) as { id: string; workdir: string };
    const subTask = JSON.parse(sub.stdout) as { id: string; workdir: string };
    expect([hereTask.workdir, byTask(hereTask.id)]).toEqual([project, project]);
    expect([subTask.workdir, byTask(subTask.id)]).toEqual([join(project, 'sub'), join(project, 'sub')]);

    const missing = await cliFrom(d, project, ['dispatch', 'never runs', '--agent', 'a', '--workdir', 'missing']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain(`${join(project, 'missing')}, which does not exist`);
    const file = await cliFrom(d, project, ['dispatch', 'never runs', '--agent', 'a', '--workdir', 'notes.txt']);
    expect(file.code).toBe(64);
    expect(file.stderr).toContain('not a folder');
    const list = JSON.parse((await d.cli(['task', 'list', '--json'])).stdout) as { tasks: unknown[] };
    expect(list.tasks).toHaveLength(2); // the refused ones were never sent
  });
});

describe('CLI: task list|show|logs without a daemon', () => {
  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  it('read the store (read-only) and print what the daemon printed, human and --json, saying so on stderr', async () => {
    const d = await daemon();
    const ok = await d.cli(['dispatch', d.prompt({ out: 'first answer' }), '--agent', 'a', '--wait']);
    expect(ok.code).toBe(0);
    const bad = await d.cli(['dispatch', d.prompt({ exit: 3, stderr: 'it broke' }), '--agent', 'b', '--wait', '--json']);
    expect(bad.code).toBe(1);
    const failed = JSON.parse(bad.stdout) as { id: string };
    const [first] = (JSON.parse((await d.cli(['task', 'list', '--status', 'succeeded', '--json'])).stdout) as { tasks: Array<{ id: string }> }).tasks;
    const commands = [
      ['task', 'list'],
      ['task', 'list', '--json'],
      ['task', 'list', '--status', 'failed', '--agent', 'b', '--json'],
      ['task', 'list', '-n', '1'],
      ['task', 'show', first!.id],
      ['task', 'show', failed.id, '--json'],
      ['task', 'logs', first!.id],
      ['task', 'logs', failed.id, '--json'],
    ];
    const online = [];
    for (const c of commands) online.push(await d.cli(c));
    for (const [i, r] of online.entries()) {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
    }
    expect(online[6]!.stdout).toContain('succeeded');

    const drained = await d.cli(['drain']);
    expect(drained.code).toBe(0);
    expect(await d.exited()).toBe(0);
    const dbPath = join(d.home, 'tetora.db');
    const before = sha(dbPath);
    for (const [i, c] of commands.entries()) {
      const r = await d.cli(c);
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.stdout, c.join(' ')).toBe(online[i]!.stdout);
      expect(r.stderr).toBe(`tetora: no daemon answers at http://127.0.0.1:${d.port}; reading the store ${dbPath} directly\n`);
    }
    const follow = await d.cli(['task', 'logs', failed.id, '--follow']);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toContain('it broke');
    expect(follow.stderr).toContain('not following');
    expect(sha(dbPath)).toBe(before);

    const missing = await d.cli(['task', 'show', 'no-such-task', '--json']);
    expect(missing.code).toBe(65);
    expect((JSON.parse(missing.stdout) as JsonError).error.code).toBe('TET_ERR_TASK_NOT_FOUND');
    const badStatus = await d.cli(['task', 'list', '--status', 'done']);
    expect(badStatus.code).toBe(64);
    expect(badStatus.stderr).toContain('--status "done" includes "done", which is not a task status');
  });

  it('after a SIGKILL (WAL files left behind) the store still reads; a home without a database has no tasks', async () => {
    const d = await daemon();
    const r = await d.cli(['dispatch', d.prompt({ out: 'kept' }), '--agent', 'a', '--wait', '--json']);
    const id = (JSON.parse(r.stdout) as { id: string }).id;
    d.kill('SIGKILL');
    await d.exited();
    const show = await d.cli(['task', 'show', id, '--json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id, status: 'succeeded', output: 'kept' });

    const empty = await DaemonHarness.create();
    expect(existsSync(join(empty.home, 'tetora.db'))).toBe(false);
    const list = await empty.cli(['task', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ tasks: [], nextCursor: null });
    const none = await empty.cli(['task', 'logs', 'abc']);
    expect(none.code).toBe(65);
    expect(none.stderr).toContain('no database yet');
    expect(existsSync(join(empty.home, 'tetora.db'))).toBe(false);
  });
});

describe('CLI: drain', () => {
  it('prints one whole line, also when the daemon is already draining, and a JSON document with --json', async () => {
    const d = await daemon({ drainTimeout: '20s' });
    const res = await d.dispatch({ prompt: d.prompt({ sleepMs: 8000, out: 'slow' }), agent: 'a' });
    expect(res.status).toBe(202);
    await waitUntil(() => d.log().some((l) => l.event === 'start'));
    const first = await d.cli(['drain']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('draining: 1 running task(s) get up to drainTimeout to finish; 0 queued task(s) stay queued for the next start.\n');
    const again = await d.cli(['drain', '--json']);
    expect(again.code).toBe(0);
    expect(again.stdout.endsWith('}\n')).toBe(true);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'draining', alreadyDraining: true, running: 1 });
    expect(await d.exited()).toBe(0);
  });
});
