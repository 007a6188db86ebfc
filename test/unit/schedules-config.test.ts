import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactConfig } from '../../src/config/redact.js';
import { checkJobs } from '../../src/doctor/checks.js';
import { jobsFact } from '../../src/doctor/gather.js';
import { loadJobs, parseJobs } from '../../src/schedules/jobs.js';
import { configHomes, load, thrown } from '../helpers/config.js';

const home = configHomes('tetora-sched-');
const base = { providers: { fake: { type: 'command', path: '/bin/true' } }, defaultProvider: 'fake', agents: { ops: { provider: 'fake' } } };

describe('workflowTriggers in the config', () => {
  it('loads the original\'s format, with defaults, and resolves a $VAR secret', () => {
    const dir = home({
      'config.json': {
        ...base,
        workflowTriggers: [
          { name: 'nightly', workflowName: 'report', trigger: { type: 'cron', cron: '0 2 * * *', tz: 'Asia/Taipei' }, variables: { depth: 3 }, cooldown: '10m', catchUp: 'last' },
          { name: 'on-fail', workflowName: 'triage', enabled: false, trigger: { type: 'event', event: 'task.failed' } },
          { name: 'gh', workflowName: 'build', trigger: { type: 'webhook', webhook: 'ignored' }, secret: '$HOOK_SECRET' },
        ],
      },
    });
    const { config, warnings } = load(dir, { HOOK_SECRET: 's3cret' });
    expect(warnings).toEqual([]);
    expect(config.workflowTriggers).toEqual([
      { name: 'nightly', workflowName: 'report', enabled: true, type: 'cron', cron: '0 2 * * *', tz: 'Asia/Taipei', variables: { depth: '3' }, cooldownMs: 600_000, catchUp: 'last' },
      { name: 'on-fail', workflowName: 'triage', enabled: false, type: 'event', event: 'task.failed', variables: {}, cooldownMs: 0, catchUp: 'none' },
      { name: 'gh', workflowName: 'build', enabled: true, type: 'webhook', variables: {}, cooldownMs: 0, catchUp: 'none', secret: 's3cret' },
    ]);
    expect(config.jobsFile).toBe(join(dir, 'jobs.json'));
    // `tetora config show` never prints a webhook secret.
    expect((redactConfig(config).workflowTriggers as Array<Record<string, unknown>>)[2]?.secret).toBe('***');
  });

  it('an invalid cron expression or time zone is a config error naming the trigger and the field', () => {
    const cron = thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'cron', cron: '61 * * * *' } }] } })));
    expect(cron.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(cron.message).toContain('workflowTriggers.0.trigger.cron');
    expect(cron.message).toContain('trigger "x"');
    const tz = thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'y', workflowName: 'w', trigger: { type: 'cron', cron: '0 * * * *', tz: 'Moon/Base' } }] } })));
    expect(tz.message).toContain('workflowTriggers.0.trigger.tz');
    expect(tz.message).toContain('IANA time zone');
  });

  it('refuses a cron trigger without cron, an event trigger without event, and duplicate names', () => {
    expect(thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'cron' } }] } }))).message).toContain('workflowTriggers.0.trigger.cron');
    expect(thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'event' } }] } }))).message).toContain('workflowTriggers.0.trigger.event');
    const dup = thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'webhook' } }, { name: 'x', workflowName: 'v', trigger: { type: 'webhook' } }] } })));
    expect(dup.message).toContain('workflowTriggers.1.name');
    expect(thrown(() => load(home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'poll' } }] } }))).message).toContain('workflowTriggers.0.trigger.type');
  });

  it('warns once per unknown key inside a trigger', () => {
    const dir = home({ 'config.json': { ...base, workflowTriggers: [{ name: 'x', workflowName: 'w', trigger: { type: 'webhook', extra: 1 }, owner: 'me' }] } });
    const { warnings } = load(dir);
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toContain('workflowTriggers.0.owner');
    expect(warnings.join('\n')).toContain('workflowTriggers.0.trigger.extra');
  });

  it('jobsFile resolves against the config\'s folder', () => {
    const dir = home({ 'config.json': { ...base, jobsFile: 'cron/jobs.json' } });
    expect(load(dir).config.jobsFile).toBe(join(dir, 'cron', 'jobs.json'));
  });
});

const cfg = (dir: string) => load(dir).config;

