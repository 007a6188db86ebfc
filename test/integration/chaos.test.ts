import { describe, expect, it } from 'vitest';
import { runChaos } from '../chaos/driver.js';
import { formatReport } from '../chaos/report.js';

/**
 * The short run of the chaos suite (the long one: `npm run chaos -- --kills 500`, docs/reliability.md):
 * the real daemon under the mixed load, SIGKILLed a few times at seeded moments and restarted, then every
 * check of test/chaos/checks.ts over the store, the fake Discord and the agents' logs. The load must have
 * reached every source, so the run cannot pass by doing nothing.
 */
describe('chaos (short run)', () => {
  it('3 kills with seed 14: every request ends once, nothing runs twice, every Discord message gets one whole reply, the store is sound', async () => {
    const r = await runChaos({ kills: 3, seed: 14, minUpMs: 400, maxUpMs: 1200, loadMs: [150, 400], maxOpenTasks: 10, settleMs: 90_000 });
    expect(r.violations, formatReport(r, 'HEAD')).toEqual([]);
    expect(r.kills).toBe(3);
    expect(r.integrity).toEqual({ integrityCheck: 'ok', foreignKeyViolations: 0 });
    // Every source was exercised and answered.
    expect(r.requests.http.accepted).toBeGreaterThan(0);
    expect(r.requests.discord.posted).toBeGreaterThan(0);
    expect(r.replies.sent).toBe(r.requests.discord.posted);
    expect(r.requests.workflows.started).toBeGreaterThan(0);
    expect(r.requests.workflows.approvals).toBeGreaterThan(0);
    expect(r.requests.board.tickets).toBeGreaterThan(0);
    expect(r.requests.cron.firings).toBeGreaterThan(0);
    expect(r.requests.worktrees.tasks).toBeGreaterThan(0);
  }, 180_000);
});
