import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configHomes, load, thrown } from '../helpers/config.js';

const home = configHomes('tetora-wf-config-');

describe('workflow keys of the config', () => {
  it('defaults: workflows beside the config, no env allowance, no skills', () => {
    const dir = home({ 'config.json': {} });
    const { config, warnings } = load(dir);
    expect(config.workflowDir).toBe(join(dir, 'workflows'));
    expect(config.workflowEnv).toEqual([]);
    expect(config.skills).toEqual({});
    expect(warnings).toEqual([]);
  });

  it('reads workflowDir (relative to the config), workflowEnv and skills, with no unknown-key warning', () => {
    const dir = home({
      'config.json': {
        workflowDir: 'flows',
        workflowEnv: ['GITHUB_TOKEN'],
        skills: { lint: { command: 'npx', args: ['eslint', '.'], timeout: '5m' }, local: { command: './bin/check' }, bare: { command: 'true' } },
      },
    });
    const { config, warnings } = load(dir);
    expect(warnings).toEqual([]);
    expect(config.workflowDir).toBe(join(dir, 'flows'));
    expect(config.workflowEnv).toEqual(['GITHUB_TOKEN']);
    expect(config.skills).toEqual({
      lint: { name: 'lint', command: 'npx', args: ['eslint', '.'], timeoutMs: 300_000 },
      local: { name: 'local', command: join(dir, 'bin', 'check'), args: [] },
      bare: { name: 'bare', command: 'true', args: [] },
    });
  });

  it('refuses a skill without a command and a bad timeout, naming the path', () => {
    const noCommand = thrown(() => load(home({ 'config.json': { skills: { lint: { args: [] } } } })));
    expect(noCommand.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(noCommand.message).toContain('skills.lint.command');
    const badTimeout = thrown(() => load(home({ 'config.json': { skills: { lint: { command: 'x', timeout: 'soon' } } } })));
    expect(badTimeout.message).toContain('skills.lint.timeout');
    const badEnv = thrown(() => load(home({ 'config.json': { workflowEnv: 'TOKEN' } })));
    expect(badEnv.message).toContain('workflowEnv');
  });
});
