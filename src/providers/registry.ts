import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import type { ProviderAdapter } from '../engine/provider.js';
import { CommandProvider } from './command.js';

/** Builds the adapter for one configured provider. One case per provider type. */
export function createProvider(cfg: ResolvedProvider): ProviderAdapter {
  switch (cfg.type) {
    case 'command':
      return new CommandProvider(cfg);
    default:
      return new UnavailableProvider(cfg, `provider type "${cfg.type}" is not available in this build`);
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
}

/** A configured provider whose type cannot run here: every run fails permanently with the reason. */
class UnavailableProvider implements ProviderAdapter {
  constructor(
    private readonly cfg: ResolvedProvider,
    private readonly reason: string,
  ) {}
  get name(): string {
    return this.cfg.name;
  }
  get type(): string {
    return this.cfg.type;
  }
  async run(): Promise<{ class: 'permanent'; output: string; message: string }> {
    return { class: 'permanent', output: '', message: `provider ${this.cfg.name}: ${this.reason}` };
  }
}
