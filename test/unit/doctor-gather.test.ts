/** Doctor facts about agents: a provider name is looked up as an own key of the config only. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { agentFacts } from '../../src/doctor/gather.js';
import { writeTree } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tetora-doctor-gather-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeTree(dir, { 'config.json': { agents: { a: {}, b: { provider: 'codex' } } } });
const loaded: ResolvedConfig = loadConfig({ configPath: join(dir, 'config.json'), env: {} }).config;

describe('agentFacts', () => {
  it('finds a configured provider', () => {
    expect(agentFacts(loaded).map((f) => [f.name, f.provider, f.providerExists])).toEqual([
      ['a', 'claude', true],
      ['b', 'codex', true],
    ]);
  });

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'])('does not take %s for a configured provider', (name) => {
    const agent = { ...(loaded.agents.a as ResolvedConfig['agents'][string]), provider: name };
    const config: ResolvedConfig = { ...loaded, agents: { a: agent } };
    expect(agentFacts(config)).toEqual([expect.objectContaining({ name: 'a', provider: name, providerExists: false })]);
  });
});
