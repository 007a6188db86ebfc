/**
 * Fuzzing workflows: the parser and validator (src/workflows/parse.ts, validate.ts) on random JSON and on
 * random mutations of a valid workflow using every step type, and the template engine (template.ts).
 * Properties: parsing and validation never throw; every problem names a JSON path that the document holds
 * (or a missing key of an object it holds); templates never throw but the documented refusal, insert values
 * byte for byte, never re-render what they insert, and leave text without a reference as it is.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetoraError } from '../../src/errors.js';
import { checkWorkflow, renderStep, type ValidationConfig } from '../../src/workflows/validate.js';
import { parseWorkflowText } from '../../src/workflows/parse.js';
import { renderDeep, renderTemplate, templateRefs, type TemplateContext } from '../../src/workflows/template.js';
import { anyJson, mutate, mutation, oddValue, paths, runs } from './fc.js';

const config: ValidationConfig = {
  agents: { researcher: {}, writer: {}, reviewer: {} },
  providers: { claude: {}, codex: {} },
  skills: { lint: {} },
  workflowEnv: ['API_TOKEN'],
  defaultAgent: 'writer',
  discord: { enabled: true },
};

/** A valid workflow with every step type (the content-pipeline example, extended). */
export const VALID_WORKFLOW = {
  name: 'content-pipeline',
  description: 'Route a topic, research, edit, review, announce',
  variables: { kind: 'technical', topic: '' },
  timeout: '1h',
  steps: [
    { id: 'classify', type: 'condition', if: "{{kind}} == 'technical'", then: 'research', else: 'creative-draft' },
    {
      id: 'research',
      type: 'parallel',
      dependsOn: ['classify'],
      parallel: [
        { id: 'papers', agent: 'researcher', prompt: 'Find papers about {{topic}}.' },
        { id: 'code', agent: 'researcher', prompt: 'Find projects about {{topic}}.', timeout: '10m' },
      ],
    },
    { id: 'creative-draft', agent: 'writer', prompt: 'Draft about {{topic}}.', dependsOn: ['classify'], model: 'sonnet', provider: 'claude' },
    { id: 'edit', agent: 'writer', prompt: 'Papers:\n{{steps.papers.output}}\nDraft:\n{{steps.creative-draft.output}}', dependsOn: ['research', 'creative-draft'], onError: 'retry', retryMax: 2, retryDelay: '10s', budget: 0.5 },
    { id: 'lint', type: 'skill', skill: 'lint', skillArgs: ['--fix', '{{topic}}'], dependsOn: ['edit'] },
    { id: 'tool', type: 'tool_call', toolName: 'shell', toolInput: { command: 'echo {{steps.edit.status}}', args: ['{{topic}}'] }, dependsOn: ['edit'], allowDangerous: true },
    { id: 'review', type: 'handoff', handoffFrom: 'edit', agent: 'reviewer', prompt: 'Review it.', dependsOn: ['edit'], onError: 'skip' },
    { id: 'wait', type: 'delay', delay: '5m', dependsOn: ['review'] },
    { id: 'approve', type: 'human', humanSubtype: 'approval', humanPrompt: 'Publish {{topic}}?', humanTimeout: '1h', humanOnTimeout: 'stop', humanContext: { draft: '{{steps.edit.output}}' }, dependsOn: ['wait'] },
    { id: 'announce', type: 'notify', notifyMsg: 'Article on {{topic}} is ready ({{steps.review.status}}).', notifyTo: 'log', dependsOn: ['approve', 'lint', 'tool'] },
  ],
};

/** The JSON paths of a document in the workflow's notation (`steps[2].dependsOn[0]`, `variables.topic`). */
function workflowPaths(doc: unknown): Set<string> {
  const out = new Set<string>(['(top level)', '(file)']);
  for (const p of paths(doc)) out.add(p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join(''));
  return out;
}

function checkProblems(doc: unknown, withConfig: boolean): void {
  let r;
  try {
    r = checkWorkflow(doc, withConfig ? { config } : {});
  } catch (err) {
    throw new Error(`checkWorkflow threw: ${String((err as Error)?.stack ?? err)}`);
  }
  const known = workflowPaths(doc);
  for (const p of [...r.errors, ...r.warnings]) {
    expect(typeof p.path).toBe('string');
    expect(p.message.length).toBeGreaterThan(0);
    // A warning about a top-level key named "" has the path "" (its message quotes the key).
    if (p.path === '' && p.message.startsWith('key "" ')) continue;
    expect(p.path.length).toBeGreaterThan(0);
    // The path is one of the document's, or a missing field (at most two levels) below one of them.
    const up = (q: string) => q.replace(/(\.[^.[\]]*|\[\d+\])$/, '');
    if (!known.has(p.path) && !known.has(up(p.path)) && !known.has(up(up(p.path))) && !/^[A-Za-z]+$/.test(p.path)) {
      throw new Error(`problem at ${p.path}, which the document does not hold: ${p.message}`);
    }
  }
}

