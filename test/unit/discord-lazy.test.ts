import { describe, expect, it, vi } from 'vitest';
import { startDiscordLazily } from '../../src/channels/discord/bot.js';
import type { DiscordHandle, StartDiscordOptions } from '../../src/channels/discord/index.js';
import type { DiscordStatusInfo } from '../../src/channels/discord/status-info.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Logger } from '../../src/engine/logger.js';

const config = (token: string, enabled = true) =>
  ({ discord: { enabled, botToken: token, channelIds: ['1'], mentionChannelIds: [], routes: {}, allowDMs: false } }) as unknown as ResolvedConfig;

function options(errors: unknown[][] = []): StartDiscordOptions {
  const log = { error: (...a: unknown[]) => errors.push(a), info: () => {}, warn: () => {}, debug: () => {} } as unknown as Logger;
  // No store behind this engine: the outbox counts read as 0 (discordStatus catches it).
  return { engine: {} as Engine, config: config('first'), log };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function fakeHandle(): DiscordHandle & { reloads: ResolvedConfig[]; stops: number } {
  const h = {
    reloads: [] as ResolvedConfig[],
    stops: 0,
    status: () => ({ state: 'connected' }) as DiscordStatusInfo,
    reload: (c: ResolvedConfig) => void h.reloads.push(c),
    stop: async () => void h.stops++,
    idle: async () => {},
  };
  return h;
}

describe('the Discord bot, loaded only when enabled (src/channels/discord/bot.ts)', () => {
  it('reports connecting while discord.js loads, then starts the bot with the newest config and answers from it', async () => {
    const load = deferred<{ startDiscord: (o: StartDiscordOptions) => DiscordHandle }>();
    const real = fakeHandle();
    const startDiscord = vi.fn((_o: StartDiscordOptions) => real);
    const bot = startDiscordLazily(options(), () => load.promise);
    expect(bot.status()).toMatchObject({ enabled: true, connected: false, state: 'connecting', reason: null });
    bot.reload(config('second'));
    load.resolve({ startDiscord });
    await bot.idle();
    expect(startDiscord).toHaveBeenCalledTimes(1);
    expect(startDiscord.mock.calls[0]?.[0].config.discord?.botToken).toBe('second');
    expect(bot.status().state).toBe('connected');
    bot.reload(config('third'));
    expect(real.reloads.map((c) => c.discord?.botToken)).toEqual(['third']);
    await bot.stop();
    expect(real.stops).toBe(1);
  });

  it('a stop before the load ends starts nothing', async () => {
    const load = deferred<{ startDiscord: (o: StartDiscordOptions) => DiscordHandle }>();
    const startDiscord = vi.fn(() => fakeHandle());
    const bot = startDiscordLazily(options(), () => load.promise);
    const stopped = bot.stop();
    load.resolve({ startDiscord });
    await stopped;
    expect(startDiscord).not.toHaveBeenCalled();
  });

  it('a load that fails is logged with the fix and reported as down, naming the cause', async () => {
    const errors: unknown[][] = [];
    const bot = startDiscordLazily(options(errors), () => Promise.reject(new Error("Cannot find package 'discord.js'")));
    await bot.idle();
    expect(bot.status()).toMatchObject({ state: 'down', connected: false, reason: "the Discord client (discord.js) could not be loaded: Cannot find package 'discord.js'" });
    expect(bot.status().fix).toMatch(/reinstall/);
    expect(JSON.stringify(errors)).toMatch(/discord\.js.*could not be loaded.*reinstall/);
    await bot.stop();
  });
});
