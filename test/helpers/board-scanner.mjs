#!/usr/bin/env node
// One "daemon's" board scans, for the claim race test: an engine on the store (another connection, never
// started, handed a home lock that holds nothing) and a BoardService. It waits for the barrier file, then
// scans ROUNDS times as fast as it can and prints the ticket ids it claimed as JSON.
import { existsSync } from 'node:fs';
import { loadConfig } from '../../dist/config/load.js';
import { Engine } from '../../dist/engine/engine.js';
import { silentLogger } from '../../dist/engine/logger.js';
import { ProviderRegistry } from '../../dist/providers/registry.js';
import { BoardService } from '../../dist/board/service.js';

const [configPath, barrier, rounds] = process.argv.slice(2);
const config = loadConfig({ configPath, env: { HOME: process.env.HOME, PATH: process.env.PATH } }).config;
const engine = new Engine({ config, providers: new ProviderRegistry(config), homeLock: { release() {} } });
const board = new BoardService({ engine, config: () => config, log: silentLogger });
process.stdout.write('READY\n');
while (!existsSync(barrier)) await new Promise((r) => setTimeout(r, 1));
const claimed = [];
for (let i = 0; i < Number(rounds); i++) claimed.push(...board.scan());
process.stdout.write(`${JSON.stringify(claimed)}\n`);
process.exit(0);
