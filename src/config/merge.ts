/** Pure helpers of the config loader: deep merge, `.env` parsing, unknown-key discovery. */
import type { z } from 'zod';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key, recursively; arrays and scalars in `over` replace the base value. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = Object.hasOwn(base, k) ? deepMerge(base[k], v) : v;
  return out;
}

/** `KEY=VALUE` lines, `#` comments, optional `export `, single or double quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = (m[2] as string).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      const hash = value.indexOf(' #');
      if (hash >= 0) value = value.slice(0, hash).trim();
    }
    out[m[1] as string] = value;
  }
  return out;
}

interface ZodDefLike {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): ZodDefLike {
  return (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else break;
  }
  return s;
}

/** Paths (`a.b.c`) of keys in `value` that `schema` does not declare. Objects with a catch-all accept any key. */
export function unknownKeys(schema: z.ZodType, value: unknown, path: string[] = []): string[] {
  const s = unwrap(schema);
  const d = defOf(s);
  const out: string[] = [];
  if (d.type === 'object' && d.shape && isPlainObject(value)) {
    const passthrough = d.catchall !== undefined && defOf(d.catchall).type !== 'never';
    for (const [k, v] of Object.entries(value)) {
      // Own keys only: "constructor" or "__proto__" in a file is an unknown key, not Object.prototype's.
      const child = Object.hasOwn(d.shape, k) ? d.shape[k] : undefined;
      if (child) out.push(...unknownKeys(child, v, [...path, k]));
      else if (!passthrough) out.push([...path, k].join('.'));
    }
  } else if (d.type === 'record' && d.valueType && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) out.push(...unknownKeys(d.valueType, v, [...path, k]));
  } else if (d.type === 'array' && d.element && Array.isArray(value)) {
    value.forEach((v, i) => out.push(...unknownKeys(d.element as z.ZodType, v, [...path, String(i)])));
  }
  return out;
}

/** The value at a JSON path, for error messages. Only own keys count: "constructor" of `{}` is nothing. */
export function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
