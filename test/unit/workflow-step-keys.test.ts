import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER, stepEnv, stepIdempotencyKey, withIdempotencyKey } from '../../src/workflows/steps/keys.js';

const RUN = '0b9f3c7e-5d0a-4c59-9d6b-6f1f4f0a2c11';

describe('in-daemon steps: the idempotency key of a run, step and attempt', () => {
  it('is the same for one attempt of a step, different across attempts, steps and runs, and always a valid header value', () => {
    expect(stepIdempotencyKey(RUN, 'hook', 1)).toBe(`tetora-${RUN}-hook-1`);
    expect(stepIdempotencyKey(RUN, 'hook', 1)).toBe(stepIdempotencyKey(RUN, 'hook', 1));
    const step = fc.string({ minLength: 1, unit: 'grapheme' });
    const attempt = fc.integer({ min: 1, max: 20 });
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), step, step, attempt, attempt, (r1, r2, s1, s2, a1, a2) => {
        const k = stepIdempotencyKey(r1, s1, a1);
        // Visible ASCII only: Node refuses other characters in a header value.
        expect(k).toMatch(/^[\x21-\x7e]+$/);
        if (r1 !== r2 || s1 !== s2 || a1 !== a2) expect(stepIdempotencyKey(r2, s2, a2)).not.toBe(k);
      }),
    );
  });

  it('is added to methods that change something, never to safe ones, and never over a key the workflow set', () => {
    const key = stepIdempotencyKey(RUN, 'web', 1);
    expect(withIdempotencyKey('post', { accept: 'text/plain' }, key)).toEqual({ accept: 'text/plain', [IDEMPOTENCY_HEADER]: key });
    for (const m of ['PUT', 'PATCH', 'DELETE']) expect(withIdempotencyKey(m, undefined, key)).toEqual({ [IDEMPOTENCY_HEADER]: key });
    for (const m of ['GET', 'head', 'OPTIONS']) expect(withIdempotencyKey(m, { a: '1' }, key)).toEqual({ a: '1' });
    expect(withIdempotencyKey('POST', { 'idempotency-key': 'mine' }, key)).toEqual({ 'idempotency-key': 'mine' });
    const given = { a: '1' };
    withIdempotencyKey('POST', given, key);
    expect(given).toEqual({ a: '1' }); // the workflow's headers are not changed
  });

  it('reaches shell and skill steps as environment variables', () => {
    expect(stepEnv({ runId: RUN, stepId: 'slow', attempt: 2, workflow: 'nightly' })).toEqual({
      TETORA_WORKFLOW: 'nightly',
      TETORA_RUN_ID: RUN,
      TETORA_STEP_ID: 'slow',
      TETORA_STEP_ATTEMPT: '2',
      TETORA_IDEMPOTENCY_KEY: `tetora-${RUN}-slow-2`,
    });
  });
});
