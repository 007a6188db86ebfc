import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { checkWorkflow, missingVariables, missingVariablesMessage, renderStep, validateWorkflow, type ValidationConfig } from '../../src/workflows/validate.js';
import { parseWorkflow } from '../../src/workflows/parse.js';

const config: ValidationConfig = {
  agents: { researcher: {}, writer: {}, reviewer: {} },
  providers: { claude: {}, fake: {} },
  skills: { lint: {} },
  workflowEnv: [],
};

const check = (raw: unknown, cfg: ValidationConfig | null = config) => checkWorkflow(raw, cfg ? { config: cfg } : {});
const paths = (r: { errors: Array<{ path: string }> }) => r.errors.map((e) => e.path);
const at = (r: { errors: Array<{ path: string; message: string }> }, path: string) => r.errors.filter((e) => e.path === path).map((e) => e.message);

const wf = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'w', steps, ...extra });
const step = (id: string, extra: Record<string, unknown> = {}) => ({ id, agent: 'writer', prompt: `do ${id}`, ...extra });

describe('one broken workflow', () => {
  it('reports every error at once, each with its JSON path, what is wrong and the fix', () => {
    const r = check({
      name: 'broken',
      steps: [
        { id: 'fetch', agent: 'researcher', prompt: 'read {{steps.nope.output}}' }, // unknown step in a template
        { id: 'write', agent: 'ghost', prompt: 'x', dependsOn: ['fetch'] }, // unknown agent
        { id: 'a', agent: 'writer', prompt: 'x', dependsOn: ['b'] }, // cycle a ↔ b
        { id: 'b', agent: 'writer', prompt: 'x', dependsOn: ['a'] },
        { id: 'gate', type: 'condition', if: '{{steps.fetch.output}}', then: 'publish', dependsOn: ['fetch'] }, // then target does not depend on it
        { id: 'publish', agent: 'writer', prompt: 'x', dependsOn: ['write'] },
        { id: 'wait', type: 'delay', delay: 'soon', dependsOn: ['publish'] }, // bad duration
        { id: 'magic', type: 'teleport' }, // unknown type
        { id: 'fetch', agent: 'writer', prompt: 'again' }, // duplicate id
      ],
    });
    expect(paths(r).sort()).toEqual(
      ['steps[0].prompt', 'steps[1].agent', 'steps[2].dependsOn', 'steps[4].then', 'steps[6].delay', 'steps[7].type', 'steps[8].id'].sort(),
    );
    expect(at(r, 'steps[0].prompt')[0]).toMatch(/step "fetch" field "prompt": template \{\{steps\.nope\.output\}\} references unknown step "nope"/);
    expect(at(r, 'steps[1].agent')[0]).toMatch(/agent "ghost" is not in the config \(agents: "researcher", "writer", "reviewer"\)/);
    expect(at(r, 'steps[2].dependsOn')[0]).toMatch(/dependency cycle: "a" → "b" → "a" \(each waits for the one before it, so none can start\); remove one of these dependencies/);
    expect(at(r, 'steps[4].then')[0]).toMatch(/does not depend on condition "gate".*add "gate" to steps\[5\]\.dependsOn/);
    expect(at(r, 'steps[6].delay')[0]).toMatch(/"soon" is not a duration; write one such as "90s"/);
    expect(at(r, 'steps[7].type')[0]).toMatch(/unknown step type "teleport"; use one of dispatch, skill, condition, parallel, handoff, tool_call, delay, notify, human/);
    expect(at(r, 'steps[8].id')[0]).toMatch(/duplicate step id "fetch": steps\[0\] has it already/);
  });
});

