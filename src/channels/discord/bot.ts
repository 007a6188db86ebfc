/**
 * The daemon's way in to the Discord bot without loading discord.js (about half a second of CPU at every
 * start) unless a bot is enabled: `discordStatus` for a daemon without a bot, and `startDiscordLazily`,
 * which loads the inbound side (index.ts, and discord.js with it) in the background and hands it the
 * latest config once loaded. The outbound side (delivery.ts, its own REST client) never needs discord.js.
 */
import type { ResolvedConfig } from '../../config/types.js';
import type { Engine } from '../../engine/engine.js';
import { messageOf } from '../../errors.js';
import { DiscordStore } from '../../store/discord.js';
import type { DiscordHandle, StartDiscordOptions } from './index.js';
import { statusInfo, type DiscordStatusInfo } from './status-info.js';

/** The status when no bot runs in this daemon (disabled). */
export function discordStatus(engine: Engine, config: ResolvedConfig, handle: DiscordHandle | undefined): DiscordStatusInfo {
  if (handle) return handle.status();
  let outbox = { pending: 0, dead: 0 };
  try {
    outbox = new DiscordStore(engine.db).outboxCounts();
  } catch {
    /* the store cannot be read: health says so */
  }
  return statusInfo(config.discord, undefined, false, outbox);
}

/**
 * `startDiscord` (index.ts) once its module is loaded. Until then the handle reports the bot as
 * connecting, keeps the newest config a reload brings, and `stop()` waits for the load and stops what it
 * started. A module that cannot be loaded (a broken install) is logged with the fix and reported as down.
 */
export function startDiscordLazily(o: StartDiscordOptions, load: () => Promise<Pick<typeof import('./index.js'), 'startDiscord'>> = () => import('./index.js')): DiscordHandle {
  let config = o.config;
  let real: DiscordHandle | undefined;
  let failed: string | undefined;
  let stopped = false;
  const loading = load().then(
    ({ startDiscord }) => {
      if (!stopped) real = startDiscord({ ...o, config });
    },
    (err: unknown) => {
      failed = messageOf(err);
      o.log.error({ err: failed }, 'discord: the Discord client (discord.js) could not be loaded; reinstall Tetora (npm ci, or the release), then restart the daemon');
    },
  );
  return {
    status() {
      if (real) return real.status();
      const s = discordStatus(o.engine, config, undefined);
      if (!config.discord?.enabled) return s;
      if (failed) return { ...s, state: 'down', reason: `the Discord client (discord.js) could not be loaded: ${failed}`, fix: 'reinstall Tetora (npm ci, or the release), then restart the daemon' };
      return { ...s, state: 'connecting', reason: null, fix: null };
    },
    reload(next) {
      config = next;
      real?.reload(next);
    },
    async stop() {
      stopped = true;
      await loading;
      await real?.stop();
    },
    async idle() {
      await loading;
      await real?.idle();
    },
  };
}
