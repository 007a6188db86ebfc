import type { ResolvedConfig } from './types.js';

const SECRET_KEY = /(token|apikey|api_key|secret|password)$/i;

/** A copy of the config safe to print: secret values become `***`, the environment is left out. */
export function redactConfig(config: ResolvedConfig): Record<string, unknown> {
  const { env: _env, ...rest } = config;
  const walk = (v: unknown, key: string, parent: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, '', parent));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k, key)]));
    }
    if (typeof v === 'string' && v.length > 0 && (SECRET_KEY.test(key) || parent === 'env')) return '***';
    return v;
  };
  return walk(rest, '', '') as Record<string, unknown>;
}

/** A `$VAR` / `${VAR}` reference: it names a secret, it is not one. */
const REFERENCE = /^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * A config file's JSON (config.json, config.local.json) with its literal secrets replaced by `***` (the
 * keys `redactConfig` hides, and every value of an `env` map); `$VAR` references are kept, as they hold
 * no secret. Returns the copy and the JSON paths that were hidden.
 */
export function redactRaw(doc: unknown): { doc: unknown; redacted: string[] } {
  const redacted: string[] = [];
  const walk = (v: unknown, key: string, parent: string, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, '', parent, `${path}[${i}]`));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k, key, path ? `${path}.${k}` : k)]));
    if (typeof v === 'string' && v.length > 0 && (SECRET_KEY.test(key) || parent === 'env') && !REFERENCE.test(v)) {
      redacted.push(path);
      return '***';
    }
    return v;
  };
  return { doc: walk(doc, '', '', ''), redacted };
}

/**
 * A redacted config put back: every `***` takes the value `current` (the config being replaced) has at the
 * same path, when it has a string there; one with no such value is left out (a literal `***` would be a
 * guessable apiToken), and its path returned in `missing`. Pure.
 */
const GONE = Symbol('left out');

export function unredact(doc: unknown, current: unknown): { doc: unknown; missing: string[] } {
  const missing: string[] = [];
  const walk = (v: unknown, cur: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, Array.isArray(cur) ? cur[i] : undefined, `${path}[${i}]`));
    if (v && typeof v === 'object') {
      const c = cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>) : {};
      return Object.fromEntries(
        Object.entries(v)
          .map(([k, x]) => [k, walk(x, c[k], path ? `${path}.${k}` : k)] as const)
          .filter(([, x]) => x !== GONE),
      );
    }
    if (v === '***') {
      if (typeof cur === 'string' && cur !== '***') return cur;
      missing.push(path);
      return GONE;
    }
    return v;
  };
  return { doc: walk(doc, current, ''), missing };
}
