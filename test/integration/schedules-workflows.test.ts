import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { agentStarts, waitRun, workflowConfig, writeWorkflow } from '../helpers/workflow.js';

/** Triggers wired to the real workflow runner (not a recording starter): what `tetora serve` runs. */
const pool = daemonPool();

describe('triggers start real workflow runs', () => {
  it('a cron trigger runs its workflow once per time across a SIGKILL and a restart at that time; an event trigger follows the run to its end', async () => {
    const d = pool.track(await DaemonHarness.create({}));
    const clockFile = join(d.home, 'test-clock');
    const clock = (iso: string) => writeFileSync(clockFile, String(Date.parse(iso)));
    clock('2026-01-01T00:00:30Z');
    d.writeConfig({
      ...workflowConfig(d.home),
      retry: { base: 20, cap: 200, maxAttempts: 1 },
      workflowTriggers: [
        { name: 'minutely', workflowName: 'report', trigger: { type: 'cron', cron: '* * * * *' }, variables: { topic: 'sales' } },
        { name: 'after-report', workflowName: 'followup', trigger: { type: 'event', event: 'workflow.completed' } },
      ],
    });
    writeWorkflow(d, { name: 'report', variables: { topic: 'none' }, steps: [{ id: 'write', agent: 'a', prompt: '@@step=write@@report on {{topic}}' }] });
    writeWorkflow(d, { name: 'followup', steps: [{ id: 'check', agent: 'b', prompt: '@@step=check@@checked' }] });
    const env = { TETORA_TEST_CLOCK: clockFile };
    await d.start({ env });
    clock('2026-01-01T00:01:00Z');
    const runsOf = (name: string) => d.query<{ id: string; trigger_info: string }>(`SELECT id, trigger_info FROM workflow_runs WHERE workflow_name = '${name}' ORDER BY created_at`);
    const until = async (what: string, ok: () => boolean) => {
      const end = Date.now() + 45_000;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`not reached: ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('the cron firing starts a run', () => runsOf('report').length === 1);
    const [report] = runsOf('report');
    expect(JSON.parse(report!.trigger_info)).toMatchObject({ name: 'minutely', kind: 'cron', idempotencyKey: `trigger:minutely:${Date.parse('2026-01-01T00:01:00Z')}` });
    const done = await waitRun(d, report!.id);
    expect(done.status).toBe('success');
    expect(done.steps[0]!.output).toBe('report on sales');
    // The run's completion is an event the other trigger follows; its own run's completion fires nothing more.
    await until('the event trigger starts its run', () => runsOf('followup').length === 1);
    await waitRun(d, runsOf('followup')[0]!.id);

    // SIGKILL and a restart still at 00:01: the firing is not repeated.
    d.kill('SIGKILL');
    await d.exited();
    await d.start({ env });
    clock('2026-01-01T00:01:40Z');
    await d.json('/api/health');
    expect(runsOf('report')).toHaveLength(1);
    clock('2026-01-01T00:02:00Z');
    await until('the next minute runs again', () => runsOf('report').length === 2);
    await waitRun(d, runsOf('report')[1]!.id);
    await until('the follow-up of the second run', () => runsOf('followup').length === 2);
    await waitRun(d, runsOf('followup')[1]!.id);
    expect(agentStarts(d).filter((s) => s === 'write')).toHaveLength(2);
    expect(d.query<{ n: number }>(`SELECT COUNT(*) AS n FROM schedule_firings WHERE schedule = 'trigger:minutely'`)[0]!.n).toBe(2);
  });
});
