import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { TetoraError } from '../../src/errors.js';
import { askChoices } from '../../src/init/interactive.js';
import { defaultStarterProvider, problemWith, starterConfig, starterSoul, validateChoices, type InitChoices } from '../../src/init/starter.js';
import { writeTree } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const base: InitChoices = { provider: 'claude', agent: 'assistant', listen: '127.0.0.1:8991', token: true };

describe('starter config', () => {
  it.each([
    ['claude', { ...base }],
    ['codex with a workdir and no token', { ...base, provider: 'codex', agent: 'coder', workdir: '~/code', token: false }],
  ] as const)('loads through the real loader without warnings (%s)', (_what, choices) => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-init-'));
    dirs.push(dir);
    const token = choices.token ? 'a'.repeat(64) : undefined;
    writeTree(dir, { 'config.json': starterConfig(choices, token), [`agents/${choices.agent}/SOUL.md`]: starterSoul(choices.agent) });
    const { config, warnings } = loadConfig({ configPath: join(dir, 'config.json'), env: { HOME: '/home/u' } });
    expect(warnings).toEqual([]);
    expect(config.defaultProvider).toBe(choices.provider);
    expect(config.defaultAgent).toBe(choices.agent);
    expect(config.agents[choices.agent]).toMatchObject({ provider: choices.provider, soulFile: join(dir, 'agents', choices.agent, 'SOUL.md') });
    expect(config.apiToken).toBe(token);
    expect(config.defaultTimeoutMs).toBe(3_600_000);
    if ('workdir' in choices) expect(config.defaultWorkdir).toBe('/home/u/code');
  });

  it('names Claude\'s model only for the claude provider', () => {
    expect(starterConfig(base).defaultModel).toBe('sonnet');
    expect(starterConfig({ ...base, provider: 'codex' }).defaultModel).toBeUndefined();
  });

  it('writes a SOUL.md that names the agent', () => {
    expect(starterSoul('coder')).toMatch(/^# coder\n/);
  });
});

describe('choices', () => {
  it('offers the first CLI found on PATH, else claude', () => {
    expect(defaultStarterProvider({})).toBe('claude');
    expect(defaultStarterProvider({ codex: '/usr/bin/codex' })).toBe('codex');
    expect(defaultStarterProvider({ claude: '/usr/bin/claude', codex: '/usr/bin/codex' })).toBe('claude');
  });

  it('checks each answer', () => {
    expect(problemWith('provider', 'codex')).toBeNull();
    expect(problemWith('provider', 'gpt')).toContain('"gpt" is not one of claude, codex');
    expect(problemWith('agent', 'my-agent_2')).toBeNull();
    expect(problemWith('agent', '-x')).not.toBeNull();
    expect(problemWith('agent', 'a b')).not.toBeNull();
    expect(problemWith('listen', '127.0.0.1:0')).toBeNull();
    expect(problemWith('listen', '[::1]:8991')).toBeNull();
    expect(problemWith('listen', '127.0.0.1:99999')).toContain('port up to 65535');
    expect(problemWith('listen', 'localhost')).not.toBeNull();
  });

  it('rejects a wrong flag with a usage error naming the flag', () => {
    try {
      validateChoices({ ...base, agent: '../etc' });
    } catch (err) {
      expect(err).toBeInstanceOf(TetoraError);
      expect((err as TetoraError).code).toBe('TET_ERR_USAGE');
      expect((err as TetoraError).message).toContain('tetora init --agent: "../etc"');
      return;
    }
    throw new Error('accepted');
  });
});

describe('interactive init', () => {
  /** Answers the questions in order and records what was asked and said. */
  function scripted(answers: string[]) {
    const asked: string[] = [];
    const said: string[] = [];
    const ask = async (q: string) => {
      asked.push(q);
      const a = answers.shift();
      if (a === undefined) throw new Error(`no answer left for: ${q}`);
      return a;
    };
    return { ask, asked, said, say: (line: string) => said.push(line) };
  }
  const resolveDir = (d: string) => (d.startsWith('/') || d.startsWith('~') ? d : `/cwd/${d}`);

  it('shows which CLIs were found, offers the defaults, and takes blank answers as the defaults', async () => {
    const s = scripted(['', '', '', '', '']);
    const choices = await askChoices(s.ask, { ...base, provider: 'codex' }, { codex: '/usr/bin/codex' }, s.say, resolveDir);
    expect(s.said[0]).toBe('Providers: claude (not found on PATH), codex (found: /usr/bin/codex).');
    expect(s.asked[0]).toBe('Default provider [codex]: ');
    expect(s.asked[4]).toBe('Generate an API token for the HTTP API? [Y/n]: ');
    expect(choices).toEqual({ provider: 'codex', agent: 'assistant', listen: '127.0.0.1:8991', token: true });
  });

  it('takes typed answers, asks again after a wrong one, and resolves the folder', async () => {
    const s = scripted(['gpt', 'claude', 'bad name', 'coder', '127.0.0.1:9000', 'work', 'maybe', 'n']);
    const choices = await askChoices(s.ask, base, {}, s.say, resolveDir);
    expect(choices).toEqual({ provider: 'claude', agent: 'coder', listen: '127.0.0.1:9000', workdir: '/cwd/work', token: false });
    expect(s.said).toContain('  "gpt" is not one of claude, codex; try again.');
    expect(s.said).toContain('  answer y or n.');
  });

  it('"none" clears a default folder', async () => {
    const s = scripted(['', '', '', 'none', 'y']);
    const choices = await askChoices(s.ask, { ...base, workdir: '/srv/code' }, {}, s.say, resolveDir);
    expect(choices.workdir).toBeUndefined();
    expect(choices.token).toBe(true);
  });

  it('gives up with a usage error after five wrong answers', async () => {
    const s = scripted(['x', 'x', 'x', 'x', 'x']);
    await expect(askChoices(s.ask, base, {}, s.say, resolveDir)).rejects.toMatchObject({ code: 'TET_ERR_USAGE', message: expect.stringContaining('tetora init --yes') });
  });
});
