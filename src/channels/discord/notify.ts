import type { DiscordStore } from '../../store/discord.js';

/**
 * Workflow `notify` steps to `discord:<channelId>`: the message goes into the Discord outbox (chunked,
 * retried and delivered once like any reply). Keyed by run and step, so a step run again after a crash
 * (in-daemon steps are at-least-once) queues nothing twice.
 */
export function discordNotifier(store: DiscordStore, wake: (channelId: string) => void, now: () => number = Date.now) {
  return {
    async send(channelId: string, text: string, meta: { runId: string; workflow: string; step: string }): Promise<void> {
      store.addOutbox({ key: `notify:${meta.runId}:${meta.step}`, kind: 'notify', channelId, body: text, at: now() });
      wake(channelId);
    },
  };
}
