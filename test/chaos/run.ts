/**
 * `npm run chaos -- --kills N --seed S [--json] [--keep]`: the chaos suite from the command line (see
 * driver.ts and docs/reliability.md). Runs through vite-node (test/chaos/vite.config.ts) on the built
 * dist/ (`npm run chaos` builds first). Exit code 0 without violations, 1 with any, 2 on a usage error.
 */
import { currentCommit, runChaos, type ChaosReport } from './driver.js';

const HELP = `Usage: npm run chaos -- [--kills N] [--seed S] [--json] [--keep] [--debug] [--settle SECONDS]

Runs the real daemon under a mixed load (HTTP dispatches with and without ?wait and idempotency keys,
Discord messages through a fake Discord with 429s and 5xx, workflow runs with parallel, delay and approval
steps, cron firings on a test clock, board tickets with dependencies, tasks in git worktrees), SIGKILLs it N
times at seeded random moments and restarts it, lets everything finish, then checks the store, the fake
Discord and the fake agents' logs. Every violation is printed with the seed that replays the run.

  --kills N         how many SIGKILLs (default 20)
  --seed S          the PRNG seed: kill delays and requests (default: from the clock, printed)
  --json            print the report as JSON on stdout (progress goes to stderr)
  --keep            keep the temporary home (store, logs, daemon-log.jsonl) and print its path
  --debug           the daemon logs at debug level (into daemon-log.jsonl)
  --settle SECONDS  how long the work may take to finish after the last restart (default 120)
  --help            this text

Exit code: 0 no violation, 1 violations, 2 usage error.`;

function parse(argv: string[]): { kills: number; seed: number; json: boolean; keep: boolean; debug: boolean; settleMs: number } | string {
  const o = { kills: 20, seed: Date.now() % 1_000_000, json: false, keep: false, debug: false, settleMs: 120_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const num = (name: string, min: number): number | string => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) return `${name} needs a whole number of at least ${min} (got ${v ?? 'nothing'})`;
      return Number(v);
    };
    if (a === '--') continue;
    else if (a === '--help' || a === '-h') return 'help';
    else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--debug') o.debug = true;
    else if (a === '--kills' || a === '--seed' || a === '--settle') {
      const v = num(a, a === '--seed' ? 0 : 1);
      if (typeof v === 'string') return v;
      if (a === '--kills') o.kills = v;
      else if (a === '--seed') o.seed = v;
      else o.settleMs = v * 1000;
    } else return `unknown option ${a} (see --help)`;
  }
  return o;
}

export function formatReport(r: ChaosReport, commit: string): string {
  const q = r.requests;
  const lines = [
    `chaos: seed ${r.seed}, commit ${commit}, ${r.kills} kills in ${(r.durationMs / 1000).toFixed(1)} s (settled ${(r.settledMs / 1000).toFixed(1)} s after the last restart)`,
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

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (o === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (typeof o === 'string') {
    process.stderr.write(`chaos: ${o}\n`);
    return 2;
  }
  const commit = currentCommit();
  process.stderr.write(`chaos: ${o.kills} kills, seed ${o.seed} (replay: npm run chaos -- --kills ${o.kills} --seed ${o.seed})\n`);
  const report = await runChaos({ kills: o.kills, seed: o.seed, keep: o.keep, debugLog: o.debug, settleMs: o.settleMs, progress: (l) => process.stderr.write(`chaos: ${l}\n`) });
  if (o.json) process.stdout.write(`${JSON.stringify({ ...report, commit }, null, 2)}\n`);
  else process.stdout.write(`${formatReport(report, commit)}\n`);
  return report.violations.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: the driver failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
