import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeDiskProblem, diskProblem, fsWriteFailure, runsDiskError } from '../../src/engine/spool-disk.js';

describe('spool disk: classifying a write failure of the runs\' disk', () => {
  it('maps ENOSPC and EDQUOT to full, EROFS to read-only, anything else to nothing', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(fsWriteFailure(e('ENOSPC'))).toBe('full');
    expect(fsWriteFailure(e('EDQUOT'))).toBe('full');
    expect(fsWriteFailure(e('EROFS'))).toBe('readonly');
    expect(fsWriteFailure(e('ENOENT'))).toBeUndefined();
    expect(fsWriteFailure(new Error('x'))).toBeUndefined();
    expect(fsWriteFailure(undefined)).toBeUndefined();
  });

  it('words the problem with the folder and the fix, and refuses work with the catalogued 503 code', () => {
    const full = describeDiskProblem('full', '/h/runtime/runs', 'ENOSPC');
    expect(full.reason).toBe('the disk holding /h/runtime/runs is full (ENOSPC)');
    expect(full.fix).toContain('df -h /h/runtime/runs');
    const ro = describeDiskProblem('readonly', '/h/runtime/runs');
    expect(ro.fix).toContain('findmnt -T /h/runtime/runs');
    const err = runsDiskError(full, '/h/runtime/runs', 'cannot accept the task');
    expect(err.code).toBe('TET_ERR_RUNS_DISK_FULL');
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/^cannot accept the task: runs cannot start: the disk holding \/h\/runtime\/runs is full \(ENOSPC\)\. Free space on it/);
    expect(runsDiskError(ro, '/h', 'x').code).toBe('TET_ERR_RUNS_DISK_READONLY');
  });

  it('finds no problem on a writable folder, also one that does not exist yet (its parent is probed)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-disk-'));
    expect(diskProblem(dir)).toBeUndefined();
    expect(diskProblem(join(dir, 'not', 'yet'))).toBeUndefined();
  });
});

describe('fileContains: searching a huge output in bounded memory', () => {
  it('finds a needle anywhere, also across the 1 MiB read boundary, and says false when it is absent', async () => {
    const { writeFileSync } = await import('node:fs');
    const { fileContains } = await import('../../src/engine/output.js');
    const dir = mkdtempSync(join(tmpdir(), 'tetora-contains-'));
    const f = join(dir, 'out');
    const needle = '"_delegate"';
    const mib = 1024 * 1024;
    for (const at of [0, 100, mib - 5, mib, 2 * mib + 3]) {
      const buf = Buffer.alloc(3 * mib, 'x');
      buf.write(needle, at);
      writeFileSync(f, buf);
      expect(fileContains(f, needle), `at ${at}`).toBe(true);
    }
    writeFileSync(f, Buffer.alloc(3 * mib, 'x'));
    expect(fileContains(f, needle)).toBe(false);
    writeFileSync(f, '');
    expect(fileContains(f, needle)).toBe(false);
  });
});
