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
