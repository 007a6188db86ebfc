import { reaper } from './reaper.js';
import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import type { ProviderAdapter } from '../engine/provider.js';
import { AnthropicProvider, OpenAICompatibleProvider } from './api.js';
import { ClaudeCodeProvider } from './claude.js';
import { CodexCliProvider } from './codex.js';
import { CommandProvider } from './command.js';

/** Builds the adapter for one configured provider. One case per provider type. */
export function createProvider(cfg: ResolvedProvider): ProviderAdapter {
  switch (cfg.type) {
    case 'command':
      return new CommandProvider(cfg);
    case 'claude-code':
      return new ClaudeCodeProvider(cfg);
    case 'codex-cli':
      return new CodexCliProvider(cfg);
    case 'anthropic':
      return new AnthropicProvider(cfg);
    case 'openai-compatible':
      return new OpenAICompatibleProvider(cfg);
  }
}

/** Adapters for every provider in the config, built lazily by name. */
export class ProviderRegistry {
  readonly #cache = new Map<string, ProviderAdapter>();
  constructor(
    private config: ResolvedConfig,
    private readonly factory: (cfg: ResolvedProvider) => ProviderAdapter = createProvider,
  ) {}

  /** A config reload: adapters whose settings changed are rebuilt on next use. */
  reload(config: ResolvedConfig): void {
    for (const name of [...this.#cache.keys()]) {
      if (JSON.stringify(config.providers[name]) !== JSON.stringify(this.config.providers[name])) this.#cache.delete(name);
    }
    this.config = config;
  }

  get(name: string): ProviderAdapter | undefined {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const cfg = this.config.providers[name];
    if (!cfg) return undefined;
    const adapter = this.factory(cfg);
    this.#cache.set(name, adapter);
    return adapter;
  }

  /** An adapter for settings that may no longer be in the config (a re-attached run's, as it started). */
  build(cfg: ResolvedProvider): ProviderAdapter {
    return this.factory(cfg);
  }

  /** Resolves once every process left by ended runs has been killed. */
  idle(): Promise<void> {
    return reaper.idle();
  }
}
