/** The I/O behind `tetora doctor` and `tetora init`: find executables, run `--version`, knock on HTTP endpoints and ports. */
import { accessSync, constants, statSync } from 'node:fs';
import { request } from 'node:http';
import { request as requestTls } from 'node:https';
import { createServer } from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { messageOf } from '../errors.js';
import { spawnGroup } from '../providers/spawn.js';
import type { ProbeOutcome } from './checks.js';

export interface FoundExecutable {
  path: string;
  executable: boolean;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function canExecute(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `command` would run from: a path (anything with a slash) as given, a bare name through `PATH`.
 * Undefined when nothing is there. A file on PATH without the execute bit is skipped, as the shell does.
 */
export function findExecutable(command: string, pathVar: string | undefined): FoundExecutable | undefined {
  if (command.includes('/')) {
    const path = isAbsolute(command) ? command : resolve(command);
    return isFile(path) ? { path, executable: canExecute(path) } : undefined;
  }
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isFile(candidate) && canExecute(candidate)) return { path: candidate, executable: true };
  }
  return undefined;
}

/** Run `<exe> <args>` (default `--version`); ok with the first output line when it exits 0 within `timeoutMs`. */
export async function runVersion(
  exe: string,
  opts: { args?: string[]; env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<ProbeOutcome> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const args = opts.args ?? ['--version'];
  const r = await spawnGroup({
    command: exe,
    args,
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env,
    signal: AbortSignal.timeout(timeoutMs),
    graceMs: 500,
    stderrKeep: 4096,
  });
  const firstLine = (s: string) => s.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  if (r.spawnError) return { ok: false, error: r.spawnError };
  if (r.aborted) return { ok: false, error: `no answer within ${timeoutMs / 1000} s` };
  if (r.code !== 0) {
    const said = firstLine(r.stderrTail) || firstLine(r.stdout);
    return { ok: false, error: `exit ${r.code ?? r.signal}${said ? `: ${said}` : ''}` };
  }
  return { ok: true, output: firstLine(r.stdout) || firstLine(r.stderrTail) || 'exit 0' };
}

/** GET `url`: the HTTP status, or why there was none (connection refused, timeout, …). */
export function httpStatus(url: string, timeoutMs = 2500): Promise<{ status: number } | { error: string }> {
  return new Promise((done) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done({ error: `${url} is not a URL` });
      return;
    }
    const send = target.protocol === 'https:' ? requestTls : request;
    // No keep-alive agent: a probe leaves no connection behind.
    const req = send(target, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      done({ status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code === 'ECONNREFUSED' ? 'connection refused' : messageOf(err) }));
    req.end();
  });
}

/** Any HTTP status counts as an answer; connection errors and timeouts do not. */
export async function httpAnswers(url: string, timeoutMs = 2500): Promise<ProbeOutcome> {
  const r = await httpStatus(url, timeoutMs);
  return 'status' in r ? { ok: true, output: `HTTP ${r.status}` } : { ok: false, error: r.error };
}

/** Whether we could listen on host:port right now (we bind and release at once). */
export function probeBind(host: string, port: number): Promise<'free' | 'in-use' | { error: string }> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code === 'EADDRINUSE' ? 'in-use' : { error: `${err.code ?? 'error'}: ${err.message}` });
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => done('free')));
  });
}

/** Permission bits of a path, or null when it does not exist. */
export function modeOrNull(path: string): number | null {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return null;
  }
}
