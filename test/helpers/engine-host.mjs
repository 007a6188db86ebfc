#!/usr/bin/env node
// Runs an Engine (from dist/) in its own process so a test can SIGKILL it mid-run.
// Usage: engine-host.mjs CONFIG_PATH TASKS_JSON_PATH  → prints one line `READY {"ids":[...],"instanceId":"..."}`.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../dist/config/load.js';
import { Engine } from '../../dist/engine/engine.js';
import { ProviderRegistry } from '../../dist/providers/registry.js';

const [configPath, tasksPath] = process.argv.slice(2);
const { config } = loadConfig({ configPath });
const engine = new Engine({ config, providers: new ProviderRegistry(config) });
await engine.start();
const ids = tasksPath ? engine.enqueueMany(JSON.parse(readFileSync(tasksPath, 'utf8')), { source: 'test' }).map((r) => r.task.id) : [];
process.stdout.write(`READY ${JSON.stringify({ ids, instanceId: engine.instanceId })}\n`);
process.on('SIGTERM', async () => {
  await engine.drain(Number(process.env.DRAIN_MS ?? 5000));
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