describe('validateWorkflow', () => {
  it('accepts a valid workflow with no error and no warning', () => {
    const r = check(wf([step('a'), step('b', { dependsOn: ['a'], prompt: 'use {{steps.a.output}}' })]));
    expect(r).toMatchObject({ errors: [], warnings: [] });
  });

  it('checks the name and that there are steps', () => {
    expect(at(check({ steps: [step('a')] }), 'name')[0]).toMatch(/missing: give the workflow a "name"/);
    expect(at(check({ name: '-bad name', steps: [step('a')] }), 'name')[0]).toMatch(/is not valid: use letters, digits/);
    expect(at(check({ name: 'w', steps: [] }), 'steps')[0]).toMatch(/has no steps/);
    expect(at(check({ name: 'w' }), 'steps')[0]).toMatch(/has no steps/);
  });

  it('checks ids: missing, characters templates cannot name, duplicates across sub-steps', () => {
    const r = check(wf([{ agent: 'writer', prompt: 'x' }, step('a.b'), { id: 'p', type: 'parallel', parallel: [step('q'), step('p2')] }, step('q')]));
    expect(at(r, 'steps[0].id')[0]).toMatch(/missing: every step needs an "id"/);
    expect(at(r, 'steps[1].id')[0]).toMatch(/holds a space, "\.", "\/", "\{" or "\}".*"a-b"/);
    expect(at(r, 'steps[3].id')[0]).toMatch(/duplicate step id "q": steps\[2\]\.parallel\[0\] has it already/);
  });

  it('checks dependsOn: unknown ids, itself, a sub-step instead of its parallel step, repeats', () => {
    const r = check(wf([step('a', { dependsOn: ['zzz', 'a', 'sub', 'p', 'p'] }), { id: 'p', type: 'parallel', parallel: [step('sub')] }]));
    expect(at(r, 'steps[0].dependsOn[0]')[0]).toMatch(/depends on unknown step "zzz" \(steps: "a", "p"\)/);
    expect(at(r, 'steps[0].dependsOn[1]')[0]).toMatch(/step "a" depends on itself/);
    expect(at(r, 'steps[0].dependsOn[2]')[0]).toMatch(/"sub" is a sub-step of parallel step "p"; depend on "p" instead/);
    expect(r.warnings.map((w) => w.path)).toContain('steps[0].dependsOn[4]');
  });

  it('names every step of a longer cycle, in the order they would run', () => {
    const r = check(wf([step('a', { dependsOn: ['c'] }), step('b', { dependsOn: ['a'] }), step('c', { dependsOn: ['b'] }), step('d', { dependsOn: ['c'] })]));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ path: 'steps[0].dependsOn' });
    expect(r.errors[0]?.message).toContain('dependency cycle: "a" → "b" → "c" → "a"');
    expect(r.errors[0]?.message).not.toContain('"d"');
  });

  it('checks each type\'s required fields', () => {
    const r = check(
      wf([
        { id: 'd', agent: 'writer' },
        { id: 's', type: 'skill' },
        { id: 'c', type: 'condition' },
        { id: 'p', type: 'parallel', parallel: [] },
        { id: 'h', type: 'handoff' },
        { id: 't', type: 'tool_call' },
        { id: 'w', type: 'delay' },
        { id: 'n', type: 'notify' },
      ]),
    );
    expect(paths(r)).toEqual(['steps[0].prompt', 'steps[1].skill', 'steps[2].if', 'steps[2].then', 'steps[3].parallel', 'steps[4].handoffFrom', 'steps[4].agent', 'steps[5].toolName', 'steps[6].delay', 'steps[7].notifyMsg']);
  });

  it('checks then/else: unknown, a sub-step, not depending on the condition', () => {
    const r = check(
      wf([
        { id: 'c', type: 'condition', if: '{{x}}', then: 'nope', else: 'sub' },
        { id: 'p', type: 'parallel', dependsOn: ['c'], parallel: [step('sub')] },
        { id: 'c2', type: 'condition', if: '1', then: 'p', else: 'free' },
        step('free'),
      ], { variables: { x: '' } }),
    );
    expect(at(r, 'steps[0].then')[0]).toMatch(/"then" names unknown step "nope"/);
    expect(at(r, 'steps[0].else')[0]).toMatch(/a sub-step of parallel step "p"; name "p" instead/);
    expect(at(r, 'steps[2].then')[0]).toMatch(/"then" target "p" \(steps\[1\]\) does not depend on condition "c2".*add "c2" to steps\[1\]\.dependsOn/);
    expect(at(r, 'steps[2].else')[0]).toMatch(/"else" target "free" \(steps\[3\]\) does not depend on condition "c2"/);
  });

  it('refuses template references to steps that are not ancestors, in every templated field and in sub-steps as parent/sub', () => {
    const r = check(
      wf([
        step('a'),
        step('b'),
        step('c', { dependsOn: ['a'], prompt: '{{steps.a.output}} {{steps.b.output}}', model: '{{steps.b.status}}' }),
        { id: 'p', type: 'parallel', dependsOn: ['a'], parallel: [step('s1', { prompt: '{{steps.a.output}} {{steps.s2.output}} {{steps.ghost.output}}' }), step('s2')] },
        { id: 'n', type: 'notify', notifyMsg: '{{steps.s1.output}}', dependsOn: ['p'] },
        { id: 't', type: 'tool_call', toolName: 'shell', toolInput: { command: 'echo', args: ['{{steps.n.output}}'] } },
        { id: 'g', type: 'condition', if: '{{steps.c.output}} == x', then: 'h', dependsOn: ['a'] },
        { id: 'h', type: 'skill', skill: 'lint', skillArgs: ['{{steps.g.output}}', '{{steps.self.output}}'], dependsOn: ['g'] },
        step('self', { prompt: 'me: {{steps.self.output}}' }),
      ]),
    );
    expect(at(r, 'steps[2].prompt')[0]).toMatch(/reads step "b", which is not an ancestor of "c".*add "b" to the dependsOn of "c"/);
    expect(at(r, 'steps[2].model')[0]).toMatch(/reads step "b"/);
    const sub = at(r, 'steps[3].parallel[0].prompt');
    expect(sub).toHaveLength(2);
    expect(sub[0]).toMatch(/reads step "s2", which is not an ancestor of parallel step "p"/);
    expect(sub[1]).toMatch(/step "p\/s1" field "prompt": template \{\{steps\.ghost\.output\}\} references unknown step "ghost"/);
    expect(at(r, 'steps[5].toolInput.args[0]')[0]).toMatch(/reads step "n", which is not an ancestor of "t"/);
    expect(at(r, 'steps[6].if')[0]).toMatch(/reads step "c", which is not an ancestor of "g"/);
    expect(at(r, 'steps[7].skillArgs[1]')[0]).toMatch(/reads step "self"/);
    expect(at(r, 'steps[8].prompt')[0]).toMatch(/reads the result of "self" from inside "self"/);
    expect(at(r, 'steps[4].notifyMsg')).toEqual([]); // a sub-step of an ancestor parallel step is visible
    expect(at(r, 'steps[7].skillArgs[0]')).toEqual([]);
  });

  it('refuses a step field that does not exist', () => {
    const r = check(wf([step('a'), step('b', { dependsOn: ['a'], prompt: '{{steps.a.result}}' })]));
    expect(at(r, 'steps[1].prompt')[0]).toMatch(/reads field "result" of a step; use output, status or error/);
  });

  it('checks agents, providers and skills against the config; a templated agent is left for the run', () => {
    const r = check(
      wf([
        step('a', { agent: 'nobody', provider: 'nowhere' }),
        { id: 's', type: 'skill', skill: 'deploy' },
        step('t', { agent: '{{who}}' }),
      ], { variables: { who: 'writer' } }),
    );
    expect(at(r, 'steps[0].agent')[0]).toMatch(/agent "nobody" is not in the config/);
    expect(at(r, 'steps[0].provider')[0]).toMatch(/provider "nowhere" is not in the config \(providers: "claude", "fake"\)/);
    expect(at(r, 'steps[1].skill')[0]).toMatch(/unknown skill "deploy" \(skills in the config: "lint"\); add it to config\.json as "skills": \{"deploy": \{"command"/);
    expect(paths(r)).not.toContain('steps[2].agent');
  });

  it('needs an agent for dispatch steps unless the config has a defaultAgent; skips config checks without a config', () => {
    expect(at(check(wf([{ id: 'a', prompt: 'x' }])), 'steps[0].agent')[0]).toMatch(/names no "agent" and the config has no "defaultAgent"/);
    expect(check(wf([{ id: 'a', prompt: 'x' }]), { ...config, defaultAgent: 'writer' }).errors).toEqual([]);
    expect(check(wf([{ id: 'a', agent: 'anyone', prompt: 'x' }, { id: 's', type: 'skill', skill: 'any' }]), null).errors).toEqual([]);
  });

  it('checks durations, onError, retryMax, permissionMode and budget', () => {
    const r = check(
      wf([step('a', { timeout: '0s', retryDelay: 'later', onError: 'ignore', retryMax: -1, permissionMode: 'yolo', budget: 'cheap' })], { timeout: '1 hour' }),
    );
    expect(at(r, 'timeout')[0]).toMatch(/"1 hour" is not a duration/);
    expect(at(r, 'steps[0].timeout')[0]).toMatch(/is 0, which would end the wait at once/);
    expect(at(r, 'steps[0].retryDelay')[0]).toMatch(/"later" is not a duration/);
    expect(at(r, 'steps[0].onError')[0]).toMatch(/"ignore" is not one of stop, skip, retry/);
    expect(at(r, 'steps[0].retryMax')[0]).toMatch(/whole number of 0 or more/);
    expect(at(r, 'steps[0].permissionMode')[0]).toMatch(/"yolo" is not one of default, acceptEdits/);
    expect(at(r, 'steps[0].budget')[0]).toMatch(/amount in USD/);
    for (const mode of ['stop', 'skip', 'retry']) expect(check(wf([step('a', { onError: mode })])).errors).toEqual([]);
    const long = check(wf([step('a', { timeout: '30d', retryDelay: '25d' }), { id: 'w', type: 'delay', delay: '30d' }], { timeout: '40d' }));
    expect(paths(long).sort()).toEqual(['steps[0].retryDelay', 'steps[0].timeout', 'timeout']);
    expect(at(long, 'steps[0].timeout')[0]).toMatch(/longer than 2147483647 ms \(about 24\.8 days, the longest a timer holds\); give at most "24d"/);
  });

  it('refuses external steps as not supported yet, never ignoring them', () => {
    const r = check(wf([{ id: 'x', type: 'external', externalUrl: 'https://example.com', callbackKey: 'k' }]));
    expect(at(r, 'steps[0].type')[0]).toMatch(/"external" .* is not supported by this version yet/);
    expect(r.warnings).toEqual([]); // its fields are known, not "unknown keys"
  });

  it('warns (does not refuse) a notify target this version lacks, and accepts log, webhook URLs and discord:<id>', () => {
    const r = check(wf([{ id: 'n', type: 'notify', notifyMsg: 'hi', notifyTo: 'telegram' }]));
    expect(r.errors).toEqual([]);
    expect(r.warnings[0]).toMatchObject({ path: 'steps[0].notifyTo' });
    expect(r.warnings[0]?.message).toMatch(/"telegram" is not one this version has; the step will log the message and succeed with a note/);
    for (const to of ['log', 'https://hooks.example.com/x', 'discord:123456789012345678', undefined]) {
      expect(check(wf([{ id: 'n', type: 'notify', notifyMsg: 'hi', notifyTo: to }]), { ...config, discord: { enabled: true } })).toMatchObject({ errors: [], warnings: [] });
    }
    expect(check(wf([{ id: 'n', type: 'notify', notifyMsg: 'hi', notifyTo: 'discord:1' }])).warnings[0]?.message).toMatch(/Discord is not enabled/);
  });

  it('checks tool_call inputs', () => {
    const r = check(
      wf([
        { id: 'a', type: 'tool_call', toolName: 'web_search' },
        { id: 'b', type: 'tool_call', toolName: 'shell', toolInput: { args: 'x', timeout: 'eventually' } },
        { id: 'c', type: 'tool_call', toolName: 'http', toolInput: { url: 'ftp://x', method: 'FETCH', headers: { a: 1 } } },
      ]),
    );
    expect(at(r, 'steps[0].toolName')[0]).toMatch(/not one this version runs; use "shell".*or "http"/);
    expect(paths(r)).toEqual(expect.arrayContaining(['steps[1].toolInput.command', 'steps[1].toolInput.args', 'steps[1].toolInput.timeout', 'steps[2].toolInput.url', 'steps[2].toolInput.method', 'steps[2].toolInput.headers']));
  });

  it('checks human steps', () => {
    const r = check(
      wf([
        { id: 'a', type: 'human', humanSubtype: 'action', humanPrompt: 'ok?' },
        { id: 'b', type: 'human', humanSubtype: 'input', humanPrompt: 'say', humanOnTimeout: 'approve', humanTimeout: 'never' },
        { id: 'c', type: 'human', humanOnTimeout: 'maybe' },
      ]),
    );
    expect(at(r, 'steps[0].humanSubtype')[0]).toMatch(/use "approval".*or "input"/);
    expect(at(r, 'steps[1].humanOnTimeout')[0]).toMatch(/"approve" has no meaning for an "input" step/);
    expect(at(r, 'steps[1].humanTimeout')[0]).toMatch(/not a duration/);
    expect(at(r, 'steps[2].humanOnTimeout')[0]).toMatch(/not one of stop, skip, approve/);
    expect(r.warnings.map((w) => w.path)).toContain('steps[2].humanPrompt');
  });

  it('refuses sub-step types the runner cannot run side by side', () => {
    const r = check(wf([{ id: 'p', type: 'parallel', parallel: [{ id: 'q', type: 'human', humanPrompt: 'x' }, step('ok')] }]));
    expect(at(r, 'steps[0].parallel[0].type')[0]).toMatch(/a sub-step of a parallel step cannot be of type "human"/);
  });

  it('refuses {{env.NAME}} for secret-looking names unless workflowEnv lists them', () => {
    const raw = wf([step('a', { prompt: 'token {{env.GITHUB_TOKEN}} home {{env.HOME}}' })]);
    expect(at(check(raw), 'steps[0].prompt')[0]).toMatch(/\{\{env\.GITHUB_TOKEN\}\} is refused.*add "GITHUB_TOKEN" to "workflowEnv"/);
    expect(check(raw, { ...config, workflowEnv: ['GITHUB_TOKEN'] }).errors).toEqual([]);
    expect(at(check(wf([step('a')], { branch: 'wf/{{env.SECRET_X}}' })), 'branch')[0]).toMatch(/is refused/);
  });

  it('warns about variables used but not declared (and trigger variables starting with _ are not counted)', () => {
    const r = check(wf([step('a', { prompt: '{{topic}} {{topic}} {{_trigger_name}} {{declared}}' }), step('b', { prompt: '{{topic}}' })], { variables: { declared: '' } }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatchObject({ path: 'steps[0].prompt' });
    expect(r.warnings[0]?.message).toMatch(/variable "topic" is used \(also at steps\[1\]\.prompt\) but not declared.*--var topic=VALUE/);
  });

  it('reports values of the wrong kind from parsing, and unknown keys as warnings, never a crash', () => {
    const r = check({ name: 'w', variables: { n: 3 }, steps: [{ id: 'a', agent: 'writer', prompt: 7, dependsOn: 'b', colour: 'red' }, 'not a step', null], extra: 1 });
    expect(paths(r)).toEqual(expect.arrayContaining(['variables.n', 'steps[0].prompt', 'steps[0].dependsOn', 'steps[1]', 'steps[2]']));
    expect(at(r, 'steps[0].dependsOn')[0]).toMatch(/must be a list of step ids.*write \["b"\]/);
    expect(r.warnings.map((w) => w.path)).toEqual(expect.arrayContaining(['extra', 'steps[0].colour']));
    for (const junk of [null, 3, 'x', [], { steps: 'x' }, { steps: [[]] }]) expect(() => check(junk)).not.toThrow();
  });

  it('reads the legacy "role" as the agent', () => {
    const parsed = parseWorkflow(wf([{ id: 'a', role: 'writer', prompt: 'x' }]));
    expect(parsed.def.steps[0]?.agent).toBe('writer');
    expect(validateWorkflow(parsed.def, { config }).errors).toEqual([]);
  });
});

describe('missingVariables and renderStep', () => {
  it('lists variables used, not declared and not given', () => {
    const { def } = parseWorkflow(wf([step('a', { prompt: '{{a}} {{b}} {{c}} {{_trigger_time}}' })], { variables: { a: '' } }));
    expect(missingVariables(def, { b: 'x' })).toEqual(['c']);
    expect(missingVariables(def, { b: 'x', c: '' })).toEqual([]);
    expect(missingVariablesMessage('w', ['c'])).toMatch(/variable "c" with no value: give it \(--var c=VALUE/);
  });

  it('renders every templated field of a step for the runner', () => {
    const { def } = parseWorkflow(
      wf([{ id: 't', type: 'tool_call', toolName: 'http', toolInput: { url: 'https://x/{{v}}', headers: { a: '{{steps.p.output}}' } }, notifyTo: '{{v}}', skillArgs: ['{{v}}'], humanContext: { k: '{{v}}' } }]),
    );
    const out = renderStep(def.steps[0]!, { vars: { v: 'V' }, steps: { p: { output: 'P' } }, env: () => undefined });
    expect(out.toolInput).toEqual({ url: 'https://x/V', headers: { a: 'P' } });
    expect(out.skillArgs).toEqual(['V']);
    expect(out.humanContext).toEqual({ k: 'V' });
    expect(out.notifyTo).toBe('V');
    expect(def.steps[0]?.toolInput).toEqual({ url: 'https://x/{{v}}', headers: { a: '{{steps.p.output}}' } });
  });

  // Found by the fuzz suite (test/fuzz/workflows.test.ts): the path of a top-level key lost its leading dot.
  it('an unknown top-level key starting with a dot is warned about at its own path', () => {
    const { warnings } = parseWorkflow({ name: 'w', steps: [], '.hidden': 1, '. ': 2, plain: 3 });
    expect(warnings.map((w) => w.path)).toEqual(['.hidden', '. ', 'plain']);
  });

  // Found by the fuzz suite (test/fuzz/workflows.test.ts): the entry was assigned, which drops a "__proto__" key.
  it('keeps every humanContext entry, a "__proto__" key included, through parsing and rendering', () => {
    const { def } = parseWorkflow(JSON.parse('{"name": "w", "steps": [{"id": "h", "type": "human", "humanPrompt": "ok?", "humanContext": {"__proto__": "{{v}}", "a": "b"}}]}'));
    expect(Object.entries(def.steps[0]?.humanContext ?? {})).toEqual([['__proto__', '{{v}}'], ['a', 'b']]);
    const out = renderStep(def.steps[0]!, { vars: { v: 'V' }, steps: {}, env: () => undefined });
    expect(Object.entries(out.humanContext ?? {})).toEqual([['__proto__', 'V'], ['a', 'b']]);
  });
});

describe('workflow files in the original format', () => {
  it('the examples in examples/workflows validate with no error', () => {
    const dir = join(repoRoot, 'examples', 'workflows');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const types = new Set<string>();
    for (const f of files) {
      const r = check(JSON.parse(readFileSync(join(dir, f), 'utf8')), { ...config, defaultAgent: 'writer' });
      expect(r.errors, f).toEqual([]);
      for (const s of r.def.steps) {
        types.add(s.type);
        for (const sub of s.parallel ?? []) types.add(sub.type);
      }
    }
    // Every type this version runs is shown by an example.
    expect([...types].sort()).toEqual(['condition', 'delay', 'dispatch', 'handoff', 'human', 'notify', 'parallel', 'skill', 'tool_call']);
  });

  it("the original's advanced example loads as it is: its telegram notify is only a warning", () => {
    const original = {
      name: 'content-pipeline',
      variables: { type: 'technical', topic: '' },
      timeout: '1h',
      steps: [
        { id: 'classify', type: 'condition', if: "{{type}} == 'technical'", then: 'parallel-research', else: 'creative-draft' },
        { id: 'parallel-research', type: 'parallel', dependsOn: ['classify'], parallel: [{ id: 'search-papers', agent: 'hisui', prompt: '{{topic}}' }, { id: 'search-code', agent: 'kokuyou', prompt: '{{topic}}' }] },
        { id: 'creative-draft', agent: 'kohaku', prompt: '{{topic}}', dependsOn: ['classify'] },
        { id: 'final-edit', agent: 'ruri', prompt: '{{steps.parallel-research.output}}\n{{steps.creative-draft.output}}', dependsOn: ['parallel-research', 'creative-draft'], onError: 'skip', retryMax: 1, retryDelay: '10s' },
        { id: 'deliver', type: 'notify', notifyMsg: '{{steps.final-edit.output}}', notifyTo: 'telegram', dependsOn: ['final-edit'] },
      ],
    };
    const r = check(original, { agents: { hisui: {}, kokuyou: {}, kohaku: {}, ruri: {} } });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.path)).toEqual(['steps[4].notifyTo']);
  });
});

describe('assertRunnable', () => {
  it('refuses an invalid workflow with every error, then missing variables by name, else returns the warnings', async () => {
    const { assertRunnable } = await import('../../src/workflows/service.js');
    const { parseWorkflow: parse } = await import('../../src/workflows/parse.js');
    const invalid = parse(wf([step('a', { agent: 'ghost' }), step('a')]));
    try {
      assertRunnable(invalid, config, {});
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'TET_ERR_WORKFLOW_INVALID', exitCode: 78, status: 400 });
      expect((err as { details: { errors: unknown[] } }).details.errors).toHaveLength(2);
    }
    const needsVar = parse(wf([step('a', { prompt: '{{topic}} {{mood}}' })], { variables: { mood: '' }, colour: 1 }));
    expect(() => assertRunnable(needsVar, config, {})).toThrow(/uses variable "topic" with no value: give it \(--var topic=VALUE/);
    expect(assertRunnable(needsVar, config, { topic: 'x' }).map((w) => w.path)).toEqual(['colour', 'steps[0].prompt']);
  });
});
