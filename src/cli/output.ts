import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Writing the CLI's output with backpressure. A pipe into a slow reader (`| less`, `| (sleep 10; wc -l)`)
 * takes data only as fast as it is read; what `write` cannot hand over at once waits in the process's
 * memory, so a command that prints a large stream waits for 'drain' whenever `write` says so.
 */

/**
 * Writes `chunk` to `stream` (stdout by default). Returns undefined when the stream takes more at once,
 * else a promise that resolves once it has drained (and rejects if it fails meanwhile, e.g. EPIPE).
 */
export function writeOut(chunk: string | Uint8Array, stream: Writable = process.stdout): Promise<void> | undefined {
  if (stream.write(chunk)) return undefined;
  return once(stream, 'drain').then(() => undefined);
}

/** Writes every chunk of `source` to `stream`, waiting for 'drain' when it asks; returns the last byte written (or undefined). */
export async function pipeOut(source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, stream: Writable = process.stdout): Promise<number | undefined> {
  let lastByte: number | undefined;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    lastByte = typeof chunk === 'string' ? chunk.charCodeAt(chunk.length - 1) : chunk[chunk.length - 1];
    const wait = writeOut(chunk, stream);
    if (wait) await wait;
  }
  return lastByte;
}

/**
 * What a failed write to stdout means. EPIPE: the reader went away (`tetora task logs ID | head -2`),
 * which ends a command normally — exit 0, nothing on stderr. A daemon (`tetora serve`) keeps running:
 * its stdout is not where its work goes. Anything else: one line on stderr and exit 74 (EX_IOERR).
 */
export function stdoutErrorAction(err: NodeJS.ErrnoException, daemon: boolean): { exit?: number; message?: string } {
  if (daemon) return {};
  if (err.code === 'EPIPE') return { exit: 0 };
  return { exit: 74, message: `tetora: cannot write to stdout (${err.code ?? err.message}); check where the output goes (a full disk, a closed terminal).\n` };
}