describe('jobs.json', () => {
  const job = { id: 'daily', name: 'Daily report', enabled: true, schedule: '0 9 * * 1-5', tz: 'Europe/Berlin', task: { prompt: 'write the report', agent: 'ops', model: 'm1', timeout: '15m', budget: 1.5, workdir: 'proj', permissionMode: 'plan' }, maxRetries: 2 };

  it('loads the original\'s format into task requests', () => {
    const dir = home({ 'config.json': base, 'jobs.json': { jobs: [job] } });
    const { jobs, warnings } = parseJobs(JSON.stringify({ jobs: [job] }), join(dir, 'jobs.json'), cfg(dir));
    expect(warnings).toEqual([]);
    expect(jobs[0]).toMatchObject({ id: 'daily', name: 'Daily report', enabled: true, schedule: '0 9 * * 1-5', tz: 'Europe/Berlin', catchUp: 'none' });
    expect(jobs[0]?.request).toEqual({ prompt: 'write the report', name: 'Daily report', agent: 'ops', model: 'm1', timeout: 900_000, budget: 1.5, workdir: join(dir, 'proj'), permissionMode: 'plan', maxAttempts: 3 });
  });

  it('reads a bare list, the top-level agent, and promptFile beside the jobs file', () => {
    const dir = home({ 'config.json': base, 'prompts/p.md': 'from a file' });
    const { jobs } = parseJobs(JSON.stringify([{ id: 'a', schedule: '@hourly', agent: 'ops', task: { promptFile: 'prompts/p.md' } }]), join(dir, 'jobs.json'), cfg(dir));
    expect(jobs[0]?.request).toMatchObject({ prompt: 'from a file', agent: 'ops' });
  });

  it('warns once per unknown key, and says what retryDelay and notify do here', () => {
    const dir = home({ 'config.json': base });
    const text = JSON.stringify({ version: 2, jobs: [{ ...job, onSuccess: ['x'], task: { ...job.task, promptVars: {} }, retryDelay: '1m', notify: true }] });
    const { warnings } = parseJobs(text, join(dir, 'jobs.json'), cfg(dir));
    expect(warnings.filter((w) => w.includes('is not supported'))).toHaveLength(3);
    expect(warnings.join('\n')).toContain('"jobs.0.onSuccess"');
    expect(warnings.join('\n')).toContain('"jobs.0.task.promptVars"');
    expect(warnings.join('\n')).toContain('"version"');
    expect(warnings.join('\n')).toContain('retryDelay is not applied per job');
    expect(warnings.join('\n')).toContain('notify');
  });

  it('a bad cron expression or time zone is an error naming the job and the field', () => {
    const dir = home({ 'config.json': base });
    const path = join(dir, 'jobs.json');
    const bad = thrown(() => parseJobs(JSON.stringify({ jobs: [job, { ...job, id: 'broken', schedule: '0 25 * * *' }] }), path, cfg(dir)));
    expect(bad.code).toBe('TET_ERR_JOBS_INVALID');
    expect(bad.message).toContain('jobs.1 (id "broken").schedule');
    expect(bad.message).toContain(path);
    expect(thrown(() => parseJobs(JSON.stringify({ jobs: [{ ...job, tz: 'Atlantis' }] }), path, cfg(dir))).message).toContain('jobs.0 (id "daily").tz');
  });

  it('refuses a missing prompt, an unknown agent, duplicate ids, wrong types and bad JSON', () => {
    const dir = home({ 'config.json': base });
    const path = join(dir, 'jobs.json');
    const p = (jobs: unknown) => thrown(() => parseJobs(JSON.stringify({ jobs }), path, cfg(dir))).message;
    expect(p([{ ...job, task: { agent: 'ops' } }])).toContain('jobs.0 (id "daily").task.prompt');
    expect(p([{ ...job, task: { ...job.task, agent: 'nobody' } }])).toContain('task.agent');
    expect(p([job, job])).toContain('jobs.1 (id "daily").id');
    expect(p([{ ...job, maxRetries: -1 }])).toContain('jobs.0 (id "daily").maxRetries');
    expect(p([{ ...job, schedule: undefined }])).toContain('jobs.0 (id "daily").schedule');
    expect(thrown(() => parseJobs('{"jobs": [', path, cfg(dir))).message).toContain('not valid JSON');
  });

  it('a jobs file that does not exist is a warning, and doctor shows it without failing', () => {
    const dir = home({ 'config.json': base });
    const l = loadJobs(cfg(dir));
    expect(l).toMatchObject({ jobs: [], missing: true });
    expect(l.warnings[0]).toContain('does not exist');
    const check = checkJobs(jobsFact(cfg(dir)));
    expect(check.ok).toBe(true);
    expect(check.detail).toContain('does not exist');
  });

  it('doctor fails on a jobs file that does not load, naming the job', () => {
    const dir = home({ 'config.json': base, 'jobs.json': { jobs: [{ ...job, schedule: 'every day' }] } });
    const check = checkJobs(jobsFact(cfg(dir)));
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('jobs.0 (id "daily").schedule');
  });
});
