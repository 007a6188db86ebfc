/**
 * Helpers of the dashboard's browser tests: find and start Debian's Chromium through playwright-core,
 * and seed what no fake produces cheaply (a Discord dead letter, recorded cost) straight into a daemon's
 * store, through the store's own classes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { openDb } from '../../src/store/db.js';
import { DiscordStore } from '../../src/store/discord.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser tests run: yes when the browser is there, and always in CI (where a missing
 * browser must fail the run, not skip it). Outside CI a missing browser skips with a message.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM_PATH}. Install Debian's package \`chromium\` (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH.`);
  return false;
}

/** Chromium, headless, with a fresh profile and nothing that calls home. */
export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    return Promise.reject(new Error(`no Chromium at ${CHROMIUM_PATH} (CI=true: the browser tests never skip there). Install Debian's package \`chromium\` (.ci/run does) or set CHROMIUM_PATH.`));
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A Discord reply that the outbox gave up on (state dead, with its reason), for task `taskId`; its id. */
export function seedDeadLetter(home: string, taskId: string, reason: string): number {
  const db = openDb(join(home, 'tetora.db'));
  try {
    const store = new DiscordStore(db);
    const row = store.addOutbox({ key: `reply:${taskId}`, channelId: '900000000000000001', kind: 'reply', taskId, body: `the answer to ${taskId}`, at: Date.now() });
    store.outboxDead(row.id, reason, Date.now());
    return row.id;
  } finally {
    db.close();
  }
}

/**
 * Recorded cost and tokens on finished tasks, as a provider that reports them would leave them, ending
 * `daysAgo` days before today (UTC) — a seeding shortcut: the fake agents report no cost.
 */
export function seedCost(home: string, rows: Array<{ taskId: string; costUsd: number; tokensIn: number; tokensOut: number; daysAgo?: number }>): void {
  const db = openDb(join(home, 'tetora.db'));
  try {
    // Money per run (by the day the run ended, as the daily budgets count it), tokens per task.
    const task = db.prepare('UPDATE tasks SET cost_usd = ?, tokens_in = ?, tokens_out = ?, finished_at = ? WHERE id = ?');
    const run = db.prepare('UPDATE task_runs SET cost_usd = ?, ended_at = ? WHERE task_id = ? AND run = (SELECT MAX(run) FROM task_runs WHERE task_id = ?)');
    for (const r of rows) {
      const at = Date.now() - (r.daysAgo ?? 0) * 86_400_000;
      if (task.run(r.costUsd, r.tokensIn, r.tokensOut, at, r.taskId).changes !== 1) throw new Error(`seedCost: no task ${r.taskId}`);
      if (run.run(r.costUsd, at, r.taskId, r.taskId).changes !== 1) throw new Error(`seedCost: task ${r.taskId} has no run`);
    }
  } finally {
    db.close();
  }
}
