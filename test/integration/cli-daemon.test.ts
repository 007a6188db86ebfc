/**
 * The CLI (`node bin/tetora.js` as a child process) against the real daemon (`tetora serve` as a child
 * process): ports fetch refuses, workdirs, --json errors, output of drain, the store fallback of
 * `task list|show|logs` without a daemon, and tool results in the progress lines.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';

let daemons: DaemonHarness[] = [];
afterEach(async () => {
  for (const d of daemons) await d.stop();
  daemons = [];
});

async function daemon(raw: Record<string, unknown> = {}): Promise<DaemonHarness> {
  const d = await DaemonHarness.create(raw);
  daemons.push(d);
  await d.start();
  return d;
}

/** Unprivileged ports on the WHATWG fetch "bad ports" list, which undici's fetch refuses to connect to. */
const BAD_PORTS = [6667, 6000, 5060, 10080, 6665, 6666, 6668, 6669, 6679, 6697, 5061, 6566, 4190, 4045, 3659, 2049, 1719, 1720, 1723];

describe('CLI: reaching the daemon', () => {
  it('reaches a daemon on a port that fetch refuses (status, task list, dispatch --wait, drain)', async () => {
    let d: DaemonHarness | undefined;
    for (const port of BAD_PORTS) {
      const candidate = await DaemonHarness.create();
      daemons.push(candidate);
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
