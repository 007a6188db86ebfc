import { migration001 } from './001-core.js';
import { migration002 } from './002-provider-sessions.js';
import { migration003 } from './003-worktrees.js';
import { migration004 } from './004-run-costs.js';
import { migration005 } from './005-detached-runs.js';
import { migration006 } from './006-leases-origin.js';
import { migration007 } from './007-discord.js';
import { migration008 } from './008-workflow-runs.js';
import { migration009 } from './009-schedules.js';
import { migration010 } from './010-routing-links.js';
import { migration011 } from './011-board.js';
import { migration012 } from './012-webhook-signatures.js';
import { migration013 } from './013-dashboard-sessions.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Applied in order at open; each in its own transaction and recorded in schema_migrations. Never edit a released one. */
export const migrations: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007, migration008, migration009, migration010, migration011, migration012, migration013];
