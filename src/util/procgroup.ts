import { readdirSync, readFileSync } from 'node:fs';

/** Process groups on Linux: signal, probe and find members. */

/** Signal a whole process group; false when it is already gone. */
export function killGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** The pids in /proc (empty when /proc cannot be read). */
function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** Live (non-zombie) members of a process group, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of allPids()) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state is 1st, pgrp is 3rd.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') out.push(Number(name));
    } catch {
      /* the process ended while we looked */
    }
  }
  return out;
}

/** Is any process of the group still alive (zombies excepted)? */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return groupMembers(pgid).length > 0;
}

/** The variable every process of a task carries (its value: the task id), so a group can be proven to be the task's. */
export const TASK_MARKER = 'TETORA_TASK_ID';

/** Is `pgid` still the task's process group (a live member carries the task's marker), not a reused id? */
export function isTaskGroup(pgid: number, taskId: string): boolean {
  return groupHasMarker(pgid, TASK_MARKER, taskId);
}

/** Does any live member of the group carry `KEY=value` in its environment (our marker of a task's children)? */
export function groupHasMarker(pgid: number, key: string, value: string): boolean {
  // The usual case, a group already gone, costs one system call instead of a walk of /proc.
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return groupMembers(pgid).some((pid) => envOf(pid, key) === value);
}

/** SIGTERM the group, wait up to `graceMs`, then SIGKILL. Resolves when the group is gone or after the kill. */
export async function terminateGroup(pgid: number, graceMs = 3000): Promise<void> {
  if (!killGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (!groupAlive(pgid)) return;
  }
  killGroup(pgid, 'SIGKILL');
}

/** When a process started (epoch ms, from /proc), or undefined when it is gone or unreadable. */
export function processStartedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 (starttime), counted after the command name
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * The variable that marks every process of a run, whatever group or session it moved to:
 * `TETORA_RUN=<homeId>/<taskId>/<run>`. The home id names the store (its family of daemons), so a sweep
 * never touches another home's runs.
 */
export const RUN_MARKER = 'TETORA_RUN';

export function runMarker(homeId: string, taskId: string, run: number): string {
  return `${homeId}/${taskId}/${run}`;
}

/** A process still running (not a zombie)? */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The value of `key` in a process's environment (as it was at exec), or undefined. */
export function envOf(pid: number, key: string): string | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const needle = Buffer.from(`${key}=`);
  let at = buf.indexOf(needle);
  while (at > 0 && buf[at - 1] !== 0) at = buf.indexOf(needle, at + 1);
  if (at < 0) return undefined;
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at + needle.length, end < 0 ? buf.length : end);
}

/** Live processes whose run marker satisfies `match` (read from /proc; this process excepted). */
export function markedProcesses(match: (marker: string) => boolean): Array<{ pid: number; marker: string }> {
  const out: Array<{ pid: number; marker: string }> = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const marker = envOf(pid, RUN_MARKER);
    if (marker !== undefined && match(marker) && processAlive(pid)) out.push({ pid, marker });
  }
  return out;
}

/**
 * Kill every live process whose run marker satisfies `match`: SIGTERM, up to `graceMs` for them to go,
 * then SIGKILL for what is left (found again, so a new process a survivor started is caught too).
 * Resolves with the pids signalled.
 */
export async function killMarked(match: (marker: string) => boolean, graceMs = 3000): Promise<number[]> {
  const first = markedProcesses(match);
  if (first.length === 0) return [];
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  for (const p of first) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = markedProcesses(match);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = markedProcesses(match);
  }
  // Until none is left: a survivor may fork while we kill.
  for (let i = 0; i < 10 && left.length > 0; i++) {
    for (const p of left) signal(p.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
    left = markedProcesses(match);
  }
  return [...new Set([...first.map((p) => p.pid), ...left.map((p) => p.pid)])];
}

/** Is `pid` still the launcher of the run `marker` (alive, and carrying the run's marker: not a reused pid)? */
export function launcherAlive(pid: number, marker: string): boolean {
  return processAlive(pid) && envOf(pid, RUN_MARKER) === marker;
}

/**
 * Stop a run: SIGTERM its process group and every process carrying its marker, SIGKILL what is left after
 * `graceMs`. The group is signalled only while a member still carries the marker, so a reused process
 * group id is never hit.
 */
export async function stopRun(pgid: number, marker: string, graceMs: number): Promise<void> {
  const group = groupHasMarker(pgid, RUN_MARKER, marker) ? terminateGroup(pgid, graceMs) : Promise.resolve();
  await Promise.all([group, killMarked((m) => m === marker, graceMs)]);
}
