import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSpool } from '../../src/engine/provider.js';
import { spawnGroup } from '../../src/providers/spawn.js';
import { markedProcesses } from '../../src/util/procgroup.js';
import { waitUntil } from '../helpers/engine-harness.js';

function spool(marker: string, over: Partial<RunSpool> = {}): RunSpool & { launches: number[] } {
  const launches: number[] = [];
  return {
    dir: join(mkdtempSync(join(tmpdir(), 'tetora-spawn-')), 'run'),
    marker,
    seen: { out: 0, err: 0 },
    replaying: false,
    maxOutputBytes: 1 << 20,
    launched: (l) => launches.push(l.pid),
    advanced: () => {},
    launches,
    ...over,
  };
}

describe('spawnGroup: detached, spooled runs', () => {
  it('records the launcher before the agent starts; an agent never starts when the record fails', async () => {
    const s = spool(`test/${process.pid}/norecord`, {
      launched: () => {
        throw new Error('disk full');
      },
    });
    const marker = join(s.dir, '..', 'ran');
    await expect(spawnGroup({ command: '/bin/sh', args: ['-c', `touch ${marker}`], cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' }, signal: new AbortController().signal, spool: s })).rejects.toThrow('disk full');
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
  });

  it('an adapter that throws on a line fails the run and kills it: nothing goes on unwatched', async () => {
    const s = spool(`test/${process.pid}/throws`);
    const run = spawnGroup({
      command: '/bin/sh',
      args: ['-c', 'echo first; sleep 300'],
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '' },
      signal: new AbortController().signal,
      spool: s,
      graceMs: 200,
      onStdoutLine: () => {
        throw new Error('parser broke');
      },
    });
    await expect(run).rejects.toThrow('parser broke');
    await waitUntil(() => markedProcesses((m) => m === s.marker).length === 0);
    expect(s.launches).toHaveLength(1);
  });

  it('reports an executable that does not exist as a spawn error, starting nothing', async () => {
    const s = spool(`test/${process.pid}/enoent`);
    const r = await spawnGroup({ command: 'no-such-agent-binary', args: [], cwd: tmpdir(), env: { PATH: '/usr/bin:/bin' }, signal: new AbortController().signal, spool: s });
    expect(r.spawnError).toBe('cannot run no-such-agent-binary: spawn no-such-agent-binary ENOENT');
    expect(s.launches).toHaveLength(0);
  });
});
