import type { ChaosReport } from './driver.js';

/** The chaos report as text: the numbers, the kills, then every violation with the seed that replays it. */
export function formatReport(r: ChaosReport, commit: string): string {
  const q = r.requests;
  const lines = [
    `chaos: seed ${r.seed}, commit ${commit}, ${r.kills} kills${r.kills < r.killsAsked ? ` (of ${r.killsAsked} asked: the time budget ran out)` : ''} in ${(r.durationMs / 1000).toFixed(1)} s (settled ${(r.settledMs / 1000).toFixed(1)} s after the last restart)`,
    `  HTTP dispatches: ${q.http.sent} sent, ${q.http.accepted} accepted, ${q.http.refused} refused or unanswered, ${q.http.keyedRetries} keyed re-sends, ${q.http.waited} answered by ?wait`,
    `  Discord: ${q.discord.posted} messages, ${q.discord.replied} replied (${r.replies.sent} replies, ${r.replies.chunks} chunks), ${q.discord.scriptedFaults} scripted 429/5xx`,
    `  workflows: ${q.workflows.started} runs started, ${q.workflows.refused} refused or unanswered, ${q.workflows.approvals} approvals; runs ${JSON.stringify(r.runs.byStatus)}`,
    `  cron: ${q.cron.slots} minutes on the test clock, ${q.cron.firings} firings`,
    `  board: ${q.board.tickets} tickets, ${q.board.refused} refused or unanswered`,
    `  worktrees: ${q.worktrees.tasks} tasks, ${q.worktrees.holdingWork} left work, ${q.worktrees.kept} of those kept`,
    `  tasks: ${r.tasks.total} ${JSON.stringify(r.tasks.byStatus)}; ${r.tasks.agentRuns} agent runs, ${r.tasks.reattachedOrRerun} tasks with more than one agent process`,
    `  store: integrity_check ${r.integrity.integrityCheck}, ${r.integrity.foreignKeyViolations} foreign key violations`,
    `  kills (ms since start / ms up): ${r.killLog.map((k) => `${k.at}/${k.upMs}`).join(' ')}`,
  ];
  if (r.home) lines.push(`  home kept: ${r.home}`);
  if (r.violations.length === 0) lines.push('violations: 0');
  else {
    lines.push(`violations: ${r.violations.length} (replay: ${r.replay})`);
    for (const v of r.violations) lines.push(`  [${v.check}] ${v.detail} (seed ${r.seed})`);
  }
  return lines.join('\n');
}
