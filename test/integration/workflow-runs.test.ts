import Database from 'better-sqlite3';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo } from '../helpers/worktree-repo.js';
import { waitUntil } from '../helpers/engine-harness.js';
import { runOnTty } from '../helpers/cli.js';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonPool, readSse } from '../helpers/daemon.js';
import { agentStarts, getRun, startRun, step, waitRun, workflowDaemon, writeWorkflow } from '../helpers/workflow.js';

const pool = daemonPool();

const daemon = (extra: Record<string, unknown> = {}) => workflowDaemon(pool, extra);

/** A local HTTP server that records requests and answers with `answer`. */
async function recorder(answer: (req: IncomingMessage, body: string) => { status: number; body: string }): Promise<{ url: string; requests: Array<{ method: string; url: string; body: string; headers: IncomingMessage['headers'] }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; url: string; body: string; headers: IncomingMessage['headers'] }> = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      const a = answer(req, body);
      res.writeHead(a.status, { 'content-type': 'text/plain; charset=utf-8' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('workflow runs: every step type', () => {
  it('runs dispatch, condition (skipping the branch not taken and what depends only on it), parallel, handoff, delay, notify, tool_call, skill and human steps to the documented results', async () => {
    let webhookCalls = 0;
    const srv = await recorder((req) => {
      if (req.url === '/hook') return ++webhookCalls === 1 ? { status: 503, body: 'try later' } : { status: 200, body: 'ok' };
      return { status: 200, body: `answer to ${req.method} ${req.url} ünïcödé` };
    });
    servers.push(srv);
    const d = await daemon({ skills: { joiner: { command: 'printf', args: ['%s|%s'] } } });
    writeWorkflow(d, {
      name: 'every-type',
      variables: { who: 'world' },
      steps: [
        { id: 'a', agent: 'a', prompt: '@@step=a@@hello {{who}}' },
        { id: 'cond', type: 'condition', if: '{{steps.a.output}} == hello world', then: 'yes', else: 'no', dependsOn: ['a'] },
        { id: 'yes', agent: 'b', prompt: '@@step=yes@@yes:{{steps.a.output}}', dependsOn: ['cond'] },
        { id: 'no', agent: 'b', prompt: '@@step=no@@no', dependsOn: ['cond'] },
        { id: 'afterNo', agent: 'b', prompt: '@@step=afterNo@@after no', dependsOn: ['no'] },
        { id: 'join', agent: 'a', prompt: '@@step=join@@join {{steps.yes.output}}/{{steps.no.status}}', dependsOn: ['yes', 'no'] },
        {
          id: 'par',
          type: 'parallel',
          dependsOn: ['join'],
          parallel: [
            { id: 'p1', agent: 'a', prompt: '@@step=p1@@one' },
            { id: 'p2', agent: 'b', prompt: '@@step=p2@@two' },
          ],
        },
        { id: 'ho', type: 'handoff', handoffFrom: 'par', agent: 'a', prompt: '@@step=ho@@summarise {{steps.p2.output}}', dependsOn: ['par'] },
        { id: 'wait', type: 'delay', delay: '300ms', dependsOn: ['ho'] },
        { id: 'log', type: 'notify', notifyMsg: 'done {{steps.p1.output}}', notifyTo: 'log', dependsOn: ['wait'] },
        { id: 'tg', type: 'notify', notifyMsg: 'to telegram', notifyTo: 'telegram', dependsOn: ['wait'] },
        { id: 'dc', type: 'notify', notifyMsg: 'to discord', notifyTo: 'discord:123', dependsOn: ['wait'] },
        { id: 'hook', type: 'notify', notifyMsg: 'hooked {{who}}', notifyTo: `${srv.url}/hook`, dependsOn: ['wait'] },
        { id: 'sh', type: 'tool_call', toolName: 'shell', toolInput: { command: 'printf', args: ['%s-%s', 'x', '{{steps.p2.output}}'] }, dependsOn: ['wait'] },
        { id: 'sh2', type: 'tool_call', toolName: 'shell', toolInput: { command: 'pwd' }, dependsOn: ['wait'] },
        { id: 'web', type: 'tool_call', toolName: 'http', toolInput: { method: 'POST', url: `${srv.url}/api/{{who}}`, body: 'b={{steps.p1.output}}' }, dependsOn: ['wait'] },
        { id: 'sk', type: 'skill', skill: 'joiner', skillArgs: ['{{who}}', '{{steps.p1.output}}'], dependsOn: ['wait'] },
        { id: 'gate', type: 'human', humanSubtype: 'approval', humanPrompt: 'ship {{who}}?', dependsOn: ['log', 'tg', 'dc', 'hook', 'sh', 'sh2', 'web', 'sk'] },
        { id: 'ask', type: 'human', humanSubtype: 'input', humanPrompt: 'name?', dependsOn: ['gate'] },
        { id: 'last', agent: 'b', prompt: '@@step=last@@{{steps.ask.output}} after {{steps.gate.output}}', dependsOn: ['ask'] },
      ],
    });
    const id = await startRun(d, 'every-type');
    let r = await waitRun(d, id, (x) => step(x, 'gate').status === 'waiting');
    expect(r.status).toBe('running');
    expect(step(r, 'gate').note).toBe('ship world?');
    const approve = await d.json(`/api/workflow-runs/${id}/steps/gate/approve`, { method: 'POST', body: '{}' });
    expect(approve.status).toBe(200);
    r = await waitRun(d, id, (x) => step(x, 'ask').status === 'waiting');
    const ans = await d.cli(['workflow', 'answer', id, 'ask', 'Ada Lovelace']);
    expect(ans.code, ans.stderr).toBe(0);
    r = await waitRun(d, id);
    expect(r.status, JSON.stringify(r.steps.map((s) => [s.id, s.status, s.error]))).toBe('success');
    expect(step(r, 'a').output).toBe('hello world');
    expect(step(r, 'cond').output).toBe('yes');
    expect(step(r, 'yes').output).toBe('yes:hello world');
    expect(step(r, 'no').status).toBe('skipped');
    expect(step(r, 'afterNo').status).toBe('skipped');
    expect(step(r, 'join').output).toBe('join yes:hello world/skipped');
    expect(step(r, 'p1').output).toBe('one');
    expect(step(r, 'par').output).toBe('one\n---\ntwo');
    expect(step(r, 'ho').output).toBe('[Handoff Context]\none\n---\ntwo\n\n[Instruction]\nsummarise two');
    expect(step(r, 'wait').status).toBe('success');
    expect(step(r, 'log').output).toBe('done one');
    expect(step(r, 'tg').status).toBe('success');
    expect(step(r, 'tg').note).toMatch(/not sent/);
    expect(step(r, 'dc').note).toMatch(/not sent/);
    expect(step(r, 'hook').status).toBe('success');
    const hooks = srv.requests.filter((q) => q.url === '/hook');
    expect(hooks).toHaveLength(2); // the 503 was retried
    // Every try of the webhook carries the same Idempotency-Key, one per run, step and attempt.
    expect(hooks.map((q) => q.headers['idempotency-key'])).toEqual([`tetora-${id}-hook-1`, `tetora-${id}-hook-1`]);
    expect(JSON.parse(srv.requests.find((q) => q.url === '/hook')!.body)).toMatchObject({ text: 'hooked world', workflow: 'every-type', runId: id, step: 'hook' });
    expect(step(r, 'sh').output).toBe('x-two');
    expect(step(r, 'sh2').output?.trim()).toBe(d.home);
    expect(step(r, 'web').output).toBe('answer to POST /api/world ünïcödé');
    expect(srv.requests.find((q) => q.url === '/api/world')!.body).toBe('b=one');
    expect(srv.requests.find((q) => q.url === '/api/world')!.headers['idempotency-key']).toBe(`tetora-${id}-web-1`);
    expect(step(r, 'sk').output).toBe('world|one');
    expect(step(r, 'gate').output).toBe('approved');
    expect(step(r, 'ask').output).toBe('Ada Lovelace');
    expect(step(r, 'last').output).toBe('Ada Lovelace after approved');
    // The branch not taken never ran.
    const starts = agentStarts(d);
    expect(starts).not.toContain('no');
    expect(starts).not.toContain('afterNo');
    expect(starts.sort()).toEqual(['a', 'ho', 'join', 'last', 'p1', 'p2', 'yes']);
    // Dispatch steps are engine tasks linked to their run and step.
    const task = await d.task(step(r, 'yes').taskId!);
    expect(task).toMatchObject({ status: 'succeeded', agent: 'b' });
    // Each step's dependsOn comes from the definition the run started with, even after the file changed.
    writeWorkflow(d, { name: 'every-type', steps: [{ id: 'gate', agent: 'a', prompt: 'rewritten' }] });
    const later = await getRun(d, id);
    expect(step(later, 'gate').dependsOn).toEqual(['log', 'tg', 'dc', 'hook', 'sh', 'sh2', 'web', 'sk']);
    expect(step(later, 'p2')).toMatchObject({ parent: 'par', dependsOn: [] });
    expect(step(later, 'par').dependsOn).toEqual(['join']);
    // SSE: the run's events replay from the start, and from Last-Event-ID.
    const res = await d.fetch(`/api/workflow-runs/${id}/events`);
    const events = await readSse(res);
    expect(events[0]!.event).toBe('workflow_started');
    expect(events.at(-1)!.event).toBe('workflow_completed');
    expect(events.at(-1)!.data.status).toBe('success');
    expect(events.filter((e) => e.event === 'step_started').map((e) => e.data.step)).toContain('p2');
    const mid = events[5]!.id!;
    const again = await readSse(await d.fetch(`/api/workflow-runs/${id}/events`, { headers: { 'last-event-id': mid } }));
    expect(again.map((e) => e.id)).toEqual(events.slice(6).map((e) => e.id));
  });

  it('refuses a run that lacks a variable, naming it, and writes nothing', async () => {
    const d = await daemon();
    writeWorkflow(d, { name: 'needs-var', steps: [{ id: 'a', agent: 'a', prompt: 'about {{topic}}' }] });
    const r = await d.json<{ error: { code: string; message: string } }>('/api/workflows/needs-var/run', { method: 'POST', body: '{}' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('TET_ERR_WORKFLOW_VARIABLE_MISSING');
    expect(r.body.error.message).toContain('"topic"');
    const byPath = await d.json<{ error: { code: string } }>(`/api/workflows/${encodeURIComponent(join(d.home, 'workflows', 'needs-var.json'))}/run`, { method: 'POST', body: '{"variables":{"topic":"x"}}' });
    expect(byPath.status).toBe(404);
    expect(byPath.body.error.code).toBe('TET_ERR_WORKFLOW_NOT_FOUND');
    writeWorkflow(d, { name: 'broken', steps: [{ id: 'a', agent: 'nobody', prompt: 'x' }, { id: 'b', agent: 'a', prompt: 'y', dependsOn: ['zz'] }] });
    const invalid = await d.json<{ error: { code: string }; errors: Array<{ path: string; message: string }> }>('/api/workflows/broken/run', { method: 'POST', body: '{}' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('TET_ERR_WORKFLOW_INVALID');
    expect(invalid.body.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['steps[0].agent', 'steps[1].dependsOn[0]']));
    const cliInvalid = await d.cli(['workflow', 'run', 'broken']);
    expect(cliInvalid.code).toBe(78);
    const runs = await d.json<{ runs: unknown[] }>('/api/workflow-runs');
    expect(runs.body.runs).toHaveLength(0);
    const cli = await d.cli(['workflow', 'run', 'needs-var']);
    expect(cli.code).toBe(64);
    expect(cli.stderr).toContain('--var topic=');
    const ok = await d.cli(['workflow', 'run', 'needs-var', '--var', 'topic=@@step=a@@rust', '--wait']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/a success/);
  });

  it('gitWorktree: the steps of a run work in one worktree made for the run, locked until the run ends (also across a restart)', async () => {
    const repo = makeRepo();
    const d = await daemon();
    writeWorkflow(d, {
      name: 'in-worktree',
      gitWorktree: true,
      workdir: repo,
      steps: [
        { id: 'where', agent: 'a', prompt: '@@step=where@@@@cwd@@' },
        { id: 'sh', type: 'tool_call', toolName: 'shell', toolInput: { command: 'pwd' }, dependsOn: ['where'] },
        { id: 'gate', type: 'human', humanPrompt: 'done?', dependsOn: ['sh'] },
      ],
    });
    const id = await startRun(d, 'in-worktree');
    let r = await waitRun(d, id, (x) => step(x, 'gate').status === 'waiting');
    const tree = join(d.home, 'runtime', 'worktrees', `wf-${id}`);
    expect(realpathSync(step(r, 'where').output!)).toBe(realpathSync(tree));
    expect(realpathSync(step(r, 'sh').output!.trim())).toBe(realpathSync(tree));
    const lock = () => {
      const db = new Database(join(d.home, 'tetora.db'), { readonly: true });
      try {
        return db.prepare('SELECT lock_task_id AS holder FROM worktrees WHERE task_id = ?').get(`wf-${id}`) as { holder: string | null } | undefined;
      } finally {
        db.close();
      }
    };
    expect(lock()?.holder).toBe(`wf-${id}`);
    d.kill('SIGKILL');
    await d.exited();
    await d.start();
    await waitUntil(() => lock()?.holder === `wf-${id}`);
    expect((await d.json(`/api/workflow-runs/${id}/steps/gate/approve`, { method: 'POST', body: '{}' })).status).toBe(200);
    r = await waitRun(d, id);
    expect(r.status).toBe('success');
    await waitUntil(() => lock()?.holder === null);
    expect(existsSync(tree)).toBe(true); // kept: cleanup is the prune's business
  });

  it('run --wait draws a live step table on a terminal and exits 0 on success; off a terminal it prints plain lines and exits 1 when the run fails', async () => {
    const d = await daemon();
    writeWorkflow(d, {
      name: 'waited',
      steps: [
        { id: 'first', agent: 'a', prompt: '@@step=first@@@@sleep=700@@one' },
        { id: 'second', agent: 'b', prompt: '@@step=second@@two', dependsOn: ['first'] },
      ],
    });
    const env = Object.fromEntries(Object.entries({ ...process.env, TETORA_HOME: d.home }).filter((e): e is [string, string] => e[1] !== undefined));
    const tty = await runOnTty(['--config', d.configPath, 'workflow', 'run', 'waited', '--wait'], env, []);
    expect(tty.code, tty.output).toBe(0);
    expect(tty.output).toMatch(/STEP\s+STATUS\s+AGENT\s+DURATION\s+COST/);
    expect(tty.output).toContain('\x1b['); // redrawn in place
    expect(tty.output).toMatch(/second\s+success\s+b\s/);
    writeWorkflow(d, { name: 'failing', steps: [{ id: 'bad', agent: 'a', prompt: '@@step=bad@@@@exit=2@@' }] });
    const plain = await d.cli(['workflow', 'run', 'failing', '--wait']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).not.toContain('\x1b[');
    expect(plain.stdout).toMatch(/^bad error agent=a .*failing on purpose/m);
    expect(plain.stdout).toMatch(/run \S+ error: step "bad" failed/);
  });
});
