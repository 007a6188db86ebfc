/**
 * Workflow files that lead out of their folder (src/util/confine.ts, src/workflows/load.ts), on real
 * symlinks: a link to a file outside (absolute, relative `../`, through a chain, dangling) is neither
 * listed, read, found by name or file name, nor written through; a link to a file inside the folder and a
 * workflow folder that is itself a symlink are fine.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapesFolder, finalTarget } from '../../src/util/confine.js';
import { findWorkflow, loadWorkflows, saveWorkflow } from '../../src/workflows/load.js';
import { thrown } from '../helpers/config.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tetora-wf-links-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const flow = (name: string) => JSON.stringify({ name, steps: [{ id: 'a', agent: 'x', prompt: 'p' }] });

function tree(): { dir: string; outside: string } {
  const base = mkdtempSync(join(root, 't-'));
  const dir = join(base, 'workflows');
  mkdirSync(dir);
  const outside = join(base, 'secret.json');
  writeFileSync(outside, flow('secret'));
  writeFileSync(join(dir, 'real.json'), flow('real'));
  return { dir, outside };
}

describe('escapesFolder', () => {
  it('follows links (absolute, relative, chained, dangling) to where they finally lead', () => {
    const { dir, outside } = tree();
    symlinkSync(outside, join(dir, 'abs.json'));
    symlinkSync('../secret.json', join(dir, 'rel.json'));
    symlinkSync('abs.json', join(dir, 'chain.json'));
    symlinkSync('../missing/later.json', join(dir, 'dangling.json'));
    symlinkSync('real.json', join(dir, 'inside.json'));
    expect(escapesFolder(dir, join(dir, 'abs.json'))).toBe(outside);
    expect(escapesFolder(dir, join(dir, 'rel.json'))).toBe(outside);
    expect(escapesFolder(dir, join(dir, 'chain.json'))).toBe(outside);
    expect(escapesFolder(dir, join(dir, 'dangling.json'))).toBe(join(dir, '..', 'missing', 'later.json'));
    expect(escapesFolder(dir, join(dir, 'inside.json'))).toBeUndefined();
    expect(escapesFolder(dir, join(dir, 'real.json'))).toBeUndefined();
    expect(escapesFolder(dir, join(dir, 'not-yet.json'))).toBeUndefined();
    expect(finalTarget(join(dir, 'inside.json'))).toBe(join(dir, 'real.json'));
  });

  it('a workflow folder reached through a symlink is judged by its real path', () => {
    const { dir } = tree();
    const link = join(dir, '..', 'wf-link');
    symlinkSync(dir, link);
    expect(escapesFolder(link, join(link, 'real.json'))).toBeUndefined();
    symlinkSync(join(dir, '..', 'secret.json'), join(dir, 'evil.json'));
    expect(escapesFolder(link, join(link, 'evil.json'))).toBe(join(dir, '..', 'secret.json'));
  });
});

describe('workflow files that lead out of the folder', () => {
  it('are not loaded: a problem names the file and where it leads; the rest loads', () => {
    const { dir, outside } = tree();
    symlinkSync(outside, join(dir, 'evil.json'));
    symlinkSync('real.json', join(dir, 'alias.json'));
    const r = loadWorkflows(dir);
    expect([...r.workflows.keys()]).toEqual([]);
    expect(r.duplicates.get('real')).toEqual([join(dir, 'alias.json'), join(dir, 'real.json')]);
    const escape = r.errors.find((e) => e.file === join(dir, 'evil.json'));
    expect(escape?.message).toBe(`workflow file ${join(dir, 'evil.json')} leads to ${outside}, outside ${dir} (a symlink out of the folder); it was not read or written. Replace the link with the file itself, or move the file into ${dir}`);
    expect(JSON.stringify(r)).not.toContain('"secret"');
  });

  it('are not found by name or file name (TET_ERR_WORKFLOW_FILE_ESCAPE), and the name they declare stays unknown', () => {
    const { dir, outside } = tree();
    symlinkSync(outside, join(dir, 'evil.json'));
    for (const name of ['evil', 'evil.json']) {
      const err = thrown(() => findWorkflow(dir, name, { allowPath: false }));
      expect(err.code).toBe('TET_ERR_WORKFLOW_FILE_ESCAPE');
      expect(err.message).toContain(`leads to ${outside}`);
      expect(err.details).toMatchObject({ file: join(dir, 'evil.json'), target: outside, dir });
    }
    expect(thrown(() => findWorkflow(dir, 'secret', { allowPath: false })).code).toBe('TET_ERR_WORKFLOW_NOT_FOUND');
  });

  it('are not written through, even when the target does not exist yet', () => {
    const { dir, outside } = tree();
    symlinkSync(outside, join(dir, 'evil.json'));
    symlinkSync('../planted.json', join(dir, 'planted.json'));
    const before = readFileSync(outside, 'utf8');
    for (const name of ['evil', 'planted']) {
      const err = thrown(() => saveWorkflow(dir, name, flow(name)));
      expect(err.code).toBe('TET_ERR_WORKFLOW_FILE_ESCAPE');
      expect(err.message).toContain(`${join(dir, `${name}.json`)} leads to`);
    }
    expect(readFileSync(outside, 'utf8')).toBe(before);
    expect(existsSync(join(dir, '..', 'planted.json'))).toBe(false);
    expect(saveWorkflow(dir, 'fresh', flow('fresh')).created).toBe(true);
  });
});
