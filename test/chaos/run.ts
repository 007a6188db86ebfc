/**
 * `npm run chaos -- --kills N --seed S [--json] [--keep]`: the chaos suite from the command line (see
 * driver.ts and docs/reliability.md). Runs through vite-node (test/chaos/vite.config.ts) on the built
 * dist/ (`npm run chaos` builds first). Exit code 0 without violations, 1 with any, 2 on a usage error.
 */
import { currentCommit, runChaos } from './driver.js';
import { formatReport } from './report.js';

const HELP = `Usage: npm run chaos -- [--kills N] [--seed S] [--json] [--keep] [--debug] [--settle SECONDS] [--up-ms LO,HI] [--max-minutes M]

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
  --up-ms LO,HI     how long the daemon runs between two kills, drawn between LO and HI ms after it
                    listens (default 200,1500; a fifth of the kills land within 150 ms instead)
  --max-minutes M   stop killing after M minutes even if fewer than N kills were done (the report says
                    how many); the settle phase and the checks follow as usual
  --help            this text

Exit code: 0 no violation, 1 violations, 2 usage error.`;

function parse(argv: string[]): { kills: number; seed: number; json: boolean; keep: boolean; debug: boolean; settleMs: number; maxMinutes: number; up: [number, number] } | string {
  const o = { kills: 20, seed: Date.now() % 1_000_000, json: false, keep: false, debug: false, settleMs: 120_000, maxMinutes: 0, up: [200, 1500] as [number, number] };
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
    else if (a === '--up-ms') {
      const m = /^(\d+),(\d+)$/.exec(argv[++i] ?? '');
      if (!m || Number(m[1]) > Number(m[2])) return `--up-ms needs LO,HI in milliseconds with LO <= HI (got ${argv[i] ?? 'nothing'})`;
      o.up = [Number(m[1]), Number(m[2])];
    }
    else if (a === '--kills' || a === '--seed' || a === '--settle' || a === '--max-minutes') {
      const v = num(a, a === '--seed' ? 0 : 1);
      if (typeof v === 'string') return v;
      if (a === '--kills') o.kills = v;
      else if (a === '--seed') o.seed = v;
      else if (a === '--max-minutes') o.maxMinutes = v;
      else o.settleMs = v * 1000;
    } else return `unknown option ${a} (see --help)`;
  }
  return o;
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
  const report = await runChaos({ kills: o.kills, seed: o.seed, keep: o.keep, debugLog: o.debug, settleMs: o.settleMs, minUpMs: o.up[0], maxUpMs: o.up[1], ...(o.maxMinutes ? { maxMinutes: o.maxMinutes } : {}), progress: (l) => process.stderr.write(`chaos: ${l}\n`) });
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