describe('fuzz: workflow parser and validator', () => {
  it('the valid workflow with every step type validates', () => {
    const r = checkWorkflow(VALID_WORKFLOW, { config });
    expect(r.errors).toEqual([]);
  });

  it('random JSON documents: no throw, every problem has a path and a message', () => {
    fc.assert(fc.property(anyJson, fc.boolean(), (doc, withConfig) => checkProblems(doc, withConfig)), runs(200));
  });

  it('random workflow-shaped documents (known keys, odd values, odd steps)', () => {
    const stepKeys = ['id', 'type', 'agent', 'role', 'prompt', 'dependsOn', 'parallel', 'if', 'then', 'else', 'timeout', 'delay', 'retryMax', 'budget', 'toolInput', 'humanContext', 'skillArgs', 'handoffFrom', 'onError', 'notifyTo', 'humanSubtype'];
    const step = fc.dictionary(fc.constantFrom(...stepKeys), fc.oneof(oddValue, fc.constantFrom('a', 'b', 'dispatch', 'parallel', 'condition', 'human', 'delay', ['a'], ['b', 'a'], '{{x}}', '{{steps.a.output}}', '{{env.SECRET_KEY}}')), { maxKeys: 6 });
    const doc = fc.record(
      {
        name: fc.oneof(fc.constantFrom('wf', 'a b', '../x', ''), oddValue),
        variables: fc.oneof(fc.dictionary(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('__proto__', 'x')), fc.oneof(fc.string({ maxLength: 5 }), oddValue), { maxKeys: 3 }), oddValue),
        steps: fc.oneof(fc.array(fc.oneof(step, fc.constantFrom({ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'a', type: 'parallel', parallel: [{ id: 'a' }] })), { maxLength: 5 }), oddValue),
        timeout: oddValue,
      },
      { requiredKeys: ['steps'] },
    );
    fc.assert(fc.property(doc, fc.boolean(), (d, withConfig) => checkProblems(JSON.parse(JSON.stringify(d)), withConfig)), runs(300));
  });

  it('1 to 4 random mutations of the valid workflow', () => {
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (ms, withConfig) => checkProblems(JSON.parse(mutate(VALID_WORKFLOW, ms)), withConfig)), runs(300));
  });

  it('the parser keeps every variable and humanContext entry, whatever its name (`constructor`; `__proto__` in humanContext)', () => {
    // Variable names starting with `__` are reserved (plan.ts runVariables drops them, as the original does).
    const names = fc.uniqueArray(varName.filter((n) => !n.startsWith('__')), { maxLength: 4 });
    fc.assert(
      fc.property(names, (ns) => {
        const entries = ns.map((n, i) => `${JSON.stringify(n)}: "v${i}"`).join(', ');
        const doc = JSON.parse(`{"name": "wf", "variables": {${entries}}, "steps": [{"id": "h", "type": "human", "humanPrompt": "ok?", "humanContext": {${entries}}}]}`) as unknown;
        const { def } = checkWorkflow(doc);
        const want = Object.fromEntries(ns.map((n, i) => [n, `v${i}`]));
        expect(Object.entries(def.variables)).toEqual(Object.entries(want));
        expect(Object.entries(def.steps[0]?.humanContext ?? {})).toEqual(Object.entries(want));
        const hc = JSON.parse('{"name": "wf", "steps": [{"id": "h", "type": "human", "humanPrompt": "ok?", "humanContext": {"__proto__": "p", "a": "b"}}]}') as unknown;
        const withProto = renderStep(checkWorkflow(hc).def.steps[0]!, ctxOf({}));
        expect(Object.entries(withProto.humanContext ?? {})).toEqual([['__proto__', 'p'], ['a', 'b']]);
        const rendered = renderStep(def.steps[0]!, ctxOf({}));
        expect(Object.entries(rendered.humanContext ?? {})).toEqual(Object.entries(want));
      }),
      runs(100),
    );
  });

  it('random text as a workflow file: one problem at (file), or the document\'s problems', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const r = parseWorkflowText(text);
        for (const p of r.errors) expect(p.path.length).toBeGreaterThan(0);
      }),
      runs(100),
    );
  });
});

