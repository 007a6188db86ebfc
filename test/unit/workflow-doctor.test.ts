import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkWorkflows } from '../../src/doctor/checks.js';
import { workflowsFact } from '../../src/doctor/gather.js';
import { configHomes, load } from '../helpers/config.js';

const home = configHomes('tetora-wf-doctor-');

describe('doctor: workflows', () => {
  it('passes with no workflow, and with valid ones', () => {
    const dir = home({ 'config.json': { agents: { w: {} } } });
    expect(checkWorkflows(workflowsFact(load(dir).config))).toMatchObject({ ok: true, detail: `none in ${join(dir, 'workflows')}` });
    mkdirSync(join(dir, 'workflows'));
    writeFileSync(join(dir, 'workflows', 'x.json'), JSON.stringify({ name: 'x', steps: [{ id: 'a', agent: 'w', prompt: 'p' }] }));
    expect(checkWorkflows(workflowsFact(load(dir).config))).toMatchObject({ ok: true, detail: `1 in ${join(dir, 'workflows')}, all valid` });
  });

  it('fails naming an invalid workflow (checked against the config), a broken file and a shared name, with the fix', () => {
    const dir = home({ 'config.json': { agents: { w: {} } } });
    mkdirSync(join(dir, 'workflows'));
    writeFileSync(join(dir, 'workflows', 'ghost.json'), JSON.stringify({ name: 'ghost', steps: [{ id: 'a', agent: 'nobody', prompt: 'p' }] }));
    writeFileSync(join(dir, 'workflows', 'junk.json'), '{ not json');
    writeFileSync(join(dir, 'workflows', 'one.json'), JSON.stringify({ name: 'twice', steps: [{ id: 'a', agent: 'w', prompt: 'p' }] }));
    writeFileSync(join(dir, 'workflows', 'two.json'), JSON.stringify({ name: 'twice', steps: [{ id: 'a', agent: 'w', prompt: 'p' }] }));
    const r = checkWorkflows(workflowsFact(load(dir).config));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^3 of 3 in .* cannot run: "ghost" \(.*ghost\.json\) has 1 error, first steps\[0\]\.agent: agent "nobody" is not in the config/);
    expect(r.detail).toMatch(/junk\.json: the file is not valid JSON/);
    expect(r.detail).toMatch(/"twice" is declared by 2 files/);
    expect(r.fix).toMatch(/tetora workflow validate/);
  });
});
