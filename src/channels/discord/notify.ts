import type { DiscordStore } from '../../store/discord.js';
import { gateKey, gateText } from './gate.js';

/**
 * Workflow `notify` steps to `discord:<channelId>`: the message goes into the Discord outbox (chunked,
 * retried and delivered once like any reply). Keyed by run and step, so a step run again after a crash
 * (in-daemon steps are at-least-once) queues nothing twice. Human gates assigned to `discord:<channelId>`
 * are posted the same way (see gate.ts).
 */
export function discordNotifier(store: DiscordStore, wake: (channelId: string) => void, now: () => number = Date.now) {
  return {
    async send(channelId: string, text: string, meta: { runId: string; workflow: string; step: string }): Promise<void> {
      store.addOutbox({ key: `notify:${meta.runId}:${meta.step}`, kind: 'notify', channelId, body: text, at: now() });
      wake(channelId);
    },
    /** Called inside the transaction that makes a human step wait: the gate's message commits with it. */
    gate(channelId: string, g: { runId: string; workflow: string; step: string; subtype: string; prompt: string }): void {
      store.addOutbox({ key: gateKey(g.subtype, g.runId, g.step), kind: 'notify', channelId, body: gateText({ ...g, stepId: g.step }), at: now() });
      // The deliverer reads the row after this transaction commits (its loop runs on a later turn).
      wake(channelId);
    },
  };
}
