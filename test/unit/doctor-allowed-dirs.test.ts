/**
 * `tetora doctor` on allowedDirs (src/doctor/allowed-dirs.ts) on a real folder tree loaded through the real
 * config loader: defaultWorkdir, an agent's workdir and addDirs outside the list that holds the agent's tasks
 * (its own list, else the top-level one) are warned about, symlinks and `..` resolved; folders inside are not;
 * no line at all when no allowedDirs is set.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { allowedDirsFact, checkAllowedDirs } from '../../src/doctor/allowed-dirs.js';
import { formatReport, runChecks, type DoctorFacts } from '../../src/doctor/checks.js';
import { gatherFacts } from '../../src/doctor/gather.js';
import { writeTree } from '../helpers/cli.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tetora-doctor-allowed-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
for (const d of ['projects/main', 'projects/p2', 'outside', 'projects-evil']) mkdirSync(join(root, d), { recursive: true });
symlinkSync(join(root, 'outside'), join(root, 'projects', 'escape'));

function load(config: Record<string, unknown>) {
  const dir = mkdtempSync(join(root, 'home-'));
  writeTree(dir, { 'config.json': config });
  return loadConfig({ configPath: join(dir, 'config.json'), env: {} }).config;
}

describe('doctor: allowedDirs', () => {
  it('warns about each configured folder outside the list that holds it, and passes', () => {
    const config = load({
      allowedDirs: [join(root, 'projects')],
      defaultWorkdir: join(root, 'projects-evil'),
      agents: {
        fine: { workdir: join(root, 'projects', 'main'), addDirs: [join(root, 'projects', 'p2')] },
        linked: { workdir: join(root, 'projects', 'escape'), addDirs: [join(root, 'projects', 'p2', '..', '..', 'outside')] },
        own: { allowedDirs: [join(root, 'outside')] },
      },
    });
    const fact = allowedDirsFact(config)!;
    expect(fact.outside).toEqual([
      { field: 'defaultWorkdir', path: join(root, 'projects-evil'), resolved: join(root, 'projects-evil'), allowedDirs: [join(root, 'projects')] },
      { field: 'agents.linked.workdir', path: join(root, 'projects', 'escape'), resolved: join(root, 'outside'), allowedDirs: [join(root, 'projects')] },
      { field: 'agents.linked.addDirs[0]', path: join(root, 'projects', 'p2', '..', '..', 'outside'), resolved: join(root, 'outside'), allowedDirs: [join(root, 'projects')] },
      { field: 'defaultWorkdir (used by agent own, which has its own allowedDirs)', path: join(root, 'projects-evil'), resolved: join(root, 'projects-evil'), allowedDirs: [join(root, 'outside')] },
    ]);
    expect(fact.checked).toBe(6);
    const check = checkAllowedDirs(fact);
    expect(check.ok).toBe(true);
    expect(check.detail).toBe('4 of 6 configured folders lie outside allowedDirs: tasks using them are refused (400 TET_ERR_TASK_INVALID)');
    expect(check.warnings?.[1]).toBe(`agents.linked.workdir ${join(root, 'projects', 'escape')} (resolved: ${join(root, 'outside')}) is outside allowedDirs (${join(root, 'projects')}): move it inside one of them or add its folder to allowedDirs`);
    const report = formatReport(runChecks({ nodeVersion: '20.0.0', home: { path: root, mode: 0o700 }, files: [], config: { ok: true, path: 'c', warnings: [] }, git: { ok: true, output: 'git' }, providers: [], agents: [], allowedDirs: fact } satisfies DoctorFacts));
    expect(report).toContain(`✓ allowedDirs: 4 of 6 configured folders lie outside allowedDirs`);
    expect(report).toContain(`    warning: defaultWorkdir ${join(root, 'projects-evil')} is outside allowedDirs (${join(root, 'projects')})`);
  });

  it('says all is well when every configured folder is inside; an agent whose own list holds its workdir is fine', () => {
    const config = load({
      allowedDirs: [join(root, 'projects')],
      defaultWorkdir: join(root, 'projects', 'main'),
      agents: { a: { addDirs: [join(root, 'projects', 'p2')] }, b: { workdir: join(root, 'outside'), allowedDirs: [join(root, 'outside')] } },
    });
    const fact = allowedDirsFact(config)!;
    expect(fact.outside).toEqual([]);
    expect(checkAllowedDirs(fact)).toEqual({ name: 'allowedDirs', ok: true, detail: 'the 3 configured workdirs and addDirs lie inside allowedDirs', fix: null });
  });

  it('adds no check when no allowedDirs is set', () => {
    expect(allowedDirsFact(load({ defaultWorkdir: join(root, 'outside'), agents: { a: { addDirs: ['/'] } } }))).toBeUndefined();
  });

  it('is part of what `tetora doctor` gathers', async () => {
    const config = load({ allowedDirs: [join(root, 'projects')], agents: { a: { workdir: join(root, 'outside') } } });
    const { facts } = await gatherFacts({ configPath: config.configPath, env: { PATH: '' }, versionTimeoutMs: 2000, httpTimeoutMs: 500 });
    expect(facts.allowedDirs?.outside.map((o) => o.field)).toEqual(['agents.a.workdir']);
    expect(runChecks(facts).find((c) => c.name === 'allowedDirs')?.warnings).toHaveLength(1);
  });
});
