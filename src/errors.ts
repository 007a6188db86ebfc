/**
 * The error catalog. Every error a user can meet has a code (`TET_ERR_<AREA>_<WHAT>`), a message that
 * names what failed and what to do, an HTTP status and a CLI exit code. Codes are never reused.
 * `docs/errors.md` lists them; `test/unit/errors.test.ts` keeps the two in step.
 */

/** Exit codes follow sysexits(3) where one fits. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataError: 65,
  unavailable: 69,
  internal: 70,
  cantCreate: 73,
  ioError: 74,
  tempFail: 75,
  config: 78,
} as const;

interface CatalogEntry {
  status: number;
  exit: number;
  /** One line for docs/errors.md. */
  summary: string;
}

export const errorCatalog = {
  TET_ERR_CONFIG_NOT_FOUND: { status: 500, exit: ExitCode.config, summary: 'The config file does not exist.' },
  TET_ERR_CONFIG_PARSE: { status: 500, exit: ExitCode.config, summary: 'The config file is not valid JSON.' },
  TET_ERR_CONFIG_INVALID: { status: 500, exit: ExitCode.config, summary: 'A config value is wrong (names the JSON path, the value and what was expected).' },
  TET_ERR_CONFIG_SECRET_UNSET: { status: 500, exit: ExitCode.config, summary: 'A secret field refers to an environment variable that is not set.' },
  TET_ERR_CONFIG_EXISTS: { status: 409, exit: ExitCode.cantCreate, summary: '`tetora init` would overwrite an existing config; pass --force.' },
  TET_ERR_STORE_OPEN: { status: 500, exit: ExitCode.ioError, summary: 'The SQLite database could not be opened.' },
  TET_ERR_STORE_MIGRATION: { status: 500, exit: ExitCode.ioError, summary: 'A store migration failed or the database is newer than this program.' },
  TET_ERR_STORE_FULL: { status: 503, exit: ExitCode.tempFail, summary: 'The disk holding the database is full: new work is refused until it has room again.' },
  TET_ERR_STORE_READONLY: { status: 503, exit: ExitCode.ioError, summary: 'The database (or its folder, -wal or -shm file) cannot be written.' },
  TET_ERR_STORE_UNAVAILABLE: { status: 503, exit: ExitCode.ioError, summary: 'The database refuses writes for another reason (an I/O error, a lock held too long).' },
  TET_ERR_TASK_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No task has that id.' },
  TET_ERR_TASK_OUTPUT_GONE: { status: 410, exit: ExitCode.dataError, summary: "The spool file holding a task's whole output cannot be read." },
  TET_ERR_TASK_INVALID: { status: 400, exit: ExitCode.usage, summary: 'A task request has a missing or wrong field.' },
  TET_ERR_TASK_TRANSITION: { status: 409, exit: ExitCode.failure, summary: 'A task state change is not allowed from its current state.' },
  TET_ERR_TASK_NOT_RETRYABLE: { status: 409, exit: ExitCode.failure, summary: 'Only a task that ended failed, cancelled or timed out can be retried; this one has not ended, or succeeded.' },
  TET_ERR_AGENT_UNKNOWN: { status: 400, exit: ExitCode.usage, summary: 'The named agent is not in the config.' },
  TET_ERR_PROVIDER_UNKNOWN: { status: 400, exit: ExitCode.usage, summary: 'The named provider is not in the config.' },
  TET_ERR_ENGINE_STOPPED: { status: 503, exit: ExitCode.tempFail, summary: 'The engine is draining or stopped and accepts no new work.' },
  TET_ERR_USAGE: { status: 400, exit: ExitCode.usage, summary: 'A command was called with wrong arguments.' },
  TET_ERR_DAEMON_UNREACHABLE: { status: 503, exit: ExitCode.unavailable, summary: 'No daemon answers at the configured address.' },
  TET_ERR_HTTP_UNAUTHORIZED: { status: 401, exit: ExitCode.failure, summary: 'Missing or wrong API token.' },
  TET_ERR_HTTP_BAD_REQUEST: { status: 400, exit: ExitCode.usage, summary: 'The request body or query is invalid.' },
  TET_ERR_HTTP_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No such route or resource.' },
  TET_ERR_HTTP_DRAINING: { status: 503, exit: ExitCode.tempFail, summary: 'The daemon is draining; retry after it restarts.' },
  TET_ERR_LISTEN_UNSAFE: { status: 500, exit: ExitCode.config, summary: 'Refusing to listen beyond loopback without an apiToken.' },
  TET_ERR_WORKTREE: { status: 500, exit: ExitCode.failure, summary: 'A git worktree operation failed.' },
  TET_ERR_WORKTREE_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No worktree is recorded for that id.' },
  TET_ERR_WORKTREE_NOT_REPO: { status: 400, exit: ExitCode.dataError, summary: 'A worktree task\'s workdir is not inside a git repository with a commit.' },
  TET_ERR_WORKTREE_INDEX_LOCK: { status: 409, exit: ExitCode.tempFail, summary: 'A stale git index.lock blocks the repository; the message names the file, its age and how to remove it.' },
  TET_ERR_WORKTREE_LOCKED: { status: 409, exit: ExitCode.tempFail, summary: 'The task\'s worktree is held by a live session of another process.' },
  TET_ERR_WORKFLOW_RUN_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No workflow run has that id.' },
  TET_ERR_WORKFLOW_STEP_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'The workflow run has no step with that id.' },
  TET_ERR_WORKFLOW_RUN_STATE: { status: 409, exit: ExitCode.failure, summary: 'The workflow run or step is not in a state that allows this (cancel an ended run, resume a running one, decide a step that is not waiting).' },
  TET_ERR_WORKFLOW_DECISION: { status: 400, exit: ExitCode.usage, summary: 'A decision on a human step is missing what it needs (an answer needs text).' },
  TET_ERR_INTERNAL: { status: 500, exit: ExitCode.internal, summary: 'An unexpected internal error; the daemon log has the details.' },
  TET_ERR_BUDGET_EXCEEDED: { status: 402, exit: ExitCode.failure, summary: 'A daily budget is spent; new work is refused until it resets.' },
  TET_ERR_INIT_WRITE: { status: 500, exit: ExitCode.cantCreate, summary: '`tetora init` could not create the home folder or write a file in it.' },
  TET_ERR_HOME_IN_USE: { status: 409, exit: ExitCode.tempFail, summary: 'Another daemon is running on the same home and database.' },
  TET_ERR_HTTP_BODY_TOO_LARGE: { status: 413, exit: ExitCode.usage, summary: 'The request body is larger than the daemon accepts.' },
  TET_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: ExitCode.usage, summary: 'The request body has a content type the API does not read (it reads application/json).' },
  TET_ERR_HTTP_HEADERS_TOO_LARGE: { status: 431, exit: ExitCode.usage, summary: 'The request line or headers are longer than the daemon accepts (e.g. a very long URL or id).' },
  TET_ERR_HTTP_CROSS_SITE: { status: 403, exit: ExitCode.failure, summary: 'A state-changing request came from another site (Sec-Fetch-Site cross-site, or an Origin that is not the daemon), or, on a daemon without apiToken, named a Host that is not loopback.' },
  TET_ERR_HTTP_CSRF: { status: 403, exit: ExitCode.failure, summary: 'A state-changing request authenticated by the dashboard session cookie lacks the right X-Tetora-CSRF header.' },
  TET_ERR_HTTP_LOGIN_THROTTLED: { status: 429, exit: ExitCode.tempFail, summary: 'Too many wrong dashboard logins from this address; wait the Retry-After seconds.' },
  TET_ERR_DASHBOARD_NOT_BUILT: { status: 503, exit: ExitCode.unavailable, summary: 'The dashboard\'s files (dist/dashboard/index.html) are missing: the UI was not built.' },
  TET_ERR_IDEMPOTENCY_MISMATCH: { status: 422, exit: ExitCode.dataError, summary: 'An idempotency key was reused with a different request.' },
  TET_ERR_LISTEN_FAILED: { status: 500, exit: ExitCode.unavailable, summary: 'The daemon could not listen on its address (in use, or not allowed).' },
  TET_ERR_WORKFLOW_INVALID: { status: 400, exit: ExitCode.config, summary: 'A workflow definition has errors; every one is listed with its JSON path (`details.errors`), and nothing was written or run.' },
  TET_ERR_WORKFLOW_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No workflow has that name (or file name) in the workflow folder.' },
  TET_ERR_WORKFLOW_EXISTS: { status: 409, exit: ExitCode.cantCreate, summary: 'A workflow with that name already exists; it was not overwritten.' },
  TET_ERR_WORKFLOW_DUPLICATE_NAME: { status: 409, exit: ExitCode.config, summary: 'Two workflow files declare the same name; the message names both files.' },
  TET_ERR_WORKFLOW_ENV_REFUSED: { status: 400, exit: ExitCode.config, summary: 'A template reads `{{env.NAME}}` for a secret-looking name that `workflowEnv` does not allow.' },
  TET_ERR_WORKFLOW_VARIABLE_MISSING: { status: 400, exit: ExitCode.usage, summary: 'A workflow uses variables that it does not declare and that the run did not give.' },
  TET_ERR_JOBS_INVALID: { status: 500, exit: ExitCode.config, summary: 'The cron jobs file (jobsFile, default jobs.json) is not valid JSON or a job has a wrong field.' },
  TET_ERR_JOB_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No cron job has that id.' },
  TET_ERR_TRIGGER_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No workflow trigger has that name (or it is not of the type the route needs).' },
  TET_ERR_TRIGGER_DISABLED: { status: 409, exit: ExitCode.failure, summary: 'The workflow trigger is disabled in the config.' },
  TET_ERR_TRIGGER_COOLDOWN: { status: 429, exit: ExitCode.tempFail, summary: 'The workflow trigger fired less than its cooldown ago.' },
  TET_ERR_WORKFLOWS_UNAVAILABLE: { status: 503, exit: ExitCode.unavailable, summary: 'This daemon has no workflow runner to start a trigger\'s workflow.' },
  TET_ERR_DISCORD_OUTBOX_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No Discord outbox row has that id.' },
  TET_ERR_DISCORD_OUTBOX_NOT_DEAD: { status: 409, exit: ExitCode.failure, summary: 'Only a dead letter can be sent again; that outbox row is pending or sent.' },
  TET_ERR_HANDOFF_SOURCE_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'The task named by handoffFrom (--handoff-from) does not exist.' },
  TET_ERR_HANDOFF_SOURCE_NOT_SUCCEEDED: { status: 409, exit: ExitCode.failure, summary: 'The task named by handoffFrom (--handoff-from) has not succeeded, so it has no finding to hand on.' },
  TET_ERR_ROUTE_DISABLED: { status: 409, exit: ExitCode.failure, summary: 'Smart dispatch is not enabled in the config, so there is nothing to route with.' },
  TET_ERR_BOARD_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'No board ticket has that id.' },
  TET_ERR_BOARD_INVALID: { status: 400, exit: ExitCode.usage, summary: 'A board ticket request has a missing or wrong field (names the field, the value and what was expected).' },
  TET_ERR_BOARD_TRANSITION: { status: 409, exit: ExitCode.failure, summary: 'A board ticket cannot make that move now (dependencies not done, a person\'s ticket to run, a ticket already running).' },
  TET_ERR_BOARD_DISABLED: { status: 409, exit: ExitCode.config, summary: 'The task board is off in the config (taskBoard.enabled is false).' },
  TET_ERR_UPGRADE_NETWORK: { status: 502, exit: ExitCode.unavailable, summary: '`tetora upgrade` could not reach the release index, the download or the npm registry.' },
  TET_ERR_UPGRADE_CHECKSUM: { status: 502, exit: ExitCode.dataError, summary: 'The downloaded executable does not match the sha256 of the release index; nothing was replaced.' },
  TET_ERR_UPGRADE_PERMISSION: { status: 500, exit: ExitCode.cantCreate, summary: 'The executable (or its folder, or npm\'s install folder) cannot be written by this user.' },
  TET_ERR_UPGRADE_NO_VERSION: { status: 404, exit: ExitCode.dataError, summary: 'The release index or the registry has no such version (or none for this platform).' },
  TET_ERR_UPGRADE_CONFIG: { status: 500, exit: ExitCode.config, summary: '`tetora upgrade` does not know where releases come from, or the release index is malformed.' },
  TET_ERR_UPGRADE_NPM: { status: 500, exit: ExitCode.failure, summary: 'npm failed to look up or install the new version.' },
  TET_ERR_UPGRADE_NO_ROLLBACK: { status: 404, exit: ExitCode.dataError, summary: '`tetora upgrade --rollback` found no previous executable to go back to.' },
  TET_ERR_UPGRADE_RESTART: { status: 500, exit: ExitCode.tempFail, summary: 'The running daemon could not be restarted on the new version (it refused the handover or the new one did not come up).' },
  TET_ERR_UPGRADE_UNSUPPORTED: { status: 400, exit: ExitCode.usage, summary: 'This installation cannot upgrade itself (a source checkout, or an unknown layout).' },
  TET_ERR_BACKUP_FAILED: { status: 500, exit: ExitCode.ioError, summary: '`tetora backup` could not read the home or write the archive.' },
  TET_ERR_RESTORE_INVALID: { status: 400, exit: ExitCode.dataError, summary: 'The archive given to `tetora restore` is not a Tetora backup, is damaged (a checksum, the manifest or the database\'s integrity check fails) or needs a newer Tetora; nothing was changed.' },
  TET_ERR_RESTORE_TARGET_EXISTS: { status: 409, exit: ExitCode.cantCreate, summary: '`tetora restore` would replace an existing database; pass --force (what it replaces is kept).' },
  TET_ERR_SERVICE: { status: 500, exit: ExitCode.unavailable, summary: 'The service manager (systemd --user or launchd) is missing, refused a command, or the platform has none Tetora supports.' },
  TET_ERR_LOG_NOT_FOUND: { status: 404, exit: ExitCode.dataError, summary: 'The daemon has written no log file yet at `$TETORA_HOME/logs/tetora.log`.' },
  TET_ERR_WORKFLOW_FILE_ESCAPE: { status: 409, exit: ExitCode.dataError, summary: 'A file of the workflow folder is a symlink leading outside the folder; it was neither read nor written.' },
  TET_ERR_OUTBOUND_REFUSED: { status: 403, exit: ExitCode.failure, summary: 'A workflow `http` tool call or `notify` webhook was refused before connecting: its URL (or a redirect, or what its host name resolves to) is a link-local, cloud-metadata or otherwise forbidden address.' },
  TET_ERR_RUNS_DISK_FULL: { status: 503, exit: ExitCode.tempFail, summary: "The disk holding the runs' spool folders (runtime/runs in the home) is full: runs cannot start and new work is refused until it has room again." },
  TET_ERR_RUNS_DISK_READONLY: { status: 503, exit: ExitCode.tempFail, summary: "The disk holding the runs' spool folders (runtime/runs in the home) is read-only: runs cannot start and new work is refused until it is writable again." },
  TET_ERR_PROMPT_TOO_LARGE: { status: 413, exit: ExitCode.usage, summary: "A task's prompt is larger than its provider's maxPromptBytes." },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export class TetoraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TetoraError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.exitCode = errorCatalog[code].exit;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isTetoraError(err: unknown): err is TetoraError {
  return err instanceof TetoraError;
}

/** Message of any thrown value, never empty. */
export function messageOf(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  const s = String(err ?? '');
  return s.length > 0 ? s : 'unknown error (no message was given)';
}
