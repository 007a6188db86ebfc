import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetoraError } from '../../src/errors.js';
import { handoffPrompt } from '../../src/agents/handoff.js';
import { envRefused, joinParallelOutputs, renderDeep, renderTemplate, templateRefs, type TemplateContext } from '../../src/workflows/template.js';

const ctx = (over: Partial<TemplateContext> = {}): TemplateContext => ({
  vars: { topic: 'AI agents', empty: '' },
  steps: { research: { output: 'five points', status: 'success' }, broken: { status: 'error', error: 'it failed' } },
  env: (name) => ({ HOME: '/home/u', API_TOKEN: 's3cret', deploy_key: 'k', LANG: 'C' })[name],
  ...over,
});

describe('templateRefs', () => {
  it('reads variables, step results and env names, trimming spaces, in order', () => {
    expect(templateRefs('{{topic}} {{ steps.research.output }} {{env.HOME}} {{steps.a-b.status}} {{steps.x}}')).toEqual([
      { kind: 'var', name: 'topic', raw: '{{topic}}' },
      { kind: 'step', name: 'research', field: 'output', raw: '{{ steps.research.output }}' },
      { kind: 'env', name: 'HOME', raw: '{{env.HOME}}' },
      { kind: 'step', name: 'a-b', field: 'status', raw: '{{steps.a-b.status}}' },
      { kind: 'step', name: 'x', field: '', raw: '{{steps.x}}' },
    ]);
  });

  it('does not take JSON or Go templates inside a prompt for references', () => {
    expect(templateRefs('{{ .Name }} {{"a": 1}} {{a b}} {{}}')).toEqual([]);
  });

  it('reads step ids and variable names in any script (the original example keeps Chinese prompts)', () => {
    expect(templateRefs('{{steps.研究.output}}')).toEqual([{ kind: 'step', name: '研究', field: 'output', raw: '{{steps.研究.output}}' }]);
    expect(templateRefs('{{主題}} {{トピック_2}}')).toEqual([
      { kind: 'var', name: '主題', raw: '{{主題}}' },
      { kind: 'var', name: 'トピック_2', raw: '{{トピック_2}}' },
    ]);
    expect(renderTemplate('關於 {{主題}}', { vars: { 主題: '代理' }, steps: {}, env: () => undefined })).toBe('關於 代理');
  });
});

