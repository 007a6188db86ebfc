/**
 * `tetora workflow list|show|validate|dry-run` through the real CLI (built dist/, a child process) on a
 * throwaway TETORA_HOME, with no daemon: validation prints every error with its path and exits 78.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSandbox, repoRoot, type Sandbox } from '../helpers/cli.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes.splice(0)) s.cleanup();
});

function sandbox(opts: { config?: boolean } = {}): Sandbox {
  const s = makeSandbox('tetora-wf-cli-');
  sandboxes.push(s);
  mkdirSync(join(s.home, 'workflows'), { recursive: true });
  if (opts.config !== false) {
    writeFileSync(
      join(s.home, 'config.json'),
      JSON.stringify({ agents: { researcher: {}, writer: {}, reviewer: {} }, defaultAgent: 'writer', skills: { lint: { command: 'true' } } }),
      { mode: 0o600 },
    );
  }
  for (const f of readdirSync(join(repoRoot, 'examples', 'workflows'))) copyFileSync(join(repoRoot, 'examples', 'workflows', f), join(s.home, 'workflows', f));
  return s;
}

/** The broken workflow: unknown step in a template, unknown agent, cycle, missing then dependency, bad duration, unknown type, duplicate id. */
const broken = {
  name: 'broken',
  steps: [
    { id: 'fetch', agent: 'researcher', prompt: 'read {{steps.nope.output}}' },
    { id: 'write', agent: 'ghost', prompt: 'x', dependsOn: ['fetch'] },
    { id: 'a', agent: 'writer', prompt: 'x', dependsOn: ['b'] },
    { id: 'b', agent: 'writer', prompt: 'x', dependsOn: ['a'] },
    { id: 'gate', type: 'condition', if: '{{steps.fetch.output}}', then: 'publish', dependsOn: ['fetch'] },
    { id: 'publish', agent: 'writer', prompt: 'x', dependsOn: ['write'] },
    { id: 'wait', type: 'delay', delay: 'soon', dependsOn: ['publish'] },
    { id: 'magic', type: 'teleport' },
    { id: 'fetch', agent: 'writer', prompt: 'again' },
  ],
};
const BROKEN_PATHS = ['steps[0].prompt', 'steps[1].agent', 'steps[2].dependsOn', 'steps[4].then', 'steps[6].delay', 'steps[7].type', 'steps[8].id'];

describe('tetora workflow validate', () => {
  it('prints every error of a broken file with its JSON path and exits 78, writing nothing', async () => {
    const s = sandbox();
    const file = join(s.root, 'broken.json');
    writeFileSync(file, JSON.stringify(broken, null, 2));
    const before = readdirSync(s.home).sort();
    const r = await s.run(['workflow', 'validate', file]);
    expect(r.code).toBe(78);
    for (const p of BROKEN_PATHS) expect(r.stderr).toContain(`  ${p}: `);
    expect(r.stderr).toMatch(/workflow "broken" .* has 7 errors; nothing was written or run/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(s.home).sort()).toEqual(before);
    expect(existsSync(join(s.home, 'tetora.db'))).toBe(false);

    const j = await s.run(['workflow', 'validate', file, '--json']);
    expect(j.code).toBe(78);
    const body = JSON.parse(j.stdout) as { valid: boolean; errors: Array<{ path: string; message: string }> };
    expect(body.valid).toBe(false);
    expect(body.errors.map((e) => e.path).sort()).toEqual([...BROKEN_PATHS].sort());
  });

  it('accepts a valid workflow by name (found by its name, not its file name) or by file, exit 0', async () => {
    const s = sandbox();
    const byName = await s.run(['workflow', 'validate', 'research-and-summarize']);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/ok: workflow research-and-summarize \(.*workflow-basic\.json\) is valid; order: research → summarize/);
    const byFile = await s.run(['workflow', 'validate', join(s.home, 'workflows', 'release-check.json'), '--json']);
    expect(byFile.code).toBe(0);
    expect(JSON.parse(byFile.stdout)).toMatchObject({ valid: true, name: 'release-check', errors: [] });
  });

  it('validates every workflow of the folder when none is named, and names both files of a duplicated name', async () => {
    const s = sandbox();
    expect((await s.run(['workflow', 'validate'])).code).toBe(0);
    copyFileSync(join(s.home, 'workflows', 'workflow-basic.json'), join(s.home, 'workflows', 'copy.json'));
    const r = await s.run(['workflow', 'validate']);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/workflow name "research-and-summarize" is declared by 2 files: .*copy\.json and .*workflow-basic\.json/);
    const one = await s.run(['workflow', 'validate', 'research-and-summarize']);
    expect(one.code).toBe(78);
    expect(one.stderr).toMatch(/declared by 2 files/);
  });

  it('works without a config: agents are not checked, structure still is', async () => {
    const s = sandbox({ config: false });
    const ok = await s.run(['workflow', 'validate', 'content-pipeline']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/no config\.json found, so agents, providers and skills are not checked/);
    const file = join(s.root, 'broken.json');
    writeFileSync(file, JSON.stringify(broken));
    const bad = await s.run(['workflow', 'validate', file]);
    expect(bad.code).toBe(78);
    expect(bad.stderr).not.toContain('steps[1].agent');
    expect(bad.stderr).toContain('steps[2].dependsOn: dependency cycle');
  });

  it('an unknown name is not found (exit 65), naming the workflows there are', async () => {
    const s = sandbox();
    const r = await s.run(['workflow', 'validate', 'nope']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/no workflow "nope" in .*workflows: content-pipeline, release-check, research-and-summarize/);
  });
});

