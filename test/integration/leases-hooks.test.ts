import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DutyKeeper } from '../../src/duties/keeper.js';
import { silentLogger } from '../../src/engine/logger.js';
import { openDb } from '../../src/store/db.js';
import { LeaseStore } from '../../src/store/leases.js';
import { engineLifecycle, Harness, waitTerminal, waitUntil } from '../helpers/engine-harness.js';

const { started } = engineLifecycle();

function leases(): LeaseStore {
  return new LeaseStore(openDb(join(mkdtempSync(join(tmpdir(), 'tetora-lease-')), 'tetora.db')));
}

describe('store: leases of singleton duties', () => {
  it('gives a duty to one owner until its lease expires, then to the next who asks', () => {
    const l = leases();
    expect(l.acquire('discord:gateway', 'A', 1000, 0)).toBe(true);
    expect(l.acquire('discord:gateway', 'B', 1000, 500)).toBe(false);
    expect(l.acquire('discord:gateway', 'A', 1000, 600)).toBe(true); // the holder keeps it
    expect(l.renew('discord:gateway', 'A', 1000, 900)).toBe(true);
    expect(l.acquire('discord:gateway', 'B', 1000, 1800)).toBe(false); // renewed until 1900
    expect(l.acquire('discord:gateway', 'B', 1000, 1900)).toBe(true); // expired: taken over
    expect(l.renew('discord:gateway', 'A', 1000, 1950)).toBe(false); // A lost it and must stop
    expect(l.get('discord:gateway')).toMatchObject({ owner: 'B', acquiredAt: 1900, expiresAt: 2900 });
    l.release('discord:gateway', 'A'); // not A's: changes nothing
    expect(l.get('discord:gateway')?.owner).toBe('B');
    expect(l.acquire('schedule:x', 'B', 1000, 0)).toBe(true);
    expect(l.list('discord:').map((r) => r.duty)).toEqual(['discord:gateway']);
    expect(l.list('discord_').map((r) => r.duty)).toEqual([]); // `_` is not a wildcard
    l.releaseAll('B');
    expect(l.list()).toEqual([]);
  });

  it('releases the leases of instances recorded as stopped (only under the prefix), never those of running ones', () => {
    const raw = openDb(join(mkdtempSync(join(tmpdir(), 'tetora-lease-')), 'tetora.db'));
    const s = new LeaseStore(raw);
    raw.prepare("INSERT INTO instances (id, pid, hostname, started_at, stopped_at) VALUES ('dead', 1, 'h', 0, 5), ('live', 2, 'h', 6, NULL)").run();
    expect(s.acquire('schedule:job:a', 'dead', 1000, 0)).toBe(true);
    expect(s.acquire('schedule:job:b', 'live', 1000, 0)).toBe(true);
    expect(s.acquire('discord:deliver', 'dead', 1000, 0)).toBe(true);
    expect(s.releaseStopped('schedule:')).toBe(1);
    expect(s.list().map((r) => `${r.duty}=${r.owner}`)).toEqual(['discord:deliver=dead', 'schedule:job:b=live']);
    expect(s.releaseStopped('discord:deliver')).toBe(1);
    expect(s.list().map((r) => r.duty)).toEqual(['schedule:job:b']);
  });

  it('a keeper gains a free duty, another keeper waits, and takes it over when the first stops or its lease lapses', async () => {
    const l = leases();
    let now = 0;
    const log: string[] = [];
    const keeper = (owner: string) =>
      new DutyKeeper({
        duty: 'board:scan', owner, leases: l, ttlMs: 1000, everyMs: 10, now: () => now, log: silentLogger,
        onGain: () => void log.push(`${owner} gained`),
        onLose: (why, stopping) => void log.push(`${owner} lost${stopping ? ' (stopping)' : ''}: ${why}`),
      });
    const a = keeper('A');
    const b = keeper('B');
    a.start();
    await waitUntil(() => a.held);
    b.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(b.held).toBe(false);
    await a.stop();
    await waitUntil(() => b.held);
    expect(log).toEqual(['A gained', 'A lost (stopping): the daemon is stopping', 'B gained']);
    // B's lease lapses behind its back (its clock jumps past the expiry and C takes the row): B learns at its next renewal.
    now = 5000;
    expect(l.acquire('board:scan', 'C', 1000, now)).toBe(true);
    await waitUntil(() => !b.held);
    expect(log.at(-1)).toBe('B lost: its lease expired or another daemon took it over');
    await b.stop();
    expect(l.get('board:scan')?.owner).toBe('C');
  });
});

describe('engine: terminal hooks', () => {
  it('run in the transaction of the terminal state: a hook that throws rolls the state back; rows it writes commit with it', async () => {
    const h = new Harness();
    const e = await started(h);
    e.db.exec('CREATE TABLE hook_rows (task_id TEXT PRIMARY KEY, status TEXT NOT NULL)');
    const insert = e.db.prepare('INSERT INTO hook_rows (task_id, status) VALUES (?, ?)');
    let failOnce = true;
    const seen: string[] = [];
    e.onTerminal((t) => {
      seen.push(t.status);
      if (t.source === 'hook-test' && failOnce) {
        failOnce = false;
        insert.run(t.id, t.status);
        throw new Error('hook refused');
      }
      insert.run(t.id, t.status);
    });
    // A queued task cancelled: the first terminal write is rolled back with the hook's row.
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 5000 }) }, { source: 'hook-test', origin: { channel: 'c1' } });
    expect(e.get(task.id)?.origin).toBe('{"channel":"c1"}');
    await waitUntil(() => e.get(task.id)?.status === 'running');
    await e.cancel(task.id).catch(() => {});
    const row = () => e.db.prepare('SELECT status FROM hook_rows WHERE task_id = ?').get(task.id) as { status: string } | undefined;
    // The refused `cancelled` left no trace (no event, no hook row); the runner then recorded the failure
    // to record, and that terminal state committed together with its hook row.
    const [final] = await waitTerminal(e, [task.id]);
    expect(seen[0]).toBe('cancelled');
    expect(seen.length).toBe(2);
    expect(row()).toEqual({ status: final!.status });
    const terminalEvents = e.events(task.id).filter((ev) => ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(ev.type));
    expect(terminalEvents.map((ev) => ev.type)).toEqual([final!.status]);
    expect(final!.status).not.toBe('cancelled');
  });
});
