/**
 * Run the built CLI (`node bin/tetora.js`, which imports dist/) as a child process against a throwaway
 * TETORA_HOME. `npm test` builds first (pretest); by hand, run `npm run build` before the tests.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const binPath = join(repoRoot, 'bin', 'tetora.js');
/** Where the pinned `claude` and `codex` CLIs (devDependencies) live. */
export const nodeModulesBin = join(repoRoot, 'node_modules', '.bin');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  /** The temp folder that holds everything below; removed by `cleanup()`. */
  root: string;
  /** TETORA_HOME (not created: `tetora init` or the test creates it). */
  home: string;
  /** HOME for the child: the real CLIs write caches under it, so it must not be the user's. */
  userHome: string;
  /** The environment every `run` starts from. */
  env: Record<string, string>;
  run(args: string[], opts?: RunOptions): Promise<CliResult>;
  cleanup(): void;
}

export interface RunOptions {
  /** Merged over the sandbox environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin (which is a pipe, never a TTY); default: nothing. */
  input?: string;
  cwd?: string;
  /** @default 60000 */
  timeoutMs?: number;
}

/** PATH with `node_modules/.bin` first, so the pinned `claude` and `codex` are found. */
export function pathWithClis(base: string = process.env.PATH ?? ''): string {
  return [nodeModulesBin, ...base.split(delimiter).filter((d) => d !== nodeModulesBin)].join(delimiter);
}

/** PATH without any folder that holds one of `names` (e.g. `claude`, `codex`), to test "not installed". */
export function pathWithout(names: string[], base: string = process.env.PATH ?? ''): string {
  return base
    .split(delimiter)
    .filter((dir) => dir !== '' && !names.some((n) => existsSync(join(dir, n))))
    .join(delimiter);
}

/**
 * A PATH that holds only `tools` (symlinks in `dir`, which is created, to where the current PATH finds
 * them): for "X is not installed" tests that must not lose git or script along with X.
 */
export function pathWithOnly(tools: string[], dir: string, base: string = process.env.PATH ?? ''): string {
  mkdirSync(dir, { recursive: true });
  for (const tool of tools) {
    const found = base
      .split(delimiter)
      .filter((d) => d !== '')
      .map((d) => join(d, tool))
      .find((p) => existsSync(p));
    if (!found) throw new Error(`${tool} is not on PATH`);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

function assertBuilt(): void {
  const main = join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before these tests (\`npm test\` does it for you)`);
}

/** Run `node bin/tetora.js <args>` with exactly `env`. */
export function runCli(args: string[], env: Record<string, string>, opts: Omit<RunOptions, 'env'> = {}): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: opts.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tetora ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * A fresh sandbox: TETORA_HOME, HOME, CLAUDE_CONFIG_DIR and CODEX_HOME under one temp folder, the pinned
 * CLIs on PATH, and none of the caller's TETORA_* variables.
 */
export function makeSandbox(prefix = 'tetora-test-'): Sandbox {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const userHome = join(root, 'user');
  mkdirSync(userHome, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TETORA_')) env[k] = v;
  Object.assign(env, {
    TETORA_HOME: join(root, 'home'),
    HOME: userHome,
    CLAUDE_CONFIG_DIR: join(userHome, '.claude'),
    CODEX_HOME: join(userHome, '.codex'),
    PATH: pathWithClis(),
    NO_COLOR: '1',
  });
  return {
    root,
    home: env.TETORA_HOME as string,
    userHome,
    env,
    run(args, opts = {}) {
      const merged: Record<string, string> = { ...env };
      for (const [k, v] of Object.entries(opts.env ?? {})) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
      }
      return runCli(args, merged, opts);
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A loopback port that was free a moment ago (for `--listen 127.0.0.1:<port>`). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Write files under `dir` (folders created as needed): strings as given, anything else as pretty JSON.
 * Returns `dir`.
 */
export function writeTree(dir: string, files: Record<string, unknown>): string {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  return dir;
}

export interface TtyStep {
  /** Text the program prints (a prompt) that must appear before `send` is typed. */
  expect: string;
  /** What the user types; `\r` (Enter) is added unless `raw`. */
  send: string;
  raw?: boolean;
}

/**
 * Run `node bin/tetora.js <args>` on a real pseudo-terminal (util-linux `script`, present on every
 * Debian), typing each step's answer once its prompt has appeared. The output is the terminal's
 * (stdout and stderr together, with `\r\n` line ends and cursor escapes).
 */
export function runOnTty(args: string[], env: Record<string, string>, steps: TtyStep[], opts: { timeoutMs?: number } = {}): Promise<{ code: number; output: string }> {
  assertBuilt();
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, binPath, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const pending = [...steps];
    let output = '';
    let seen = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      for (let step = pending[0]; step; step = pending[0]) {
        const at = output.indexOf(step.expect, seen);
        if (at < 0) break;
        seen = at + step.expect.length;
        pending.shift();
        child.stdin.write(step.raw ? step.send : `${step.send}\r`);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tetora ${args.join(' ')} on a terminal did not finish within ${opts.timeoutMs ?? 60_000} ms; still waiting for ${JSON.stringify(pending[0]?.expect)}\noutput: ${output}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending.length > 0) {
        reject(new Error(`tetora ${args.join(' ')} ended (code ${code ?? signal}) before asking ${JSON.stringify(pending[0]?.expect)}\noutput: ${output}`));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
    child.stdin.on('error', () => {});
  });
}
