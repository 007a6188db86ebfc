/** buildTask: the per-task timeout, and agent/provider names looked up as own keys of the config only. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { buildTask } from '../../src/engine/request.js';
import { writeTree } from '../helpers/cli.js';
import { thrown } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'tetora-request-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeTree(dir, { 'config.json': { agents: { coder: { timeout: '15m' } } } });
const config: ResolvedConfig = loadConfig({ configPath: join(dir, 'config.json'), env: {} }).config;

function build(input: Record<string, unknown>, index?: number) {
  return buildTask({ prompt: 'do it', ...input }, { source: 'test' }, config, 1_000, index);
}


describe('the timeout of a task request', () => {
  it('takes a duration up to the longest a timer can hold', () => {
    expect(build({ timeout: '15m' }).timeoutMs).toBe(900_000);
    expect(build({ timeout: 2_147_483_647 }).timeoutMs).toBe(2_147_483_647);
    expect(build({}).timeoutMs).toBe(3_600_000);
    expect(build({ agent: 'coder' }).timeoutMs).toBe(900_000);
  });

  it.each([['0'], [0], ['0s']])('rejects %j (it would time out at once) with a 400 naming the field', (timeout) => {
    const err = thrown(() => build({ timeout }));
    expect(err.code).toBe('TET_ERR_TASK_INVALID');
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ field: 'timeout', value: timeout });
    expect(err.message).toContain(`timeout is ${JSON.stringify(timeout)}`);
    expect(err.message).toContain('above 0');
  });

  it.each([['720h'], [2_147_483_648], ['25d']])('rejects %j (more than a timer can hold) naming the field, the value and the maximum', (timeout) => {
    const err = thrown(() => build({ timeout }));
    expect(err.code).toBe('TET_ERR_TASK_INVALID');
    expect(err.details).toMatchObject({ field: 'timeout', value: timeout });
    expect(err.message).toContain(`timeout is ${JSON.stringify(timeout)}`);
    expect(err.message).toContain('at most 2147483647 ms');
  });

  it('names the task of a batch', () => {
    expect(thrown(() => build({ timeout: '720h' }, 2)).details).toMatchObject({ field: 'tasks[2].timeout' });
  });
});

describe('agent and provider names of a task request', () => {
  const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

  it.each(names)('agent %s is unknown', (agent) => {
    const err = thrown(() => build({ agent }));
    expect(err.code).toBe('TET_ERR_AGENT_UNKNOWN');
    expect(err.details).toMatchObject({ field: 'agent', value: agent });
  });

  it.each(names)('provider %s is unknown', (provider) => {
    const err = thrown(() => build({ provider }));
    expect(err.code).toBe('TET_ERR_PROVIDER_UNKNOWN');
    expect(err.details).toMatchObject({ field: 'provider', value: provider });
  });

  it('a configured agent and provider are found', () => {
    expect(build({ agent: 'coder', provider: 'codex' })).toMatchObject({ agent: 'coder', provider: 'codex' });
  });
});
