import type { ResolvedProvider } from '../config/types.js';

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
  /** Cached input tokens read back (prompt cache hits). @default 0.1 × input */
  cachedInput?: number;
  /** Input tokens written to the prompt cache (Anthropic cache creation). @default 1.25 × input */
  cacheWrite?: number;
}

/** Token counts of one run by kind: `input` is the uncached input only. */
export interface TokenUse {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/**
 * List prices by model-name prefix (first match wins), used when a provider has no `pricing` in the config.
 * Unknown models cost 0 and the adapter says so in a `provider.info` event.
 */
const TABLE: Array<[RegExp, Price]> = [
  [/opus/i, { input: 15, output: 75 }],
  [/sonnet/i, { input: 3, output: 15 }],
  [/haiku/i, { input: 1, output: 5 }],
  [/^gpt-5.*mini/i, { input: 0.25, output: 2 }],
  [/^gpt-5.*nano/i, { input: 0.05, output: 0.4 }],
  [/^(gpt-5|codex)/i, { input: 1.25, output: 10 }],
  [/^gpt-4\.1-mini/i, { input: 0.4, output: 1.6 }],
  [/^gpt-4\.1/i, { input: 2, output: 8 }],
  [/^gpt-4o-mini/i, { input: 0.15, output: 0.6 }],
  [/^gpt-4o/i, { input: 2.5, output: 10 }],
  [/^o[34]-mini/i, { input: 1.1, output: 4.4 }],
  [/^o3/i, { input: 2, output: 8 }],
];

/** Loopback and private-network endpoints (Ollama, LM Studio, a local gateway) cost nothing. */
export function isLocalEndpoint(baseUrl: string | undefined): boolean {
  if (!baseUrl) return false;
  let host: string;
  try {
    host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^10\./.test(host) || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host) || host.endsWith('.local');
}

/** The price of a model on a provider: the config's `pricing`, else 0 for a local endpoint, else the table. */
export function priceOf(provider: Pick<ResolvedProvider, 'pricing' | 'baseUrl'>, model: string | undefined): Price | undefined {
  if (provider.pricing) return provider.pricing;
  if (isLocalEndpoint(provider.baseUrl)) return { input: 0, output: 0 };
  if (!model) return undefined;
  return TABLE.find(([re]) => re.test(model))?.[1];
}

export function costOf(price: Price | undefined, tokensIn: number, tokensOut: number): number {
  if (!price) return 0;
  return (tokensIn * price.input + tokensOut * price.output) / 1_000_000;
}

/** The cost of a run whose input is split into uncached, cache-read and cache-write tokens. */
export function costOfUse(price: Price | undefined, u: TokenUse): number {
  if (!price) return 0;
  const cachedInput = price.cachedInput ?? price.input * 0.1;
  const cacheWrite = price.cacheWrite ?? price.input * 1.25;
  return (u.input * price.input + (u.cacheRead ?? 0) * cachedInput + (u.cacheWrite ?? 0) * cacheWrite + u.output * price.output) / 1_000_000;
}
