import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { discordStatus } from '../../channels/discord/bot.js';

/** `GET /api/discord/status`: connected or not and why, bot user, guild, watched channels, outbox depth and dead letters. */
export function registerDiscordRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/discord/status', async () => (deps.discord ? deps.discord() : discordStatus(deps.engine, deps.engine.config, undefined)));
}
