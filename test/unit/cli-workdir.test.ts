import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workdirFromHere } from '../../src/cli/commands/dispatch.js';
import { thrown } from '../helpers/config.js';

describe('workdirFromHere', () => {
  const root = mkdtempSync(join(tmpdir(), 'tetora-wd-'));
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'f'), '');

  it('makes a relative folder absolute from the given current folder, and ~ from the home', () => {
    expect(workdirFromHere('.', join(root, 'a'), '/nowhere')).toBe(join(root, 'a'));
    expect(workdirFromHere('b/', join(root, 'a'), '/nowhere')).toBe(join(root, 'a', 'b'));
    expect(workdirFromHere('../a/./b', join(root, 'a'), '/nowhere')).toBe(join(root, 'a', 'b'));
    expect(workdirFromHere(root, '/', '/nowhere')).toBe(root);
    expect(workdirFromHere('~', '/', root)).toBe(root);
    expect(workdirFromHere('~/a', '/', root)).toBe(join(root, 'a'));
  });

  it('refuses a missing folder, a file and an empty value, naming the absolute path (TET_ERR_USAGE)', () => {
    const missing = thrown(() => workdirFromHere('nope', root, root));
    expect(missing.code).toBe('TET_ERR_USAGE');
    expect(missing.message).toContain(`${join(root, 'nope')}, which does not exist`);
    expect(missing.details).toEqual({ field: 'workdir', value: 'nope', path: join(root, 'nope') });
    expect(thrown(() => workdirFromHere('f', root, root)).message).toContain('is a file, not a folder');
    expect(thrown(() => workdirFromHere('f/x', root, root)).message).toContain('does not exist');
    expect(thrown(() => workdirFromHere(' ', root, root)).message).toContain('--workdir is empty');
  });
});
