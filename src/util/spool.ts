import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';

/**
 * The layout of a run's spool folder (`$TETORA_HOME/runtime/runs/<taskId>/<run>/`), shared by the launcher
 * that writes it and the engine that reads it:
 *   stdin   the prompt (absent: the agent's stdin is /dev/null)
 *   stdout  everything the agent printed on stdout, as written
 *   stderr  the same for stderr
 *   started written by the launcher once it got its go, just before it starts the agent
 *   exit    the agent's exit status, one line, written by the launcher when the agent ended
 *   request.json  what the runner chose for the run (session to resume, usage reading), for a daemon that re-attaches
 */
export const spoolFiles = { stdin: 'stdin', stdout: 'stdout', stderr: 'stderr', exit: 'exit', started: 'started', request: 'request.json' } as const;

export function spoolPath(dir: string, file: keyof typeof spoolFiles): string {
  return join(dir, spoolFiles[file]);
}

export interface ExitStatus {
  /** Exit code, or null when the agent was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Parse the launcher's `exit` file: a shell status; 129–192 is death by signal N−128. Pure. */
export function parseExitStatus(text: string): ExitStatus | undefined {
  // The launcher writes the line in one go; a file without its newline is still being written.
  if (!text.endsWith('\n')) return undefined;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (n > 128 && n <= 128 + 64) {
    const name = Object.entries(constants.signals).find(([, v]) => v === n - 128)?.[0];
    if (name) return { code: null, signal: name as NodeJS.Signals };
  }
  return { code: n, signal: null };
}

/** The agent's exit status if the launcher recorded it (the agent has ended), else undefined. */
export function readExitStatus(dir: string): ExitStatus | undefined {
  try {
    return parseExitStatus(readFileSync(spoolPath(dir, 'exit'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Did the launcher get its go (the agent may have started)? */
export function spoolStarted(dir: string): boolean {
  return existsSync(spoolPath(dir, 'started'));
}

/** Remove a run's spool folder, and its task's folder once no run of it is left there. */
export function removeSpool(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(dir));
  } catch {
    /* other runs of the task are still there, or it is gone */
  }
}
