/**
 * allowedDirs containment (src/engine/allowed-dirs.ts) on a real temporary folder tree: `..`, symlinks
 * leading out (also under a path that does not exist yet), the prefix trick `/allowed-evil` vs `/allowed`,
 * an allowed dir that is itself reached through a symlink, and the refusal's code, field and details.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedBy, assertAllowedDir, isInside, realResolve } from '../../src/engine/allowed-dirs.js';
import { TetoraError } from '../../src/errors.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tetora-allowed-')));
const allowed = join(root, 'allowed');
const evil = join(root, 'allowed-evil');
const outside = join(root, 'outside');
for (const d of [join(allowed, 'proj'), evil, outside]) mkdirSync(d, { recursive: true });
symlinkSync(outside, join(allowed, 'escape'));
symlinkSync(allowed, join(root, 'link-to-allowed'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('isInside', () => {
  it('takes the folder itself and folders below it, not a sibling sharing its prefix', () => {
    expect(isInside('/allowed', '/allowed')).toBe(true);
    expect(isInside('/allowed', '/allowed/a/b')).toBe(true);
    expect(isInside('/allowed', '/allowed-evil')).toBe(false);
    expect(isInside('/allowed', '/allowed-evil/x')).toBe(false);
    expect(isInside('/allowed', '/')).toBe(false);
    expect(isInside('/allowed/a', '/allowed')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });
  it('takes a child whose name starts with two dots', () => {
    expect(isInside('/allowed', '/allowed/..hidden')).toBe(true);
  });
});

describe('realResolve', () => {
  it('resolves `..` and symlinks, and a missing path through its nearest existing ancestor', () => {
    expect(realResolve(join(allowed, 'proj', '..', '..', 'outside'))).toBe(outside);
    expect(realResolve(join(allowed, 'escape'))).toBe(outside);
    expect(realResolve(join(allowed, 'escape', 'not', 'yet'))).toBe(join(outside, 'not', 'yet'));
    expect(realResolve(join(root, 'link-to-allowed', 'proj'))).toBe(join(allowed, 'proj'));
    expect(realResolve(join(allowed, 'new', 'deeper'))).toBe(join(allowed, 'new', 'deeper'));
  });
});

describe('allowedBy / assertAllowedDir', () => {
  it('allows a folder inside, also one that does not exist yet', () => {
    expect(allowedBy(join(allowed, 'proj'), [allowed])).toBe(allowed);
    expect(allowedBy(join(allowed, 'later', 'x'), [outside, allowed])).toBe(allowed);
    expect(() => assertAllowedDir('workdir', join(allowed, 'proj'), [allowed])).not.toThrow();
  });
  it('refuses `..` out, a symlink out (existing or not), and the prefix trick', () => {
    for (const p of [join(allowed, '..', 'outside'), join(allowed, 'proj', '..', '..', 'allowed-evil'), join(allowed, 'escape'), join(allowed, 'escape', 'new'), evil, join(evil, 'x')]) {
      expect(allowedBy(p, [allowed]), p).toBeUndefined();
    }
  });
  it('compares against the allowed dir after resolving it too (configured through a symlink)', () => {
    expect(allowedBy(join(allowed, 'proj'), [join(root, 'link-to-allowed')])).toBe(join(root, 'link-to-allowed'));
    expect(allowedBy(outside, [join(root, 'link-to-allowed')])).toBeUndefined();
  });
  it('allows everything when the list is empty', () => {
    expect(() => assertAllowedDir('workdir', outside, [])).not.toThrow();
  });
  it('refuses with TET_ERR_TASK_INVALID naming the field, the resolved path and the allowed dirs', () => {
    const given = join(allowed, 'escape', 'sub');
    let err: unknown;
    try {
      assertAllowedDir('tasks[0].workdir', given, [allowed]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TetoraError);
    const te = err as TetoraError;
    expect(te.code).toBe('TET_ERR_TASK_INVALID');
    expect(te.status).toBe(400);
    expect(te.message).toContain('tasks[0].workdir');
    expect(te.message).toContain(join(outside, 'sub'));
    expect(te.message).toContain(allowed);
    expect(te.details).toEqual({ field: 'tasks[0].workdir', path: given, resolved: join(outside, 'sub'), allowedDirs: [allowed] });
  });
});
