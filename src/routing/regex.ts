/**
 * Rule patterns of smart dispatch, run so that none can hang the daemon.
 *
 * JavaScript's regular expressions backtrack: a pattern such as `(a+)+$` takes exponential time on a
 * long "aaaa…b", and a config may hold any pattern. Node's linear-time engine (`--enable-experimental-
 * regexp_engine`, the `l` flag) needs a V8 flag at process start and refuses back-references; RE2 would
 * be a native dependency. So each pattern runs inside a `node:vm` context with a time limit
 * (`runInContext(..., {timeout})`): V8 interrupts a match that runs past it, and the pattern counts as
 * no match (the caller is told, and says so in the route's reason). One context is made once and reused;
 * compiled patterns are cached inside it.
 */
import { createContext, Script, type Context } from 'node:vm';

/** The outcome of one pattern on one text. */
export type PatternResult = 'match' | 'no-match' | 'timeout';

let context: Context | undefined;
const script = new Script(
  `(() => { const k = flags + '\\u0000' + source; let re = cache.get(k); if (!re) { re = new RegExp(source, flags); cache.set(k, re); } re.lastIndex = 0; return re.test(text); })()`,
  { filename: 'tetora-route-pattern.js' },
);

/** Whether `pattern` (a valid regular expression) matches `text` case-insensitively within `timeoutMs`. */
export function testPattern(pattern: string, text: string, timeoutMs: number): PatternResult {
  context ??= createContext({ cache: new Map<string, unknown>(), source: '', flags: 'i', text: '' });
  context.source = pattern;
  context.flags = 'i';
  context.text = text;
  try {
    return script.runInContext(context, { timeout: Math.max(1, Math.round(timeoutMs)) }) === true ? 'match' : 'no-match';
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  } finally {
    context.text = '';
  }
}

/** Why `pattern` is no valid regular expression, or undefined when it is one. Pure. */
export function patternProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'i');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
