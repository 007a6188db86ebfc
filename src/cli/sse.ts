/** Incremental Server-Sent Events parsing (pure: text in, messages out). */

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

const LF = 10;
const CR = 13;

/**
 * Incremental Server-Sent Events parser: feed text chunks, get complete messages. Linear in the input:
 * each chunk is searched once for line ends (from where the last search stopped), the pieces of a line
 * that spans chunks are kept in an array and joined once, when its line end arrives. Line ends may be
 * LF, CRLF or a bare CR, and a CRLF may be split across chunks.
 */
export class SseParser {
  /** Pieces of the line not yet ended. */
  #parts: string[] = [];
  /** The previous chunk ended with a CR: an LF starting the next chunk belongs to it. */
  #afterCr = false;
  #id: string | undefined;
  #event = '';
  #data: string[] = [];

  feed(chunk: string): SseMessage[] {
    const out: SseMessage[] = [];
    let start = 0;
    if (this.#afterCr) {
      this.#afterCr = false;
      if (chunk.charCodeAt(0) === LF) start = 1;
    }
    // Next CR and LF at or after `start`, each found by a search that resumes where the last one stopped
    // (-1: none left in this chunk), so the chunk is scanned once whatever the number of lines in it.
    let nextLf = -2;
    let nextCr = -2;
    for (;;) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf('\n', start);
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf('\r', start);
      const end = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      if (end < 0) {
        if (start < chunk.length) this.#parts.push(start === 0 ? chunk : chunk.slice(start));
        return out;
      }
      let line = chunk.slice(start, end);
      if (this.#parts.length > 0) {
        this.#parts.push(line);
        line = this.#parts.join('');
        this.#parts = [];
      }
      this.#line(line, out);
      if (chunk.charCodeAt(end) === CR) {
        if (end + 1 === chunk.length) this.#afterCr = true;
        start = chunk.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
    }
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      // A blank line ends the message (a block with neither data nor id is dropped).
      if (this.#data.length > 0 || this.#id !== undefined) {
        const msg: SseMessage = { event: this.#event || 'message', data: this.#data.join('\n') };
        if (this.#id !== undefined) msg.id = this.#id;
        out.push(msg);
      }
      this.#id = undefined;
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return; // a comment (heartbeats)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'id' && field !== 'event' && field !== 'data') return; // retry and unknown fields
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'id') this.#id = value;
    else if (field === 'event') this.#event = value;
    else this.#data.push(value);
  }
}
