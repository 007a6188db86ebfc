/** `tetora init`'s pure parts: the choices, their validation, the starter config and SOUL.md. */
import { DEFAULT_LISTEN } from '../config/listen.js';
import { parseListen } from '../config/listen.js';
import { TetoraError } from '../errors.js';

export const STARTER_PROVIDERS = ['claude', 'codex'] as const;
export type StarterProvider = (typeof STARTER_PROVIDERS)[number];

export interface InitChoices {
  provider: StarterProvider;
  agent: string;
  listen: string;
  /** Absolute, or starting with `~`; undefined: none. */
  workdir?: string;
  /** Generate an apiToken. */
  token: boolean;
}

/** Where `claude` and `codex` were found on PATH (undefined: not found). */
export type Detected = Partial<Record<StarterProvider, string>>;

export const DEFAULT_AGENT = 'assistant';

export const INSTALL_HINT: Record<StarterProvider, string> = {
  claude: 'npm install -g @anthropic-ai/claude-code, then run `claude` once to log in',
  codex: 'npm install -g @openai/codex, then run `codex login`',
};

/** The provider to offer: the first CLI found on PATH, else claude (the output then says how to install it). */
export function defaultStarterProvider(detected: Detected): StarterProvider {
  return STARTER_PROVIDERS.find((p) => detected[p] !== undefined) ?? 'claude';
}

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Null when `value` is a usable answer for `field`, else what is wrong with it. */
export function problemWith(field: 'provider' | 'agent' | 'listen', value: string): string | null {
  if (field === 'provider') {
    return (STARTER_PROVIDERS as readonly string[]).includes(value) ? null : `"${value}" is not one of ${STARTER_PROVIDERS.join(', ')}`;
  }
  if (field === 'agent') {
    return AGENT_NAME.test(value) ? null : `"${value}" is not a usable agent name (letters, digits, "_" and "-", at most 64, starting with a letter or digit)`;
  }
  return parseListen(value).ok ? null : `"${value}" is not host:port with a port up to 65535 (for example ${DEFAULT_LISTEN})`;
}

const FLAG = { provider: '--provider', agent: '--agent', listen: '--listen' } as const;

/** Throws a usage error naming the flag when a non-interactive choice is wrong. */
export function validateChoices(c: InitChoices): void {
  for (const field of ['provider', 'agent', 'listen'] as const) {
    const problem = problemWith(field, c[field]);
    if (problem) throw new TetoraError('TET_ERR_USAGE', `tetora init ${FLAG[field]}: ${problem}.`, { field, value: c[field] });
  }
}

/** The starter config.json document. `apiToken` is the generated token, when one was asked for. */
export function starterConfig(c: InitChoices, apiToken?: string): Record<string, unknown> {
  const doc: Record<string, unknown> = { listenAddr: c.listen };
  if (apiToken !== undefined) doc.apiToken = apiToken;
  doc.maxConcurrent = 8;
  doc.defaultProvider = c.provider;
  // "sonnet" is a Claude model name; Codex picks its own default model when none is given.
  if (c.provider === 'claude') doc.defaultModel = 'sonnet';
  doc.defaultAgent = c.agent;
  doc.defaultTimeout = '1h';
  doc.defaultPermissionMode = 'acceptEdits';
  if (c.workdir !== undefined) doc.defaultWorkdir = c.workdir;
  doc.agents = {
    [c.agent]: {
      description: 'General-purpose agent created by tetora init',
      provider: c.provider,
      soulFile: `agents/${c.agent}/SOUL.md`,
      keywords: [],
    },
  };
  return doc;
}

export function starterSoul(agent: string): string {
  return `# ${agent}

You are ${agent}, an agent run by Tetora, a self-hosted AI agent orchestrator.

- Do the task you are given, completely, then report what you did and what is left.
- Say plainly when something failed or when you are unsure; never invent results.
- Keep answers short unless the task asks for detail.

(This file is the agent's system prompt. Edit it to give ${agent} its role, tone and rules.)
`;
}
