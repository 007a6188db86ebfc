import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fullOutput } from '../../src/engine/output.js';
import { TetoraError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tetora-full-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fullOutput', () => {
  it('is the row’s output when no spool file holds it', () => {
    expect(fullOutput({ id: 't1', output: 'héllo 世界 🎉', outputFile: null })).toBe('héllo 世界 🎉');
    expect(fullOutput({ id: 't1', output: null, outputFile: null })).toBe('');
  });

  it('reads the spool file whole when the row keeps only the head', () => {
    const file = join(dir, 'stdout');
    const whole = `${'漢字🙂 code `x` '.repeat(50_000)}end`;
    writeFileSync(file, whole);
    expect(fullOutput({ id: 't2', output: whole.slice(0, 100), outputFile: file })).toBe(whole);
  });

  it('refuses, naming the task and the file, when the spool file is gone', () => {
    const file = join(dir, 'missing');
    let err: unknown;
    try {
      fullOutput({ id: 't3', output: 'head', outputFile: file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TetoraError);
    expect((err as TetoraError).code).toBe('TET_ERR_TASK_OUTPUT_GONE');
    expect((err as TetoraError).message).toContain('t3');
    expect((err as TetoraError).message).toContain(file);
  });
});