/** Text with no `{` or `}`: nothing in it can form or break a reference. */
const plain = fc.string({ maxLength: 20 }).map((s) => s.replace(/[{}]/g, ''));
/** Values a template inserts: replacement patterns, braces and references that must come out as they are. */
const value = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("$&", "$1", "$$", "$'", '$`', '{{topic}}', '}}', '{{', '{{steps.a.output}}', '{{env.HOME}}'));
const varName = fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,6}$/), fc.constantFrom('主題', 'é', '__proto__', 'constructor', 'toString'));

function ctxOf(vars: Record<string, string>, steps: Record<string, { output?: string; status?: string; error?: string }> = {}, env: Record<string, string> = {}): TemplateContext {
  return { vars, steps, env: (n) => (Object.hasOwn(env, n) ? env[n] : undefined) };
}

describe('fuzz: template engine', () => {
  it('random text with braces: renders, or refuses a secret-looking {{env.NAME}} with TET_ERR_WORKFLOW_ENV_REFUSED naming it', () => {
    const text = fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('{{', '}}', '{', '}', '{{x}}', '{{ steps.a.output }}', '{{steps.a.', '{{env.HOME}}', '{{env.MY_TOKEN}}', '{{env.API_TOKEN}}', '{{ .Name }}', '{{"a": 1}}', '{{__proto__}}', '{{constructor}}')), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.dictionary(varName, value, { maxKeys: 3 }), (t, vars) => {
        const ctx = ctxOf(JSON.parse(JSON.stringify(vars)) as Record<string, string>, { a: { output: 'A', status: 'succeeded' } }, { HOME: '/h', MY_TOKEN: 'secret', API_TOKEN: 'ok' });
        try {
          const out = renderTemplate(t, ctx, { workflowEnv: ['API_TOKEN'] });
          if (templateRefs(t).length === 0) expect(out).toBe(t);
          expect(out).not.toContain('secret');
        } catch (err) {
          expect(err).toBeInstanceOf(TetoraError);
          expect((err as TetoraError).code).toBe('TET_ERR_WORKFLOW_ENV_REFUSED');
          expect((err as TetoraError).details?.variable).toBe('MY_TOKEN');
          expect((err as TetoraError).message).toContain('MY_TOKEN');
        }
      }),
      runs(300),
    );
  });

  it('a variable, a step output and an env value are inserted byte for byte and not rendered again', () => {
    fc.assert(
      fc.property(plain, plain, plain, varName, value, value, value, (a, b, c, name, v, out, envv) => {
        const vars = JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(v)}}`) as Record<string, string>;
        const ctx = ctxOf(vars, { s1: { output: out } }, { HOME: envv });
        const text = `${a}{{${name}}}${b}{{steps.s1.output}}${c}{{env.HOME}}`;
        expect(renderTemplate(text, ctx)).toBe(`${a}${v}${b}${out}${c}${envv}`);
      }),
      runs(300),
    );
  });

  it('renderDeep keeps the shape of any JSON value (every key, `__proto__` included) and renders every string in it', () => {
    fc.assert(
      fc.property(anyJson, (v) => {
        const doc = JSON.parse(JSON.stringify(v)) as unknown;
        const out = renderDeep(doc, ctxOf({}));
        // No string of anyJson holds a reference unless by chance; compare the key paths and the non-string leaves.
        expect(paths(out).map((p) => p.join('\u0000')).sort()).toEqual(paths(doc).map((p) => p.join('\u0000')).sort());
        expect(JSON.stringify(out)).toBe(JSON.stringify(renderDeep(JSON.parse(JSON.stringify(doc)), ctxOf({}))));
      }),
      runs(200),
    );
  });

  it('renderStep of any mutated step: no throw but the env refusal, and fields keep their kinds', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const { def } = checkWorkflow(JSON.parse(mutate(VALID_WORKFLOW, ms)));
        for (const step of def.steps) {
          try {
            const r = renderStep(step, ctxOf({ topic: 'T' }, { edit: { output: 'O', status: 'succeeded' } }));
            expect(Object.keys(r).sort()).toEqual(Object.keys(step).sort());
          } catch (err) {
            expect((err as TetoraError).code).toBe('TET_ERR_WORKFLOW_ENV_REFUSED');
          }
        }
      }),
      runs(150),
    );
  });
});
