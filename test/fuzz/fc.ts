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

export type Path = Array<string | number>;

/** Every path of a JSON value (objects and arrays), the root excluded. */
export function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...at, i], ...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push([...at, k], ...paths(x, [...at, k]));
  return out;
}

export type Mutation = { kind: 'set'; at: number; value: unknown } | { kind: 'delete'; at: number } | { kind: 'add'; at: number; key: string; value: unknown };
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'roles', 'agent', 'role', 'type')), value: oddValue }),
);

/** Applies mutations to a copy of `base` (made of JSON text, so `__proto__` stays an own key). Returns the JSON text. */
export function mutate(base: unknown, ms: Mutation[]): string {
  const doc = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const m of ms) {
    const all = paths(doc);
    if (all.length === 0) break;
    const path = all[m.at % all.length] as Path;
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], doc) as Record<string | number, unknown>;
    const key = path.at(-1) as string | number;
    if (m.kind === 'set') parent[key] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else {
      const target = parent[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
  }
  // JSON.stringify writes 1e400 as null: put the overflowing literals back as the file would have them.
  return JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `@@${v > 0 ? '' : '-'}1e400@@` : v)).replace(/"@@(-?1e400)@@"/g, '$1');
}

