/**
 * The single executable in tests: built once per test file by scripts/package.mjs (from dist/, which
 * `npm test` builds first), run as a real process with exactly the environment a test gives it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot, type CliResult } from './cli.js';

export interface SeaBuild {
  out: string;
  bytes: number;
  sha256: string;
  version: string;
  commit: string;
  ms: number;
}

/**
 * Why a single executable cannot be built on this machine (no SEA fuse in this node), or undefined when it
 * can. Only a developer's machine may skip for this: in CI (CI=true) the tests build and fail instead.
 */
export function seaImpossible(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  if (!readFileSync(process.execPath).includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2')) {
    return `${process.execPath} (node ${process.version}) has no single-executable fuse, so postject cannot make an executable from it`;
  }
  return undefined;
}

/** `node scripts/package.mjs --out OUT [--version V]`; resolves with what it printed. */
export function buildSea(out: string, opts: { version?: string } = {}): Promise<SeaBuild> {
  if (!existsSync(join(repoRoot, 'dist', 'sea', 'entry.js'))) throw new Error('dist/sea/entry.js is missing: run `npm run build` first (`npm test` does)');
  const args = [join(repoRoot, 'scripts', 'package.mjs'), '--out', out, ...(opts.version ? ['--version', opts.version] : [])];
  return new Promise((res, rej) => {
    execFile(process.execPath, args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return rej(new Error(`packaging failed: ${stderr || err.message}`));
      const line = stdout.trim().split('\n').at(-1) ?? '';
      res(JSON.parse(line) as SeaBuild);
    });
  });
}

/** Runs `exe args` with exactly `env` in `cwd`; never rejects (the result says what happened). */
export function runExe(exe: string, args: string[], env: Record<string, string>, opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((res) => {
    const child = spawn(exe, args, { env, cwd: opts.cwd ?? env.HOME, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: 127, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** `exe serve --listen 127.0.0.1:0` with TETORA_ANNOUNCE: resolves with the child and its port once it listens. */
export function startServe(exe: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ child: ChildProcess; port: number; logs: string[]; exited: Promise<number | null> }> {
  const child = spawn(exe, [...args, 'serve', '--log-format', 'json', '--listen', '127.0.0.1:0'], { env: { ...env, TETORA_ANNOUNCE: '1' }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('LISTENING ')) res({ child, port: Number(line.slice(10)), logs, exited });
    });
    void exited.then((code) => rej(new Error(`serve exited early with ${code}: ${logs.join('\n')}`)));
  });
}
