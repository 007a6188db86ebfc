#!/usr/bin/env node
// `npm run screenshots`: starts a real daemon on a throwaway TETORA_HOME, fills it with representative data
// (tasks that succeeded, failed, run and wait; a workflow run waiting for an approval; board tickets;
// worktrees prune keeps and removes; Discord dead letters; 30 days of cost), logs in through the login
// form in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and saves a PNG of every page at
// desktop (1280 px) and phone (375 px) width as docs/screenshots/<page>-{desktop,phone}.png.
// The fake agents are the test tree's (test/helpers/*.mjs): no model is called.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs', 'screenshots');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  console.error(`screenshots: no Chromium at ${chromiumPath}; install Debian's package chromium (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH.`);
  process.exit(1);
}
if (!existsSync(join(root, 'dist', 'dashboard', 'app.js'))) {
  console.error('screenshots: dist/dashboard/app.js is missing; run `npm run build` first (npm run screenshots does).');
  process.exit(1);
}

const TOKEN = 'screenshot-token-0123456789abcdef';
const WF_AGENT = join(root, 'test', 'helpers', 'wf-agent.mjs');
const WT_AGENT = join(root, 'test', 'helpers', 'worktree-agent.mjs');
const home = mkdtempSync(join(tmpdir(), 'tetora-screens-'));
const gitEnv = { GIT_AUTHOR_NAME: 'Tetora', GIT_AUTHOR_EMAIL: 'demo@tetora.invalid', GIT_COMMITTER_NAME: 'Tetora', GIT_COMMITTER_EMAIL: 'demo@tetora.invalid', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: { ...process.env, ...gitEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// --- a home with agents, providers, a soul file, workflows and a git repository ---------------------------
const repo = join(home, 'repo');
mkdirSync(repo);
git(repo, 'init', '-q', '-b', 'main');
writeFileSync(join(repo, 'README.md'), '# demo project\n');
git(repo, 'add', '.');
git(repo, 'commit', '-q', '-m', 'initial commit');
mkdirSync(join(home, 'agents', 'coder'), { recursive: true });
writeFileSync(join(home, 'agents', 'coder', 'SOUL.md'), '# Coder\n\nYou write small, tested changes. You explain what you changed and why,\nand you never leave the build red.\n');
const wfEnv = { WF_LOG: join(home, 'wf-log.jsonl'), WF_STATE: join(home, 'wf-state') };
const config = {
  listenAddr: '127.0.0.1:0',
  apiToken: TOKEN,
  maxConcurrent: 8,
  defaultProvider: 'claude',
  defaultWorkdir: home,
  dailyBudget: 5,
  retry: { base: 20, cap: 200, maxAttempts: 1 },
  providers: {
    claude: { type: 'command', path: process.execPath, args: [WF_AGENT], env: wfEnv },
    ollama: { type: 'command', path: process.execPath, args: [WF_AGENT], env: wfEnv },
    'claude-code': { type: 'command', path: process.execPath, args: [WT_AGENT] },
  },
  agents: {
    coder: { provider: 'claude-code', model: 'sonnet', description: 'Writes code in a worktree of its own', soulFile: join(home, 'agents', 'coder', 'SOUL.md'), maxTasksPerAgent: 2, dailyBudget: 3 },
    reviewer: { provider: 'claude', model: 'opus', description: 'Reviews changes and findings', maxTasksPerAgent: 1 },
    writer: { provider: 'ollama', model: 'llama3.1', description: 'Release notes and docs', maxTasksPerAgent: 1 },
  },
};
writeFileSync(join(home, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
mkdirSync(join(home, 'workflows'));
writeFileSync(
  join(home, 'workflows', 'release.json'),
  JSON.stringify({
    name: 'release',
    description: 'Plan, build and document a release; a person approves before it ships.',
    variables: { version: '1.4.0' },
    steps: [
      { id: 'plan', agent: 'reviewer', prompt: '@@step=plan@@Plan release {{version}}' },
      { id: 'build', agent: 'writer', prompt: '@@step=build@@Build {{version}} @@sleep=300@@', dependsOn: ['plan'] },
      { id: 'notes', agent: 'writer', prompt: '@@step=notes@@Release notes for {{version}}', dependsOn: ['plan'] },
      { id: 'review', agent: 'reviewer', prompt: '@@step=review@@Review {{version}}', dependsOn: ['build', 'notes'] },
      { id: 'approve', type: 'human', humanSubtype: 'approval', humanPrompt: 'Ship {{version}} to production?', dependsOn: ['review'] },
      { id: 'publish', agent: 'writer', prompt: '@@step=publish@@Published {{version}}', dependsOn: ['approve'] },
      { id: 'announce', agent: 'reviewer', prompt: '@@step=announce@@Announce {{version}}', dependsOn: ['publish'] },
    ],
  }),
);
writeFileSync(join(home, 'workflows', 'broken.json'), JSON.stringify({ name: 'broken', steps: [{ id: 'a', agent: 'nobody', prompt: 'x', dependsOn: ['missing'] }] }));

// --- the daemon ----------------------------------------------------------------------------------------------
const daemon = spawn(process.execPath, [join(root, 'bin', 'tetora.js'), '--config', join(home, 'config.json'), 'serve', '--log-format', 'json', '--listen', '127.0.0.1:0'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, TETORA_ANNOUNCE: '1', TETORA_HOME: home, ...gitEnv },
});
const stderr = [];
createInterface({ input: daemon.stderr }).on('line', (l) => stderr.push(l));
const port = await new Promise((res, rej) => {
  createInterface({ input: daemon.stdout }).on('line', (l) => l.startsWith('LISTENING ') && res(Number(l.slice(10))));
  daemon.once('exit', (code) => rej(new Error(`the daemon exited with ${code}: ${stderr.slice(-5).join('\n')}`)));
});
const base = `http://127.0.0.1:${port}`;
const cleanup = () => {
  if (daemon.exitCode === null) daemon.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
};
process.on('exit', cleanup);

async function call(path, body, method = body === undefined ? 'GET' : 'POST') {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
const dispatch = async (task) => (await call('/api/dispatch', task)).tasks[0].id;
const task = (id) => call(`/api/tasks/${id}`);
async function until(what, pred) {
  const end = Date.now() + 60_000;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`screenshots: ${what} did not happen within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ended = (id) => until(`task ${id} ending`, async () => ['succeeded', 'failed', 'cancelled', 'timed_out'].includes((await task(id)).status));

// --- data ------------------------------------------------------------------------------------------------------
const notes = [
  '# Release 1.4.0',
  '',
  'All checks are **green**. Three changes since 1.3.2:',
  '',
  '1. Workflows validate before they run.',
  '2. The Discord outbox retries with backoff.',
  '3. Worktrees are locked while an agent works in them.',
  '',
  '```ts',
  'export function backoff(attempt: number): number {',
  '  return Math.min(30_000, 500 * 2 ** attempt); // jitter is added by the caller',
  '}',
  '```',
  '',
  '> Raw HTML such as <script>alert(1)</script> is shown as text, never run.',
].join('\n');
const okTask = await dispatch({ agent: 'writer', prompt: notes });
const history = [];
for (let i = 0; i < 9; i++) history.push(await dispatch({ agent: ['reviewer', 'writer'][i % 2], prompt: `Summarise issue #${120 + i}` }));
const failed = await dispatch({ agent: 'reviewer', prompt: 'Review the flaky test suite @@exit=2@@' });
for (const id of [okTask, failed, ...history]) await ended(id);
// Worktrees: one left with an untracked file (kept), one clean and integrated (removed by prune), one whose
// agent still works in it (locked: kept).
const wtSpec = (extra) => `\n${JSON.stringify({ log: join(home, 'wt-log.jsonl'), ...extra })}`;
const wtKeep = await dispatch({ agent: 'coder', prompt: `Try a refactor${wtSpec({ untracked: 1 })}`, workdir: repo, worktree: true });
const wtDone = await dispatch({ agent: 'coder', prompt: `Check the build${wtSpec({})}`, workdir: repo, worktree: true });
await ended(wtKeep);
await ended(wtDone);
const wtBusy = await dispatch({ agent: 'coder', prompt: `Port the CLI to the new API${wtSpec({ ready: join(home, 'wt-ready'), waitFor: join(home, 'never') })}`, workdir: repo, worktree: true });
await until('the coder starting', () => existsSync(join(home, 'wt-ready')));
// A workflow run waiting for its approval.
const run = (await call('/api/workflows/release/run', { variables: { version: '1.4.0' } })).runId;
await until('the release run waiting for approval', async () => (await call(`/api/workflow-runs/${run}`)).steps.some((s) => s.id === 'approve' && s.status === 'waiting'));
// Load: the writer (one at a time) runs one long task and queues another.
const running = await dispatch({ agent: 'writer', prompt: 'Translate the docs to Japanese @@sleep=600000@@' });
await until('the writer running', async () => (await task(running)).status === 'running');
await dispatch({ agent: 'writer', prompt: 'Write the changelog' });
// Board tickets in several columns.
const tickets = [
  ['Flaky login test on CI', 'backlog'],
  ['Upgrade better-sqlite3', 'todo'],
  ['Rate-limit the webhook trigger', 'todo'],
  ['Document the outbox', 'review'],
  ['Dark theme for the dashboard', 'done'],
];
for (const [title, status] of tickets) {
  const t = (await call('/api/board', { title, assignee: 'coder', description: `Ticket: ${title}.` })).ticket;
  if (status !== 'backlog') await call(`/api/board/${t.id}/move`, { status }).catch(() => undefined);
  if (title.startsWith('Document')) await call(`/api/board/${t.id}/comments`, { body: 'Looks good; add the retry diagram.', author: 'reviewer' });
}
// Discord dead letters and 30 days of cost go straight into the store (no fake Discord, no paid model).
const { openDb } = await import(join(root, 'dist', 'store', 'db.js'));
const { DiscordStore } = await import(join(root, 'dist', 'store', 'discord.js'));
const db = openDb(join(home, 'tetora.db'));
const ds = new DiscordStore(db);
for (const [i, [id, reason]] of [
  [okTask, 'Discord answered 403 Missing Access: the bot lost access to channel #releases; give it back, then retry.'],
  [failed, 'gave up after 8 attempts: 503 Service Unavailable from discord.com'],
].entries()) {
  const row = ds.addOutbox({ key: `reply:${id}`, channelId: `90000000000000000${i}`, kind: 'reply', taskId: id, body: `The answer to ${id}`, at: Date.now() - 3_600_000 });
  ds.outboxDead(row.id, reason, Date.now() - 1_800_000);
}
// Money per run (by the day the run ended), tokens per task (by the day it ended).
const seed = db.prepare('UPDATE tasks SET cost_usd = ?, tokens_in = ?, tokens_out = ?, finished_at = ? WHERE id = ?');
const seedRun = db.prepare('UPDATE task_runs SET cost_usd = ?, ended_at = ? WHERE task_id = ?');
const day = 86_400_000;
const costed = [okTask, ...history, wtKeep, wtDone];
costed.forEach((id, i) => {
  const daysAgo = i === 0 ? 0 : Math.round((i * 29) / costed.length);
  const cost = 0.15 + ((i * 37) % 11) / 10;
  // Today's task keeps its real end time (its page shows its real duration).
  const endedAt = daysAgo === 0 ? db.prepare('SELECT finished_at AS t FROM tasks WHERE id = ?').get(id).t : Date.now() - daysAgo * day;
  seed.run(cost, 8000 + ((i * 4099) % 30000), 1200 + ((i * 1571) % 6000), endedAt, id);
  seedRun.run(cost, endedAt, id);
});
db.close();

// --- screenshots -------------------------------------------------------------------------------------------
const pages = [
  ['overview', '/dashboard'],
  ['tasks', '/dashboard/tasks'],
  ['task', `/dashboard/tasks/${okTask}`],
  ['agents', '/dashboard/agents'],
  ['agent', '/dashboard/agents/coder'],
  ['workflows', '/dashboard/workflows'],
  ['workflow', '/dashboard/workflows/release'],
  ['workflow-invalid', '/dashboard/workflows/broken'],
  ['run', `/dashboard/runs/${run}`],
  ['board', '/dashboard/board'],
  ['worktrees', '/dashboard/worktrees'],
  ['discord', '/dashboard/discord'],
  ['cost', '/dashboard/cost'],
];
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const saved = [];
try {
  for (const [width, height, suffix] of [[1280, 900, 'desktop'], [375, 812, 'phone']]) {
    const context = await browser.newContext({ viewport: { width, height }, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.getByLabel('API token').waitFor();
    await page.screenshot({ path: join(out, `login-${suffix}.png`) });
    saved.push(`login-${suffix}.png`);
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    for (const [name, path] of pages) {
      await page.goto(`${base}${path}`);
      await page.locator('main h1').first().waitFor();
      // Loaded: nothing on the page still says "Loading"; charts drawn.
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      if (name === 'cost') await page.locator('.chart canvas').nth(2).waitFor();
      if (name === 'task') await page.getByTestId('output').waitFor();
      if (name === 'run') await page.locator('svg.dag [data-status="waiting"]').waitFor();
      await page.screenshot({ path: join(out, `${name}-${suffix}.png`), fullPage: true });
      saved.push(`${name}-${suffix}.png`);
    }
    await context.close();
  }
  // One dark-theme example.
  const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  const page = await dark.newPage();
  await page.goto(`${base}/dashboard`);
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.goto(`${base}/dashboard/runs/${run}`);
  await page.locator('svg.dag [data-status="waiting"]').waitFor();
  await page.screenshot({ path: join(out, 'run-dark.png'), fullPage: true });
  saved.push('run-dark.png');
} finally {
  await browser.close();
  // The long runs are detached from the daemon (they would outlive a SIGKILL): cancel them, so nothing is
  // left running when the daemon and its home go.
  for (const id of [running, wtBusy]) await call(`/api/tasks/${id}/cancel`, {}).catch(() => undefined);
  await Promise.all([running, wtBusy].map((id) => ended(id).catch(() => undefined)));
}
console.log(`screenshots: ${saved.length} PNGs in docs/screenshots/: ${saved.join(', ')}`);
process.exit(0);
