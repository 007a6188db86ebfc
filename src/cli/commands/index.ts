import type { Command } from 'commander';
import { registerConfig } from './config.js';
import { registerDoctor } from './doctor.js';
import { registerInit } from './init.js';
import { registerDispatch } from './dispatch.js';
import { registerDiscord } from './discord.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerTask } from './task.js';
import { registerWorktree } from './worktree.js';
import { registerWorkflow } from './workflow.js';
import { registerWorkflowRun } from './workflow-run.js';
import { registerJob } from './job.js';
import { registerTrigger } from './trigger.js';
import { registerDiscordOutbox } from './discord-outbox.js';
import { registerRoute } from './route.js';
import { registerBoard } from './board.js';
import { registerUpgrade } from './upgrade.js';
import { registerService } from './service.js';
import { registerBackup } from './backup.js';
import { registerLogs } from './logs.js';
import { registerHistory } from './history.js';
import { registerData } from './data.js';
import { registerCompletion } from './completion.js';
import { registerDashboard } from './dashboard.js';

/**
 * Every command group registers itself here, one line each (one file per group under this folder).
 */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerDoctor(program);
  registerConfig(program);
  registerServe(program);
  registerDispatch(program);
  registerTask(program);
  registerStatus(program);
  registerWorktree(program);
  registerDiscord(program);
  registerWorkflow(program);
  registerWorkflowRun(program);
  registerJob(program);
  registerTrigger(program);
  registerDiscordOutbox(program);
  registerRoute(program);
  registerBoard(program);
  registerUpgrade(program);
  registerService(program);
  registerBackup(program);
  registerLogs(program);
  registerHistory(program);
  registerData(program);
  registerCompletion(program);
  registerDashboard(program);
}
