import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import type { Logger } from '../../src/engine/logger.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import { start, type FakeModelServer, type FakeScript } from '../fake-model-server/server.mjs';
import { Harness } from './engine-harness.js';

/**
 * The real `claude` and `codex` CLIs (devDependencies) and the API providers, all pointed at one fake
 * model server on 127.0.0.1, each CLI with an isolated HOME / CLAUDE_CONFIG_DIR / CODEX_HOME.
 */
export const BIN = resolve(import.meta.dirname, '../../node_modules/.bin');
export const CLAUDE_KEY = 'sk-ant-test-0123456789abcdef';
export const CODEX_KEY = 'sk-test-codex-0123456789abcdef';
export const API_KEY = 'sk-ant-api-test-0123456789abcdef';

/** A `claude-code` provider: the pinned claude CLI against the fake model server at `url`, HOME in `home`. */
export function claudeProvider(url: string, home: string): Record<string, unknown> {
  return {
    type: 'claude-code',
    path: join(BIN, 'claude'),
    baseUrl: url,
    apiKey: CLAUDE_KEY,
    env: {
      HOME: home,
      CLAUDE_CONFIG_DIR: join(home, '.claude'),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      // Root (CI) needs this for bypassPermissions.
      IS_SANDBOX: '1',
    },
  };
}

export interface LogRecord {
  level: string;
  obj: object;
  msg: string | undefined;
}

export class ProviderHarness {
  readonly logs: LogRecord[] = [];
  readonly engines: Engine[] = [];
  private constructor(
    readonly h: Harness,
    readonly fake: FakeModelServer,
  ) {}

  static async create(extra: Record<string, unknown> = {}): Promise<ProviderHarness> {
    const fake = await start();
    const h = new Harness();
    const home = join(h.home, 'cli-home');
    const codexHome = join(home, '.codex');
    mkdirSync(codexHome, { recursive: true });
    // What a user's ~/.codex/config.toml would hold to keep codex offline; the provider itself comes from baseUrl.
    writeFileSync(
      join(codexHome, 'config.toml'),
      'check_for_update_on_startup = false\n[analytics]\nenabled = false\n[feedback]\nenabled = false\n[features]\nplugins = false\nremote_plugin = false\napps = false\n',
    );
    const providers = {
      claude: claudeProvider(fake.url, home),
      codex: {
        type: 'codex-cli',
        path: join(BIN, 'codex'),
        model: 'gpt-5.5',
        baseUrl: `${fake.url}/v1`,
        apiKey: CODEX_KEY,
        env: { HOME: home, CODEX_HOME: codexHome, TMPDIR: home },
        args: ['-c', 'model_providers.tetora.request_max_retries=0', '-c', 'model_providers.tetora.stream_max_retries=0', '-c', 'model_providers.tetora.stream_idle_timeout_ms=2000'],
      },
      // The fake listens on loopback, which alone would price at zero: an explicit price table here.
      anthropic: { type: 'anthropic', baseUrl: fake.url, apiKey: API_KEY, model: 'claude-opus-5-5', firstTokenTimeout: '2s', pricing: { input: 3, output: 15 } },
      local: { type: 'openai-compatible', baseUrl: `${fake.url}/v1`, model: 'fake-local-model', firstTokenTimeout: '2s' },
    };
    // `extra.providers` amends the providers above field by field.
    const { providers: amend = {}, ...rest } = extra as { providers?: Record<string, Record<string, unknown>> };
    for (const [name, fields] of Object.entries(amend)) Object.assign((providers as Record<string, Record<string, unknown>>)[name] ?? {}, fields);
    const config = {
      maxConcurrent: 2,
      defaultProvider: 'claude',
      defaultWorkdir: h.home,
      defaultPermissionMode: 'bypassPermissions',
      retry: { base: 50, cap: 200, maxAttempts: 3, rateLimitWait: '1s' },
      providers,
      agents: {
        claude: { provider: 'claude' },
        codex: { provider: 'codex' },
        anthropic: { provider: 'anthropic' },
        local: { provider: 'local' },
      },
      ...rest,
    };
    h.writeConfig(config);
    return new ProviderHarness(h, fake);
  }

  script(s: FakeScript): void {
    this.fake.reset();
    this.fake.script(s);
  }

  async engine(): Promise<Engine> {
    const config = this.h.config();
    const rec = (level: string) => (obj: object, msg?: string) => void this.logs.push({ level, obj, msg });
    const log: Logger = { info: rec('info'), warn: rec('warn'), error: rec('error'), debug: rec('debug') };
    const e = new Engine({ config, providers: new ProviderRegistry(config), killGraceMs: 500, log });
    this.engines.push(e);
    await e.start();
    return e;
  }

  async close(): Promise<void> {
    for (const e of this.engines) await e.stop().catch(() => {});
    await this.fake.close();
  }
}
