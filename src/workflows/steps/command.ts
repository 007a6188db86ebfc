import { spawn } from 'node:child_process';

export interface CommandResult {
  ok: boolean;
  output: string;
  error?: string;
  timedOut?: boolean;
}

/**
 * Run `command` (with `args`: no shell; without: through `/bin/sh -c`) in `cwd`, in a process group of
 * its own so a cancel or timeout kills whatever it started. Resolves with its whole stdout (decoded once,
 * so multi-byte characters split across reads stay whole); a non-zero exit is a failure naming the code
 * and the tail of stderr. Never rejects.
 */
export function runCommand(opts: { command: string; args?: string[]; cwd: string; timeoutMs: number; signal: AbortSignal; env?: Record<string, string> }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const argv = opts.args && opts.args.length > 0 ? { file: opts.command, args: opts.args } : { file: '/bin/sh', args: ['-c', opts.command] };
    let child;
    try {
      child = spawn(argv.file, argv.args, { cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    } catch (err) {
      resolve({ ok: false, output: '', error: `cannot start ${opts.command}: ${(err as Error).message}` });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      err.push(b);
      while (errBytes > 64 * 1024 && err.length > 1) errBytes -= (err.shift() as Buffer).length;
    });
    let timedOut = false;
    let stopped = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, Math.max(1, opts.timeoutMs));
    const onAbort = () => {
      stopped = true;
      kill();
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, output: '', error: `cannot start ${opts.command}: ${e.message}; check the command and the run's workdir (${opts.cwd})` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      const output = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-10).join('\n');
      if (timedOut) return resolve({ ok: false, output, timedOut: true, error: `${opts.command} did not finish within ${opts.timeoutMs} ms and was killed` });
      if (stopped) return resolve({ ok: false, output, error: `${opts.command} was stopped` });
      if (code === 0) return resolve({ ok: true, output });
      const how = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited with code ${code}`;
      resolve({ ok: false, output, error: `${opts.command} ${how}${stderr ? `: ${stderr}` : ''}` });
    });
  });
}
