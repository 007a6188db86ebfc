/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the real daemon:
 * log in, watch tasks and a workflow run change live (no reload), cancel, approve, the worktree page's
 * prune reasons, retry a dead letter, the cost chart. One daemon and one browser for the whole file.
 * Every wait is a playwright auto-waiting assertion on what the page shows; nothing is timed.
 */
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { DaemonHarness, TOKEN } from '../helpers/daemon.js';
import { browserAvailable, launchBrowser, seedCost, seedDeadLetter } from '../helpers/dashboard.js';
import { workflowConfig, writeWorkflow, startRun } from '../helpers/workflow.js';
import { makeRepo } from '../helpers/worktree-repo.js';

const WORKTREE_AGENT = resolve(import.meta.dirname, '../helpers/worktree-agent.mjs');

describe.runIf(browserAvailable())('dashboard in Chromium', () => {
  let d: DaemonHarness;
  let browser: Browser;
  let page: Page;
  let repo: string;

  beforeAll(async () => {
    d = await DaemonHarness.create({});
    repo = makeRepo();
    const base = workflowConfig(d.home);
    d.writeConfig({
      listenAddr: `127.0.0.1:0`,
      apiToken: TOKEN,
      maxConcurrent: 8,
      defaultProvider: 'fake',
      defaultWorkdir: d.home,
      retry: { base: 20, cap: 200, maxAttempts: 1 },
      ...base,
      providers: { ...(base.providers as Record<string, unknown>), wt: { type: 'command', path: process.execPath, args: [WORKTREE_AGENT] } },
      agents: { a: { provider: 'fake' }, b: { provider: 'fake' }, coder: { provider: 'wt' } },
    });
    [browser] = await Promise.all([launchBrowser(), d.start()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await d?.stop();
    d?.killMarked();
  });

  const go = (path: string) => page.goto(`${d.base}${path}`);
  /** Waits (playwright's auto-waiting) until the locator's element is shown; fails the test at the deadline. */
  const shown = (l: Locator) => l.first().waitFor({ state: 'visible' });
  const gone = (l: Locator) => l.first().waitFor({ state: 'detached' });

  it('logs in with the API token', async () => {
    await go('/dashboard');
    await shown(page.getByRole('heading', { name: 'Log in' }));
    await page.getByLabel('API token').fill('wrong-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await shown(page.getByRole('alert').filter({ hasText: 'wrong' }));
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await shown(page.getByRole('heading', { name: 'Overview' }));
    const cookie = (await page.context().cookies()).find((c) => c.name === 'tetora_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
  });

  it('shows a task dispatched through the API turn succeeded without a reload, with its timeline and Markdown output', async () => {
    await go('/dashboard/tasks');
    await shown(page.getByRole('heading', { name: 'Tasks', exact: true }));
    const prompt = '# Release notes\n\nAll **green**. <b>raw html</b>\n\n```js\nconst answer = 42;\n```\n@@sleep=700@@';
    const r = await d.dispatch({ agent: 'a', prompt });
    const id = r.body.tasks[0]!.id;
    const row = page.locator(`tr[data-task="${id}"]`);
    await shown(row);
    await shown(row.locator('[data-status="succeeded"]'));
    await row.getByRole('link').click();
    await shown(page.locator('h1 [data-status="succeeded"]'));
    const timeline = page.getByTestId('timeline');
    await shown(timeline.locator('.ev-succeeded'));
    await shown(timeline.locator('.ev-provider-text'));
    const out = page.getByTestId('output');
    await shown(out.getByRole('heading', { name: 'Release notes' }));
    expect(await out.locator('strong').textContent()).toBe('green');
    // html: false — the agent's raw HTML is text, never markup.
    expect(await out.textContent()).toContain('<b>raw html</b>');
    expect(await out.locator('b').count()).toBe(0);
    expect(await out.locator('pre.hljs .hljs-keyword').first().textContent()).toBe('const');
  });

  it('cancels a running task from its page', async () => {
    const r = await d.dispatch({ agent: 'a', prompt: 'long job @@sleep=60000@@' });
    const id = r.body.tasks[0]!.id;
    await go(`/dashboard/tasks/${id}`);
    await shown(page.locator('h1 [data-status="running"]'));
    await page.getByRole('button', { name: 'Cancel' }).click();
    await shown(page.locator('h1 [data-status="cancelled"]'));
    expect((await d.task(id)).status).toBe('cancelled');
    await shown(page.getByTestId('timeline').locator('.ev-cancelled'));
    // Retry: a new task with the same request, and the page moves to it.
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/dashboard/tasks/') && !u.pathname.endsWith(id));
    const retried = new URL(page.url()).pathname.split('/').pop()!;
    await shown(page.locator('h1 [data-status="running"]'));
    expect((await d.task(retried)).prompt).toBe('long job @@sleep=60000@@');
    await shown(page.locator('.linked').filter({ hasText: 'Retry of' }).locator(`a[href="/dashboard/tasks/${id}"]`));
    await d.fetch(`/api/tasks/${retried}/cancel`, { method: 'POST' });
    await shown(page.locator('h1 [data-status="cancelled"]'));
  });

  it('is usable by keyboard: skip link, visible focus, and a task dispatched from the form', async () => {
    await go('/dashboard/tasks');
    await shown(page.getByRole('heading', { name: 'Tasks', exact: true }));
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.getByLabel('Agent', { exact: true }).first().focus();
    await page.keyboard.press('Tab');
    await page.keyboard.type('typed at the keyboard');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await shown(page.locator('h1 [data-status="succeeded"]'));
    await shown(page.getByTestId('output').filter({ hasText: 'typed at the keyboard' }));
  });

  it('draws a workflow run whose steps change state live, and an approval from the page lets it finish', async () => {
    writeWorkflow(d, {
      name: 'ship',
      steps: [
        { id: 'draft', agent: 'a', prompt: '@@step=draft@@draft @@sleep=500@@' },
        { id: 'check', agent: 'b', prompt: '@@step=check@@check', dependsOn: ['draft'] },
        { id: 'gate', type: 'human', humanSubtype: 'approval', humanPrompt: 'Ship it?', dependsOn: ['check'] },
        { id: 'publish', agent: 'b', prompt: '@@step=publish@@published', dependsOn: ['gate'] },
      ],
    });
    const runId = await startRun(d, 'ship');
    await go(`/dashboard/runs/${runId}`);
    const node = (step: string, status: string) => page.locator(`svg.dag [data-step="${step}"][data-status="${status}"]`);
    await shown(node('gate', 'waiting'));
    await shown(node('draft', 'success'));
    await shown(node('publish', 'pending'));
    // The arrows come from the definition the run started with: rewriting the file changes nothing.
    writeWorkflow(d, { name: 'ship', steps: [{ id: 'other', agent: 'a', prompt: 'other' }] });
    await go(`/dashboard/runs/${runId}`);
    // (attached, not visible: a straight vertical arrow has no width, which playwright counts as hidden)
    for (const e of ['draft>check', 'check>gate', 'gate>publish']) await page.locator(`svg.dag path.edge[data-edge="${e}"]`).waitFor({ state: 'attached' });
    expect(await page.locator('svg.dag path.edge').count()).toBe(3);
    await shown(page.getByText('Ship it?'));
    // A step with a task links to it.
    await shown(page.locator('svg.dag a[href^="/dashboard/tasks/"]'));
    await page.getByRole('button', { name: 'Approve' }).click();
    await shown(node('publish', 'success'));
    await shown(page.locator('h1 [data-status="success"]'));
    const run = await d.json<{ status: string; steps: Array<{ id: string; decision: string | null }> }>(`/api/workflow-runs/${runId}`);
    expect(run.body.status).toBe('success');
    expect(run.body.steps.find((s) => s.id === 'gate')?.decision).toBe('approve');
  });

  it('lists worktrees with what prune would do and why', async () => {
    const ready = join(d.home, 'wt-ready');
    writeFileSync(join(d.home, 'wt-go'), 'go');
    const spec = JSON.stringify({ log: join(d.home, 'wt-log.jsonl'), ready, waitFor: join(d.home, 'wt-go'), commits: 0, untracked: 1 });
    const r = await d.dispatch({ agent: 'coder', prompt: `leave a scratch file\n${spec}`, workdir: repo, worktree: true });
    const id = r.body.tasks[0]!.id;
    const [t] = await d.waitTerminal([id]);
    expect(t!.status).toBe('succeeded');
    await go('/dashboard/worktrees');
    const row = page.locator('tr[data-worktree]').filter({ hasText: id.slice(0, 8) });
    await shown(row.locator('[data-status="keep"]'));
    expect(await row.locator('.reason-cell').textContent()).toContain('1 uncommitted file');
  });

  it('retries a Discord dead letter', async () => {
    const done = await d.dispatch({ agent: 'a', prompt: 'reply me' });
    const taskId = done.body.tasks[0]!.id;
    await d.waitTerminal([taskId]);
    const id = seedDeadLetter(d.home, taskId, 'Discord answered 403 Missing Access for channel 900000000000000001');
    await go('/dashboard/discord');
    const row = page.locator(`tr[data-outbox="${id}"]`);
    await shown(row.filter({ hasText: '403 Missing Access' }));
    expect(await page.getByTestId('outbox-dead').textContent()).toBe('1');
    await row.getByRole('button', { name: 'Retry' }).click();
    await gone(row);
    await shown(page.getByText('No dead letters.'));
    const outbox = await d.json<{ rows: Array<{ id: number; state: string }> }>('/api/discord/outbox');
    expect(outbox.body.rows.find((x) => x.id === id)?.state).toBe('pending');
  });

  it('renders the cost charts for seeded data', async () => {
    const tasks = await d.json<{ tasks: Array<{ id: string; agent: string; status: string }> }>('/api/tasks?status=succeeded');
    const [t1, t2] = tasks.body.tasks.filter((t) => t.agent === 'a' || t.agent === 'b');
    seedCost(d.home, [
      { taskId: t1!.id, costUsd: 1.25, tokensIn: 12_000, tokensOut: 3_000, daysAgo: 0 },
      { taskId: t2!.id, costUsd: 0.5, tokensIn: 4_000, tokensOut: 900, daysAgo: 3 },
    ]);
    await go('/dashboard/cost');
    const charts = page.getByTestId('chart');
    await shown(charts.nth(2).locator('canvas'));
    expect(await charts.count()).toBe(3);
    await shown(charts.first().locator('.u-legend').filter({ hasText: t1!.agent }));
    expect(await page.getByRole('region', { name: 'Totals by agent' }).textContent()).toContain(t1!.agent === t2!.agent ? '$1.75' : '$1.25');
  });

  it('fits a 375 px wide phone without sideways scrolling, and follows the dark system theme', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, colorScheme: 'dark' });
    await phone.addCookies(await page.context().cookies());
    const p = await phone.newPage();
    try {
      const tasks = await d.json<{ tasks: Array<{ id: string }> }>('/api/tasks?status=succeeded&limit=1');
      const runs = await d.json<{ runs: Array<{ id: string }> }>('/api/workflow-runs?limit=1');
      const task = tasks.body.tasks[0];
      const run = runs.body.runs[0];
      // The task and run pages when the tests before made some (this one also runs alone with -t).
      for (const path of ['/dashboard/tasks', ...(task ? [`/dashboard/tasks/${task.id}`] : []), ...(run ? [`/dashboard/runs/${run.id}`] : []), '/dashboard/worktrees']) {
        await p.goto(`${d.base}${path}`);
        await p.locator('main h1').first().waitFor();
        await p.locator('[aria-busy="true"]').first().waitFor({ state: 'detached' });
        const { scroll, client } = (await p.evaluate('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })')) as { scroll: number; client: number };
        expect(scroll, `${path} is ${scroll} px wide at 375`).toBeLessThanOrEqual(client);
      }
      const bg = await p.evaluate('getComputedStyle(document.body).backgroundColor');
      expect(bg).toBe('rgb(15, 19, 24)');
    } finally {
      await phone.close();
    }
  });
});
