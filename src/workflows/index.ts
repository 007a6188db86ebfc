/**
 * Workflow definitions: the public API, one import for the runner, schedules, CLI and HTTP. Each file
 * holds one concern: types, parse, load, template, condition, validate, order, dryrun, service.
 */
export * from './types.js';
export * from './parse.js';
export * from './load.js';
export * from './template.js';
export * from './condition.js';
export * from './validate.js';
export * from './order.js';
export * from './dryrun.js';
export * from './service.js';