describe('tetora workflow list, show, dry-run', () => {
  it('lists the folder with validity; shows one; --json for both', async () => {
    const s = sandbox();
    writeFileSync(join(s.home, 'workflows', 'bad.json'), JSON.stringify({ name: 'bad', steps: [{ id: 'x', type: 'teleport' }] }));
    const list = await s.run(['workflow', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^bad\s+1 steps\s+INVALID \(1 error\)/m);
    expect(list.stdout).toMatch(/^research-and-summarize\s+2 steps\s+ok/m);
    const json = JSON.parse((await s.run(['workflow', 'list', '--json'])).stdout) as { workflows: Array<{ name: string; valid: boolean }> };
    expect(json.workflows.map((w) => [w.name, w.valid])).toEqual([
      ['bad', false],
      ['content-pipeline', true],
      ['release-check', true],
      ['research-and-summarize', true],
    ]);
    const show = await s.run(['workflow', 'show', 'content-pipeline']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('research/papers (dispatch) agent researcher');
    expect(show.stdout).toMatch(/valid; order: classify → research \+ creative-draft → edit → review → announce/);
    const showJson = JSON.parse((await s.run(['workflow', 'show', 'bad', '--json'])).stdout) as { valid: boolean; errors: Array<{ path: string }> };
    expect(showJson).toMatchObject({ valid: false, errors: [{ path: 'steps[0].type' }] });
    copyFileSync(join(s.home, 'workflows', 'bad.json'), join(s.home, 'workflows', 'bad-copy.json'));
    const dup = await s.run(['workflow', 'list']);
    expect(dup.code).toBe(0);
    expect(dup.stdout).not.toMatch(/^bad /m);
    expect(dup.stderr).toMatch(/warning: workflow name "bad" is declared by 2 files: .*bad-copy\.json and .*bad\.json/);
  });

  it('dry-run prints the plan with --var values and placeholders, and runs nothing', async () => {
    const s = sandbox();
    const r = await s.run(['workflow', 'dry-run', 'content-pipeline', '--var', 'topic=deep sea', '--var', 'kind=creative']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('condition is false: runs "creative-draft", skips "research"');
    expect(r.stdout).toContain('| Write a creative first draft about deep sea.');
    expect(r.stdout).toContain('| <output of step "edit">');
    expect(r.stdout).toMatch(/estimated cost: ~\$\d/);
    const j = JSON.parse((await s.run(['workflow', 'dry-run', 'research-and-summarize', '--json'])).stdout) as { levels: string[][]; steps: Array<{ prompt: string }> };
    expect(j.levels).toEqual([['research'], ['summarize']]);
    expect(j.steps[1]?.prompt).toBe('Write a 300-word summary of these notes:\n<output of step "research">');
    const bad = await s.run(['workflow', 'dry-run', 'content-pipeline', '--var', 'novalue']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--var "novalue" is not NAME=VALUE/);
    expect(existsSync(join(s.home, 'tetora.db'))).toBe(false);
  });
});
