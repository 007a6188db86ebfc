import type { Command } from 'commander';
import { registerConfig } from './config.js';
import { registerDoctor } from './doctor.js';
import { registerInit } from './init.js';

/**
 * Every command group registers itself here, one line each (one file per group under this folder).
 */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerDoctor(program);
  registerConfig(program);
}
