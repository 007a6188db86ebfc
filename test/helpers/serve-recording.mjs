#!/usr/bin/env node
// The real daemon (dist/daemon/serve.js, as `tetora serve` runs it) with a RECORDING workflow starter in
// place of the workflow runner: each start appends {name, variables, meta, runId} to the file named by
// RECORDING_STARTER_LOG and publishes `workflow.started` to the event source (before it returns); a workflow named `fails`
// is refused. Takes the arguments DaemonHarness gives bin/tetora.js: --config PATH serve --log-format json --listen ADDR.
import { appendFileSync } from 'node:fs';
import { serve } from '../../dist/daemon/serve.js';
import { workspaceFactory } from '../../dist/daemon/workspaces.js';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const logPath = process.env.RECORDING_STARTER_LOG;
const listeners = new Set();
let n = 0;

const starter = {
  async start(name, variables, meta) {
    const runId = `run-${process.pid}-${++n}`;
    appendFileSync(logPath, `${JSON.stringify({ name, variables, meta, runId })}\n`);
    if (name === 'fails') throw new Error(`workflow "${name}" does not exist`);
    // Published before start() resolves, as a runner may: the run id is not yet known to the caller.
    for (const fn of listeners) fn({ type: 'workflow.started', runId, workflow: name });
    return { runId };
  },
};
const events = {
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

process.exitCode = await serve({
  configPath: arg('--config'),
  logFormat: 'json',
  listen: arg('--listen'),
  version: 'test',
  workspaces: workspaceFactory,
  workflows: () => ({ starter, events }),
});
setTimeout(() => process.exit(), 3000).unref();
