import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/types.js';
import { dryRun, placeholderFor } from '../../src/workflows/dryrun.js';
import { ancestors, dependants, propagateSkips, topoLevels } from '../../src/workflows/order.js';
import { parseWorkflow } from '../../src/workflows/parse.js';
import { load } from '../helpers/config.js';

function config(): ResolvedConfig {
  const dir = mkdtempSync(join(tmpdir(), 'tetora-wf-dry-'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      providers: { local: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen' }, cmd: { type: 'command', path: '/bin/true' } },
      agents: { big: { model: 'opus' }, small: { model: 'haiku' }, free: { provider: 'local' }, tool: { provider: 'cmd' } },
      defaultAgent: 'small',
    }),
  );
  return load(dir).config;
}

const def = (raw: unknown) => parseWorkflow(raw).def;

const pipeline = def({
  name: 'pipe',
  variables: { kind: 'technical', topic: 'robots' },
  steps: [
    { id: 'classify', type: 'condition', if: "{{kind}} == 'technical'", then: 'deep', else: 'light' },
    { id: 'deep', type: 'parallel', dependsOn: ['classify'], parallel: [{ id: 'p1', agent: 'big', prompt: 'papers on {{topic}}' }, { id: 'p2', agent: 'free', prompt: 'code on {{topic}}' }] },
    { id: 'light', agent: 'small', prompt: 'a light take on {{topic}}', dependsOn: ['classify'] },
    { id: 'after-light', agent: 'small', prompt: 'polish {{steps.light.output}}', dependsOn: ['light'] },
    { id: 'join', agent: 'big', prompt: 'merge {{steps.p1.output}} / {{steps.light.output}} ({{steps.light.status}})', dependsOn: ['deep', 'light'] },
    { id: 'check', type: 'condition', if: '{{steps.join.output}} == ok', then: 'ship', dependsOn: ['join'] },
    { id: 'ship', type: 'handoff', handoffFrom: 'join', agent: 'small', prompt: 'ship it', dependsOn: ['check'] },
    { id: 'tell', type: 'notify', notifyMsg: 'done: {{steps.ship.output}}', notifyTo: 'log', dependsOn: ['ship'] },
    { id: 'run', type: 'tool_call', toolName: 'shell', toolInput: { command: 'echo', args: ['{{topic}}'] } },
    { id: 'pause', type: 'delay', delay: '90s', dependsOn: ['run'] },
  ],
});

describe('order helpers', () => {
  it('levels steps so each starts after its dependencies', () => {
    expect(topoLevels(pipeline).levels).toEqual([['classify', 'run'], ['deep', 'light', 'pause'], ['after-light', 'join'], ['check'], ['ship'], ['tell']]);
    expect([...ancestors(pipeline, 'ship')].sort()).toEqual(['check', 'classify', 'deep', 'join', 'light']);
    expect([...ancestors(pipeline, 'p1')]).toEqual(['classify']);
    expect([...dependants(pipeline, 'join')].sort()).toEqual(['check', 'ship', 'tell']);
  });

  it('skips what depends only on a skipped step; a join with another live dependency still runs', () => {
    expect([...propagateSkips(pipeline, ['light'])].sort()).toEqual(['after-light', 'light']);
    expect([...propagateSkips(pipeline, ['light', 'deep'])].sort()).toEqual(['after-light', 'check', 'deep', 'join', 'light', 'ship', 'tell']);
  });
});

describe('dryRun', () => {
  const plan = dryRun(pipeline, { config: config() });
  const byId = new Map(plan.steps.map((s) => [s.id, s]));

  it('gives the execution order and every top-level step once, level by level', () => {
    expect(plan.levels).toEqual(topoLevels(pipeline).levels);
    expect(plan.steps.map((s) => s.id)).toEqual(plan.levels.flat());
    expect(plan.missingVariables).toEqual([]);
  });

  it('decides conditions that read only variables, and marks the branch not taken and what depends only on it as skipped', () => {
    expect(byId.get('classify')?.condition).toMatchObject({ decidable: true, result: true, taken: 'deep', notTaken: 'light' });
    expect(byId.get('light')?.skipped).toBe(true);
    expect(byId.get('after-light')?.skipped).toBe(true);
    expect(byId.get('join')?.skipped).toBeUndefined();
    expect(byId.get('check')?.condition).toMatchObject({ decidable: false });
    expect(byId.get('check')?.action).toMatch(/decided during the run \(reads "join"\)/);
  });

  it('resolves prompts, with placeholders for earlier results and what a skipped step will read as', () => {
    expect(byId.get('join')?.prompt).toBe(`merge ${placeholderFor({ name: 'p1', field: 'output' })} /  (skipped)`);
    expect(byId.get('ship')?.prompt).toBe(`[Handoff Context]\n<output of step "join">\n\n[Instruction]\nship it`);
    expect(byId.get('deep')?.subSteps?.map((s) => [s.label, s.prompt])).toEqual([
      ['deep/p1', 'papers on robots'],
      ['deep/p2', 'code on robots'],
    ]);
    expect(byId.get('tell')).toMatchObject({ prompt: 'done: <output of step "ship">', action: 'notifies log' });
    expect(byId.get('run')?.action).toBe('runs "echo" "robots"');
    expect(byId.get('pause')?.action).toBe('waits 90s (90000 ms)');
  });

  it('takes run variables over the defaults and lists those still missing', () => {
    const p = dryRun(def({ name: 'v', variables: { kind: 'x' }, steps: [{ id: 'c', type: 'condition', if: '{{kind}}', then: 't' }, { id: 't', agent: 'small', prompt: '{{who}}', dependsOn: ['c'] }] }), {
      config: config(),
      vars: { kind: '0' },
    });
    expect(p.variables).toEqual({ kind: '0' });
    expect(p.steps[0]?.condition).toMatchObject({ result: false, notTaken: 't' });
    expect(p.steps[1]?.skipped).toBe(true);
    expect(p.missingVariables).toEqual(['who']);
  });

  it('estimates cost from the agents\' models: dearer models cost more, local endpoints and skipped steps nothing', () => {
    const p1 = byId.get('deep')?.subSteps?.[0];
    const p2 = byId.get('deep')?.subSteps?.[1];
    expect(p1).toMatchObject({ agent: 'big', model: 'opus', provider: 'claude' });
    expect(p1?.estimatedCostUsd).toBeGreaterThan(0);
    expect(p2).toMatchObject({ agent: 'free', provider: 'local', model: 'qwen', estimatedCostUsd: 0 });
    const small = byId.get('ship')?.estimatedCostUsd ?? 0;
    expect(small).toBeGreaterThan(0);
    expect(byId.get('join')?.estimatedCostUsd ?? 0).toBeGreaterThan(small);
    const live = plan.steps.filter((s) => !s.skipped).reduce((sum, s) => sum + (s.estimatedCostUsd ?? 0), 0);
    expect(plan.estimatedCostUsd).toBeCloseTo(live, 5);
  });

  it('shows a refused {{env.NAME}} as an error of the step, and never reads the value', () => {
    const p = dryRun(def({ name: 'e', steps: [{ id: 'a', agent: 'small', prompt: 'x {{env.API_KEY}}' }] }), { config: config(), env: () => 'LEAKED' });
    expect(p.steps[0]?.error).toMatch(/\{\{env\.API_KEY\}\} is refused/);
    expect(JSON.stringify(p)).not.toContain('LEAKED');
  });
});
