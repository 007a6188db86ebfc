/**
 * Shared settings of the fuzz suite (fast-check). Every property runs a fixed, small number of times so the
 * whole suite stays well under a minute of `npm test`; fast-check prints the seed and path of a failure, and
 * these variables replay or widen a run:
 *   FC_SEED=<seed> [FC_PATH=<path>] npx vitest run test/fuzz   — replay a reported failure
 *   FC_RUNS=<n>                                                — run every property n times instead
 */
import fc from 'fast-check';

export interface RunParams {
  numRuns: number;
  seed?: number;
  path?: string;
}

export function runs(numRuns: number): RunParams {
  const env = process.env;
  const p: RunParams = { numRuns: env.FC_RUNS ? Number(env.FC_RUNS) : numRuns };
  if (env.FC_SEED) p.seed = Number(env.FC_SEED);
  if (env.FC_PATH) p.path = env.FC_PATH;
  return p;
}

/** Any JSON value, with keys that matter to JS objects (`__proto__`, `constructor`) mixed in. */
export const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'prompt', 'agent', 'steps')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A field value of the wrong kind or an edge of the right kind. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e400, -1e400, '', ' ', '\0', 'x\u0000y', '\uD800', '__proto__', 'constructor', [], {}, [1], { a: 1 }, '1h', '0', 'NaN', '-5s', '99999999999999999999', 'http://', 'T-1'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  anyJson,
);
