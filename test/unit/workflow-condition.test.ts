import { describe, expect, it } from 'vitest';
import { evalCondition, explainCondition } from '../../src/workflows/condition.js';
import type { TemplateContext } from '../../src/workflows/template.js';

const ctx: TemplateContext = {
  vars: { type: 'technical', zero: '0', no: 'false', blank: '', spaced: '  yes  ', expr: 'a == a', quoted: "'x'" },
  steps: { check: { output: 'PASS', status: 'success' }, tricky: { output: 'x == y', status: 'success' }, bad: { status: 'error', error: 'boom' } },
  env: () => undefined,
};

describe('evalCondition, as the original', () => {
  it.each([
    // == and != compare trimmed text; quotes are stripped from the right-hand side only
    ["{{type}} == 'technical'", true],
    ['{{type}} == "technical"', true],
    ['{{type}} == technical', true],
    ["{{type}}=='creative'", false],
    ["{{type}} != 'creative'", true],
    ['{{steps.check.output}} == PASS', true],
    ['{{steps.check.status}} != success', false],
    ['{{steps.bad.status}} == error', true],
    ["'{{type}}' == 'technical'", false],
    ['{{quoted}} == x', false],
    ['{{type}} == \'\'\'technical"', true],
    // truthiness: anything but "", "false" and "0" (after trimming)
    ['{{type}}', true],
    ['{{zero}}', false],
    ['{{no}}', false],
    ['{{blank}}', false],
    ['  ', false],
    ['{{spaced}}', true],
    ['False', true],
    ['0.0', true],
    ['{{missing}}', false],
    ['{{steps.later.output}}', false],
  ])('%s → %s', (expr, expected) => {
    expect(evalCondition(expr, ctx)).toBe(expected);
  });

  it('finds an operator that appears only after rendering, as the original does', () => {
    expect(explainCondition('{{expr}}', ctx)).toEqual({ op: '==', left: 'a', right: 'a', result: true });
  });

  it('splits at the operator written in the expression, not inside an output (the original split "x == y" wrong)', () => {
    expect(explainCondition('{{steps.tricky.output}} == x == y', ctx)).toMatchObject({ op: '==', left: 'x == y', right: 'x == y', result: true });
    expect(explainCondition('{{steps.tricky.output}} != done', ctx)).toMatchObject({ op: '!=', left: 'x == y', right: 'done', result: true });
  });
});
