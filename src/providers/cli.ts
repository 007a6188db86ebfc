import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ResolvedProvider } from '../config/types.js';
import type { AbortReason, EventSink, ProviderEvent, RunRequest } from '../engine/provider.js';
import { BoundedLines, redactSecrets } from './classify.js';
import { spawnGroup, type SpawnResult } from './spawn.js';
import { TASK_MARKER } from '../util/procgroup.js';

/**
 * Running a coding CLI that prints one JSON event per line (claude stream-json, codex --json): the child
 * gets its own process group, the prompt on stdin (then stdin is closed), and every JSON line goes to
 * `onEvent`. Lines that are not JSON and stderr are kept, bounded, for error messages.
 */
export interface CliRun {
  result: SpawnResult;
  /** Non-JSON stdout lines plus the stderr tail, secrets removed. */
  rawText: string;
}

export async function runJsonLines(
  cfg: ResolvedProvider,
  opts: { args: string[]; env: Record<string, string>; stdin: string; req: RunRequest; signal: AbortSignal; sink: EventSink; onEvent(e: Record<string, unknown>): void },
): Promise<CliRun> {
  const raw = new BoundedLines();
  const stderr = new BoundedLines();
  const secrets = cliSecrets(cfg, opts.env);
  const result = await spawnGroup({
    command: cfg.path as string,
    args: opts.args,
    cwd: opts.req.workdir,
    env: opts.env,
    stdin: opts.stdin,
    signal: opts.signal,
    ...(opts.req.spool ? { spool: opts.req.spool } : {}),
    stderrKeep: 16 * 1024,
    keepStdout: false,
    onStdoutLine: (line) => {
      // Every line is a sign of life, event or not (the no-output watchdog).
      opts.sink.alive?.();
      if (!line.trim()) return;
      // Keys can reach any line (a tool result that printed the environment): removed before parsing.
      const clean = redactSecrets(line, secrets);
      let parsed: unknown;
      try {
        parsed = JSON.parse(clean);
      } catch {
        parsed = undefined;
      }
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        opts.onEvent(parsed as Record<string, unknown>);
        return;
      }
      raw.push(clean);
      opts.sink.event({ type: 'raw', data: { text: clean.slice(0, 2000) } });
    },
    onStderrLine: (line) => {
      opts.sink.alive?.();
      if (!line.trim()) return;
      const clean = redactSecrets(line, secrets);
      stderr.push(clean);
      opts.sink.event({ type: 'stderr', data: { text: clean.slice(0, 2000) } });
    },
  });
  const rawText = [raw.empty ? '' : raw.text(), stderr.empty ? '' : stderr.text()].filter(Boolean).join('\n');
  return { result, rawText };
}

/** The secrets a CLI run may print: the config's key and every key-like variable of the child's environment. */
export function cliSecrets(cfg: Pick<ResolvedProvider, 'apiKey'>, env: Record<string, string | undefined>): string[] {
  const out: string[] = cfg.apiKey ? [cfg.apiKey] : [];
  for (const [k, v] of Object.entries(env)) if (v && /KEY|TOKEN|SECRET|PASSWORD/i.test(k)) out.push(v);
  return out;
}

/**
 * A sink that holds the `session` event back until the model has produced something (text, a tool call):
 * a run that failed before any work then pins no session, so its retry starts clean instead of resuming
 * a conversation that already holds the prompt once.
 */
export function holdSession(sink: EventSink): EventSink {
  let held: ProviderEvent | undefined;
  return {
    ...sink,
    event: (e) => {
      if (e.type === 'session') {
        held = e;
        return;
      }
      if (held && (e.type === 'text' || e.type === 'tool_call' || e.type === 'tool_result')) {
        sink.event(held);
        held = undefined;
      }
      sink.event(e);
    },
  };
}

/** The child's environment: process env (+ .env), the provider's `env`, then what the adapter sets unless the config did. */
export function cliEnv(cfg: ResolvedProvider, req: RunRequest, defaults: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { ...req.env };
  for (const [k, v] of Object.entries(defaults)) if (v !== undefined && cfg.env[k] === undefined) env[k] = v;
  return { ...env, ...cfg.env, [TASK_MARKER]: req.taskId };
}

/** Why the engine stopped the run, in words, for the outcome's message. */
export function abortMessage(signal: AbortSignal): string {
  const r = signal.reason as AbortReason | undefined;
  return r && typeof r === 'object' && 'message' in r ? r.message : 'the run was stopped';
}

/** Is `dir` inside a git work tree (a `.git` folder or file in it or a parent)? */
export function inGitRepo(dir: string): boolean {
  let cur = dir;
  for (;;) {
    if (existsSync(join(cur, '.git'))) return true;
    const up = dirname(cur);
    if (up === cur) return false;
    cur = up;
  }
}

/** A spawn failure (ENOENT) as a message that says what to fix. */
export function spawnFailure(cfg: ResolvedProvider, err: string, install: string): string {
  return `${err}. Install it (${install}) or set providers.${cfg.name}.path in the config to the executable.`;
}
