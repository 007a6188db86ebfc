import { describe, expect, it } from 'vitest';
import { EventBus, Ledger } from '../../src/engine/ledger.js';
import { openDb } from '../../src/store/db.js';
import { TaskStore, type TaskEvent } from '../../src/store/tasks.js';

function setup() {
  const store = new TaskStore(openDb(':memory:'));
  const bus = new EventBus();
  const seen: TaskEvent[] = [];
  bus.subscribe((e) => seen.push(e));
  const ledger = new Ledger(store, bus, () => 1000);
  store.insert({ id: 't1', source: 'test', prompt: 'p', status: 'queued', maxAttempts: 3, priority: 0, createdAt: 1000 }, { type: 'queued', data: {} });
  return { store, ledger, seen };
}

describe('Ledger.atomically', () => {
  it('commits several changes at once and publishes their events only after the commit', () => {
    const { store, ledger, seen } = setup();
    let seenInside = -1;
    ledger.atomically(() => {
      ledger.note('t1', 'provider.text', { text: 'hello' });
      ledger.move({ id: 't1' }, 'queued', 'cancelled', { errorMessage: 'stopped by test' }, { message: 'stopped by test' });
      seenInside = seen.length;
    });
    expect(seenInside).toBe(0);
    expect(seen.map((e) => e.type)).toEqual(['provider.text', 'cancelled']);
    expect(store.get('t1')?.status).toBe('cancelled');
  });

  it('rolls back every change and publishes nothing when the function throws', () => {
    const { store, ledger, seen } = setup();
    expect(() =>
      ledger.atomically(() => {
        ledger.note('t1', 'provider.text', { text: 'lost' });
        ledger.move({ id: 't1' }, 'queued', 'cancelled', { errorMessage: 'x' }, {});
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen).toEqual([]);
    expect(store.get('t1')?.status).toBe('queued');
    expect(store.events('t1').map((e) => e.type)).toEqual(['queued']);
    // Outside a transaction, events are published at once.
    ledger.note('t1', 'provider.text', { text: 'now' });
    expect(seen.map((e) => e.type)).toEqual(['provider.text']);
  });
});

describe('Ledger.progress', () => {
  it('buffers progress and writes it in one transaction at the end of the turn, before any later state change', async () => {
    const { store, ledger, seen } = setup();
    ledger.progress('t1', 'provider.text', { text: 'one' });
    ledger.progress('t1', 'provider.tool_call', { id: 'c1' });
    expect(store.events('t1').map((e) => e.type)).toEqual(['queued']);
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(store.events('t1').map((e) => e.type)).toEqual(['queued', 'provider.text', 'provider.tool_call']);
    expect(seen.map((e) => e.type)).toEqual(['provider.text', 'provider.tool_call']);
    // A state change right after progress keeps the order: progress first.
    ledger.progress('t1', 'provider.text', { text: 'two' });
    ledger.move({ id: 't1' }, 'queued', 'cancelled', { errorMessage: 'stop' }, {});
    expect(store.events('t1').map((e) => e.type).slice(-2)).toEqual(['provider.text', 'cancelled']);
    expect(seen.map((e) => e.type).slice(-2)).toEqual(['provider.text', 'cancelled']);
  });
});
