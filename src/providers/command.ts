import type { ResolvedProvider } from '../config/types.js';
import type { EventSink, Outcome, ProviderAdapter, RunRequest } from '../engine/provider.js';
import { tail } from './classify.js';
import { spawnGroup } from './spawn.js';
import { TASK_MARKER } from '../util/procgroup.js';
import { MAX_EVENT_STRING } from '../engine/shorten.js';

/**
 * The `command` provider: any executable that reads the prompt on stdin and writes its answer on stdout.
 * Exit 0 → success with stdout. A non-zero exit is `permanent` with the tail of stderr, unless the
 * provider's `rateLimitPatterns` or `transientPatterns` match stderr or stdout. A `Retry-After: N` (seconds)
 * or `Reset-At: <ISO time or epoch ms>` line in the output gives the wait.
 *
 * The child also gets TETORA_TASK_ID, TETORA_ATTEMPT, TETORA_MODEL, TETORA_SESSION_KEY,
 * TETORA_SESSION_ID (the session to continue, if any) and TETORA_WORKDIR in its environment.
 */
export function classifyCommandExit(
  provider: Pick<ResolvedProvider, 'transientPatterns' | 'rateLimitPatterns'>,
  exitCode: number | null,
  text: string,
  now: number,
): Pick<Outcome, 'class' | 'retryAfterMs' | 'resetAt'> {
  // A run that exited 0 succeeded, whatever its answer says (an answer may well mention "429").
  if (exitCode === 0) return { class: 'success' };
  const retryAfter = /retry-after[:=\s]+(\d+(?:\.\d+)?)/i.exec(text);
  const resetAt = /reset-at[:=\s]+(\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?|\S+)/i.exec(text);
  const extras: Pick<Outcome, 'retryAfterMs' | 'resetAt'> = {};
  if (retryAfter) extras.retryAfterMs = Math.round(Number(retryAfter[1]) * 1000);
  if (resetAt) {
    const raw = resetAt[1] as string;
    const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (Number.isFinite(t)) extras.resetAt = t;
  }
  if (provider.rateLimitPatterns.some((p) => new RegExp(p, 'i').test(text))) {
    if (extras.resetAt === undefined && extras.retryAfterMs !== undefined) extras.resetAt = now + extras.retryAfterMs;
    return { class: 'rate_limited', ...extras };
  }
  if (provider.transientPatterns.some((p) => new RegExp(p, 'i').test(text))) return { class: 'transient', ...extras };
  return { class: 'permanent' };
}

export class CommandProvider implements ProviderAdapter {
  readonly type = 'command';
  constructor(
    private readonly cfg: ResolvedProvider,
    private readonly now: () => number = Date.now,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  async run(req: RunRequest, signal: AbortSignal, sink: EventSink): Promise<Outcome> {
    const env: Record<string, string> = {
      ...req.env,
      ...this.cfg.env,
      [TASK_MARKER]: req.taskId,
      TETORA_ATTEMPT: String(req.attempt),
      TETORA_WORKDIR: req.workdir,
    };
    if (req.model) env.TETORA_MODEL = req.model;
    if (req.sessionKey) env.TETORA_SESSION_KEY = req.sessionKey;
    if (req.resumeSessionId) env.TETORA_SESSION_ID = req.resumeSessionId;
    const res = await spawnGroup({
      command: this.cfg.path as string,
      args: this.cfg.args,
      cwd: req.workdir,
      env,
      stdin: req.systemPrompt ? `${req.systemPrompt}\n\n${req.prompt}` : req.prompt,
      signal,
      ...(req.spool ? { spool: req.spool } : {}),
      // The output comes whole from the spool file: events need no more of a line than the event log keeps.
      maxLineBytes: MAX_EVENT_STRING,
      onStdoutLine: (line, cut) => sink.event({ type: 'text', data: cut ? { text: `${line}…`, truncated: { text: cut.bytes } } : { text: line } }),
      onStderrLine: (line, cut) => sink.event({ type: 'stderr', data: cut ? { text: `${line}…`, truncated: { text: cut.bytes } } : { text: line } }),
    });
    if (res.spawnError) {
      return { class: 'permanent', output: '', message: `${res.spawnError}. Check providers.${this.name}.path in the config.` };
    }
    // stdout as written, less the one line ending that closes it.
    const output = res.stdoutFile ? res.stdout : res.stdout.replace(/\r?\n$/, '');
    const file = res.stdoutFile ? { outputFile: res.stdoutFile } : {};
    if (res.aborted) return { class: 'cancelled', output, ...file, message: 'the run was stopped' };
    const cls = classifyCommandExit(this.cfg, res.code, `${res.stderrTail}\n${res.stdout}`, this.now());
    if (res.code === 0 && cls.class === 'success') {
      const outcome: Outcome = { class: 'success', output, ...file };
      if (req.resumeSessionId) outcome.sessionId = req.resumeSessionId;
      else if (req.sessionKey) outcome.sessionId = `${this.name}:${req.taskId}`;
      return outcome;
    }
    const how = res.code === null ? `was killed by ${res.signal ?? 'a signal'}` : `exited with code ${res.code}`;
    const detail = tail(res.stderrTail) || tail(output) || '(it printed nothing)';
    return { ...cls, class: cls.class === 'success' ? 'permanent' : cls.class, output, ...file, message: `${this.cfg.path} ${how}: ${detail}` };
  }
}
