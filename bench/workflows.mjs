#!/usr/bin/env node
// Workflow step overhead: `npm run build && node bench/workflows.mjs [--quick] [--out docs/benchmarks.md]`.
// One daemon whose agent is a no-op `command` provider (`/bin/echo ok`). Measures, in the same run:
//   - a chain of N steps (each depends on the one before) against the same N tasks dispatched one after
//     another by a client that waits for each (POST /api/dispatch?wait=true);
//   - a fan-out of W independent steps against the same W tasks dispatched in one request and waited for.
// Reports the time of each, the ratio workflow/direct and the overhead per step, and writes them into the
// "Workflow step overhead" section of docs/benchmarks.md (between its markers; the rest of the file is
// kept; bench/run.mjs keeps this section when it rewrites the file).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tetora.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outPath = resolve(ROOT, args.includes('--out') ? args[args.indexOf('--out') + 1] : 'docs/benchmarks.md');
const N = quick ? { chain: 100, fan: 30 } : { chain: 1000, fan: 100 };
const TOKEN = 'bench-token-0123456789';
const START = '<!-- workflow-bench:start -->';
const END = '<!-- workflow-bench:end -->';

const log = (m) => process.stderr.write(`[bench:workflows] ${m}\n`);

async function main() {
  const home = mkdtempSync(join(tmpdir(), 'tetora-wfbench-'));
  writeFileSync(
    join(home, 'config.json'),
    JSON.stringify({
      apiToken: TOKEN,
      maxConcurrent: 8,
      defaultProvider: 'noop',
      defaultWorkdir: home,
      providers: { noop: { type: 'command', path: '/bin/echo', args: ['ok'] } },
      agents: { a: { provider: 'noop' } },
    }),
    { mode: 0o600 },
  );
  mkdirSync(join(home, 'workflows'));
  const chain = Array.from({ length: N.chain }, (_, i) => ({ id: `s${i}`, agent: 'a', prompt: `step ${i}`, ...(i ? { dependsOn: [`s${i - 1}`] } : {}) }));
  const fan = Array.from({ length: N.fan }, (_, i) => ({ id: `f${i}`, agent: 'a', prompt: `step ${i}` }));
  writeFileSync(join(home, 'workflows', 'chain.json'), JSON.stringify({ name: 'chain', steps: chain }));
  writeFileSync(join(home, 'workflows', 'fan.json'), JSON.stringify({ name: 'fan', steps: fan }));

  const child = spawn(process.execPath, [BIN, '--config', join(home, 'config.json'), 'serve', '--log-format', 'json', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TETORA_HOME: home, TETORA_ANNOUNCE: '1', TETORA_LOG_LEVEL: 'warn' },
  });
  child.stderr.resume();
  const port = await new Promise((res, rej) => {
    createInterface({ input: child.stdout }).on('line', (l) => l.startsWith('LISTENING ') && res(Number(l.slice(10))));
    child.once('exit', (c) => rej(new Error(`daemon exited with ${c}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const runWorkflow = async (name) => {
    const t0 = performance.now();
    const { runId } = await api('POST', `/api/workflows/${name}/run`, { variables: {} });
    for (;;) {
      const r = await api('GET', `/api/workflow-runs?workflow=${name}&limit=1`);
      const run = r.runs.find((x) => x.id === runId);
      if (run && run.status !== 'running') {
        if (run.status !== 'success') throw new Error(`run ${runId} ended ${run.status}: ${run.error}`);
        return performance.now() - t0;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  try {
    // Warm up both paths.
    await api('POST', '/api/dispatch?wait=true', Array.from({ length: 8 }, (_, i) => ({ agent: 'a', prompt: `warm ${i}` })));
    log(`chain: ${N.chain} tasks dispatched one after another`);
    let t0 = performance.now();
    for (let i = 0; i < N.chain; i++) await api('POST', '/api/dispatch?wait=true', { agent: 'a', prompt: `step ${i}` });
    const directChain = performance.now() - t0;
    log(`chain: a workflow of ${N.chain} steps`);
    const wfChain = await runWorkflow('chain');
    log(`fan-out: ${N.fan} tasks in one request`);
    t0 = performance.now();
    await api('POST', '/api/dispatch?wait=true', Array.from({ length: N.fan }, (_, i) => ({ agent: 'a', prompt: `step ${i}` })));
    const directFan = performance.now() - t0;
    log(`fan-out: a workflow of ${N.fan} independent steps`);
    const wfFan = await runWorkflow('fan');
    report({ directChain, wfChain, directFan, wfFan });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}

function report(m) {
  const ms = (x) => `${(x / 1000).toFixed(2)} s`;
  const per = (wf, direct, n) => `${((wf - direct) / n).toFixed(2)} ms`;
  const section = `${START}
## Workflow step overhead

\`node bench/workflows.mjs\`${quick ? ' --quick' : ''}, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPU(s), Node ${process.version}. The agent is a
no-op \`command\` provider (\`/bin/echo ok\`), \`maxConcurrent\` 8. "Direct" is the same tasks sent to
\`POST /api/dispatch?wait=true\` by a client (the chain one request at a time, each after the one before
ended; the fan-out as one request of ${N.fan}). The workflow run is started with \`POST /api/workflows/:name/run\`
and timed until the run's status leaves \`running\` (polled every 20 ms).

| shape | direct | workflow | ratio | overhead per step |
|---|---|---|---|---|
| chain of ${N.chain} steps | ${ms(m.directChain)} | ${ms(m.wfChain)} | ${(m.wfChain / m.directChain).toFixed(2)}× | ${per(m.wfChain, m.directChain, N.chain)} |
| fan-out of ${N.fan} steps | ${ms(m.directFan)} | ${ms(m.wfFan)} | ${(m.wfFan / m.directFan).toFixed(2)}× | ${per(m.wfFan, m.directFan, N.fan)} |

Per step the runner writes the step row and its task in one transaction, the task's terminal hook writes
the step's result in the transaction of the task's end, and the runner then reads the run's step rows
once to start what became ready (a fan-out starts in one pass).
${END}`;
  process.stdout.write(`${section}\n`);
  if (args.includes('--print-only')) return;
  const current = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '# Benchmarks\n';
  const at = current.indexOf(START);
  const endAt = current.indexOf(END);
  const next = at >= 0 && endAt > at ? `${current.slice(0, at)}${section}${current.slice(endAt + END.length)}` : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(outPath, next);
  log(`wrote ${outPath}`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