describe('renderTemplate', () => {
  it('replaces variables, step output/status/error and env values', () => {
    expect(renderTemplate('About {{topic}}: {{steps.research.output}} ({{steps.research.status}}); {{steps.broken.error}}; home {{env.HOME}}', ctx())).toBe(
      'About AI agents: five points (success); it failed; home /home/u',
    );
  });

  it('renders unknown variables, steps without a result and unknown fields as "" (as the original)', () => {
    expect(renderTemplate('[{{nope}}][{{steps.later.output}}][{{steps.research.cost}}][{{empty}}][{{env.UNSET}}]', ctx())).toBe('[][][][][]');
  });

  it('leaves text that is not a reference as written', () => {
    const text = 'Use {{ .Name }} in Go and {"a": {{"b": 1}}} in JSON; {{ unclosed';
    expect(renderTemplate(text, ctx())).toBe(text);
  });

  it('inserts an output literally: $& and $1 are not replacement patterns, {{…}} inside it is not rendered again', () => {
    const out = 'cost $& and $1 $$ {{topic}} {{steps.research.output}}';
    expect(renderTemplate('<{{steps.x.output}}>', ctx({ steps: { x: { output: out } } }))).toBe(`<${out}>`);
  });

  it('passes a 1 MB output with multi-byte UTF-8 byte for byte (no 16,000-character cut)', () => {
    const unit = 'é漢字🙂\n\u0000tab\t';
    const big = unit.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(unit)));
    expect(Buffer.byteLength(big)).toBeGreaterThanOrEqual(1024 * 1024);
    const rendered = renderTemplate('before\n{{steps.big.output}}\nafter', ctx({ steps: { big: { output: big } } }));
    expect(Buffer.from(rendered).equals(Buffer.concat([Buffer.from('before\n'), Buffer.from(big), Buffer.from('\nafter')]))).toBe(true);
  });

  it('refuses {{env.NAME}} for secret-looking names (any case), naming the variable and the fix', () => {
    for (const name of ['API_TOKEN', 'deploy_key', 'MY_SECRET_X', 'dbPassword']) {
      let err: unknown;
      try {
        renderTemplate(`x {{env.${name}}} y`, ctx());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TetoraError);
      expect((err as TetoraError).code).toBe('TET_ERR_WORKFLOW_ENV_REFUSED');
      expect((err as TetoraError).message).toContain(`"${name}"`);
      expect((err as TetoraError).message).toContain('workflowEnv');
    }
  });

  it('reads a secret-looking name listed in workflowEnv, and non-secret names always', () => {
    expect(renderTemplate('{{env.API_TOKEN}}', ctx(), { workflowEnv: ['API_TOKEN'] })).toBe('s3cret');
    expect(renderTemplate('{{env.LANG}}', ctx())).toBe('C');
    expect(envRefused('MONKEY')).toBe(true); // KEY inside a name counts: better refuse than leak
    expect(envRefused('HOME')).toBe(false);
  });

  it('lets dry-run put a placeholder where a step result will go', () => {
    expect(renderTemplate('see {{steps.research.output}}', ctx(), { stepPlaceholder: (r) => `<${r.name}>` })).toBe('see <research>');
  });

  it('renders every string of a nested toolInput', () => {
    expect(renderDeep({ url: 'http://x/{{topic}}', n: 3, list: ['{{steps.research.output}}'], h: { a: '{{empty}}' } }, ctx())).toEqual({
      url: 'http://x/AI agents',
      n: 3,
      list: ['five points'],
      h: { a: '' },
    });
  });

  // Found by the fuzz suite (test/fuzz/workflows.test.ts): `out[k] = …` with k "__proto__" replaced the
  // copy's prototype, so the key vanished and its value's fields read through as if they were the input's.
  it('keeps a "__proto__" key of a JSON toolInput as a key, rendered like the others', () => {
    const input = JSON.parse('{"__proto__": {"command": "{{topic}}"}, "args": ["x"]}') as Record<string, unknown>;
    const out = renderDeep(input, ctx()) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'args']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.command).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"command":"AI agents"},"args":["x"]}');
  });
});

describe('handoff and parallel texts, as the original writes them', () => {
  it('puts the full context before the instruction, and joins parallel outputs with ---', () => {
    const big = '字'.repeat(20_000);
    expect(handoffPrompt(big, 'Review it')).toBe(`[Handoff Context]\n${big}\n\n[Instruction]\nReview it`);
    expect(joinParallelOutputs(['a', 'b', ''])).toBe('a\n---\nb\n---\n');
  });
});

describe('renderTemplate properties', () => {
  // Text built from pieces that look like templates, so the parser meets every odd case.
  const piece = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('{{', '}}', '{', '}', '{{steps.', '.output}}', '{{env.', '{{ topic }}', '{{steps.research.output}}', '{{steps..}}', '{{env.}}'),
  );
  const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));

  it('never throws on arbitrary text, except the env refusal', () => {
    fc.assert(
      fc.property(text, (t) => {
        try {
          expect(typeof renderTemplate(t, ctx())).toBe('string');
        } catch (err) {
          expect((err as TetoraError).code).toBe('TET_ERR_WORKFLOW_ENV_REFUSED');
          expect(templateRefs(t).some((r) => r.kind === 'env' && envRefused(r.name))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('leaves text without {{ unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (t) => {
        fc.pre(!t.includes('{{'));
        expect(renderTemplate(t, ctx())).toBe(t);
      }),
    );
  });

  it('passes any output byte for byte, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (out, pre, post) => {
        fc.pre(!pre.includes('{') && !post.includes('}') && !pre.includes('}') && !post.includes('{'));
        const rendered = renderTemplate(`${pre}{{steps.s.output}}${post}`, ctx({ steps: { s: { output: out } } }));
        expect(Buffer.from(rendered).equals(Buffer.from(pre + out + post))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
