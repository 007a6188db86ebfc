import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deleteWorkflow, findWorkflow, loadWorkflows, saveWorkflow } from '../../src/workflows/load.js';
import { thrown } from '../helpers/config.js';

function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tetora-wf-load-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const flow = (name: string, extra: Record<string, unknown> = {}) => ({ name, steps: [{ id: 'a', agent: 'x', prompt: 'p' }], ...extra });

describe('loadWorkflows', () => {
  it('finds workflows by their internal name, whatever the file is called', () => {
    const dir = folder({ 'workflow-basic.json': flow('research-and-summarize'), 'other.json': flow('other'), 'notes.txt': 'not json', 'sub.json': '' });
    mkdirSync(join(dir, 'nested.json'));
    const r = loadWorkflows(dir);
    expect([...r.workflows.keys()].sort()).toEqual(['other', 'research-and-summarize']);
    expect(r.workflows.get('research-and-summarize')?.file).toBe(join(dir, 'workflow-basic.json'));
    expect(r.errors.map((e) => e.file)).toEqual([join(dir, 'sub.json')]);
    expect(r.errors[0]?.message).toMatch(/not valid JSON/);
  });

  it('reports two files with one name as an error naming both, and finds that name in neither', () => {
    const dir = folder({ 'a.json': flow('same'), 'b.json': flow('same'), 'c.json': flow('fine') });
    const r = loadWorkflows(dir);
    expect(r.workflows.has('same')).toBe(false);
    expect(r.duplicates.get('same')).toEqual([join(dir, 'a.json'), join(dir, 'b.json')]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.message).toContain(join(dir, 'a.json'));
    expect(r.errors[0]?.message).toContain(join(dir, 'b.json'));
    const err = thrown(() => findWorkflow(dir, 'same'));
    expect(err.code).toBe('TET_ERR_WORKFLOW_DUPLICATE_NAME');
    expect(err.message).toMatch(/declared by 2 files: .*a\.json and .*b\.json; rename one/);
  });

  it('reports a file with no name, and keeps a file whose steps are broken (validation reports them)', () => {
    const dir = folder({ 'nameless.json': { steps: [] }, 'broken.json': { name: 'broken', steps: 'x' } });
    const r = loadWorkflows(dir);
    expect(r.errors[0]?.message).toMatch(/nameless\.json: it has no "name"; give it one such as "nameless"/);
    expect(r.workflows.get('broken')?.errors[0]).toMatchObject({ path: 'steps' });
  });

  it('treats a folder that does not exist as empty', () => {
    expect(loadWorkflows(join(tmpdir(), 'tetora-no-such-folder-xyz')).workflows.size).toBe(0);
  });
});

describe('findWorkflow', () => {
  it('finds by name, by file name, and by path', () => {
    const dir = folder({ 'workflow-basic.json': flow('research-and-summarize') });
    expect(findWorkflow(dir, 'research-and-summarize').def.name).toBe('research-and-summarize');
    expect(findWorkflow(dir, 'workflow-basic').def.name).toBe('research-and-summarize');
    expect(findWorkflow(dir, 'workflow-basic.json').def.name).toBe('research-and-summarize');
    const elsewhere = folder({ 'x.json': flow('elsewhere') });
    expect(findWorkflow(dir, join(elsewhere, 'x.json')).def.name).toBe('elsewhere');
  });

  it('names the workflows there are when none matches', () => {
    const dir = folder({ 'a.json': flow('alpha') });
    const err = thrown(() => findWorkflow(dir, 'beta'));
    expect(err.code).toBe('TET_ERR_WORKFLOW_NOT_FOUND');
    expect(err.message).toMatch(/no workflow "beta" in .* \(workflows: alpha\); check the name with `tetora workflow list`/);
  });
});

describe('saveWorkflow and deleteWorkflow', () => {
  it('writes <name>.json with mode 0600 in a 0700 folder, refuses an existing name unless overwrite', () => {
    const dir = join(folder({}), 'workflows');
    const text = JSON.stringify(flow('new-one', { custom: 'kept' }), null, 2);
    const saved = saveWorkflow(dir, 'new-one', text);
    expect(saved).toEqual({ file: join(dir, 'new-one.json'), created: true });
    expect(statSync(saved.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(saved.file, 'utf8'))).toMatchObject({ custom: 'kept' });
    const err = thrown(() => saveWorkflow(dir, 'new-one', text));
    expect(err.code).toBe('TET_ERR_WORKFLOW_EXISTS');
    expect(err.message).toMatch(/already exists .*overwrite=true/);
    expect(saveWorkflow(dir, 'new-one', text, { overwrite: true })).toEqual({ file: saved.file, created: false });
  });

  it('overwrites a workflow in the file that holds it, and never a <name>.json that holds another workflow', () => {
    const dir = folder({ 'legacy-file.json': flow('kept-name'), 'taken.json': flow('someone-else') });
    expect(saveWorkflow(dir, 'kept-name', JSON.stringify(flow('kept-name')), { overwrite: true }).file).toBe(join(dir, 'legacy-file.json'));
    const err = thrown(() => saveWorkflow(dir, 'taken', JSON.stringify(flow('taken')), { overwrite: true }));
    expect(err.code).toBe('TET_ERR_WORKFLOW_EXISTS');
    expect(err.message).toMatch(/holds workflow "someone-else"; it was not overwritten/);
    expect(JSON.parse(readFileSync(join(dir, 'taken.json'), 'utf8')).name).toBe('someone-else');
  });

  it('deletes by name; an unknown name is not found', () => {
    const dir = folder({ 'file.json': flow('to-go') });
    expect(deleteWorkflow(dir, 'to-go')).toEqual({ file: join(dir, 'file.json') });
    expect(existsSync(join(dir, 'file.json'))).toBe(false);
    expect(thrown(() => deleteWorkflow(dir, 'to-go')).code).toBe('TET_ERR_WORKFLOW_NOT_FOUND');
  });
});
