/**
 * Splitting a reply into Discord messages (pure). A message holds at most 2,000 UTF-16 code units. A cut
 * never splits a grapheme cluster (so never a surrogate pair, an emoji with joiners, a flag or a letter and
 * its combining marks); it falls after a line break when the window has one, else after a space, else
 * between two graphemes. A code fence open at a cut is closed at the end of that chunk and reopened, with
 * its opening line (language included), at the start of the next; those added lines count inside the limit.
 * No chunk is ever longer than the limit: a fence line longer than half the limit is reopened with its
 * backticks alone, and a fence of more backticks than fit twice in a chunk is not closed and reopened.
 */

export const DISCORD_MESSAGE_LIMIT = 2000;

/** One message of a split text: `content` = `prefix` + `body` + `suffix`; the bodies joined give the text back. */
export interface Piece {
  content: string;
  /** A fence line reopened from the previous chunk (with its newline), or ''. */
  prefix: string;
  /** The part of the original text this chunk carries. */
  body: string;
  /** A fence close added because a fence was open at the cut (or at the end of the text), or ''. */
  suffix: string;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** A backtick fence line (CommonMark: up to 3 spaces, 3+ backticks, an info string without backticks). */
const FENCE = /^ {0,3}(`{3,})([^`]*)$/;

interface Fence {
  /** The opening line, as written (e.g. "```ts"). */
  line: string;
  /** Its backtick count: a closing line needs at least as many. */
  ticks: number;
}

/** The fence state after reading `line` (one line, no newline) while `open` was open (or none). */
function step(open: Fence | null, line: string): Fence | null {
  const m = FENCE.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
  if (!m) return open;
  const ticks = (m[1] as string).length;
  if (!open) return { line: line.endsWith('\r') ? line.slice(0, -1) : line, ticks };
  // A closing fence has no info string and at least as many backticks.
  return (m[2] as string).trim() === '' && ticks >= open.ticks ? null : open;
}

/** The fence still open at the end of `text` (every line of it read as complete), or null. */
export function openFenceAtEnd(text: string, start: Fence | null = null): Fence | null {
  let open = start;
  for (const line of text.split('\n')) open = step(open, line);
  return open;
}

/**
 * Code-unit offsets where a grapheme cluster ends, between `from` (itself a boundary) and `to`, ascending.
 * Segmenting a window, not the whole text: ICU's segmenter slows down on long strings (seconds for 50,000
 * characters), and a boundary depends only on what precedes it back to the previous boundary and on the
 * next code point, so the window runs a few code units past `to` and its last, maybe cut, cluster is dropped.
 */
function graphemeEnds(text: string, from: number, to: number): number[] {
  const stop = Math.min(text.length, to + 8);
  const ends: number[] = [];
  for (const s of segmenter.segment(text.slice(from, stop))) {
    const end = from + s.index + s.segment.length;
    if (end > to || (end === stop && stop < text.length)) break;
    ends.push(end);
  }
  return ends;
}

/**
 * Where to cut `text` between `from` and at most `max` (exclusive end of this chunk's body), at a grapheme
 * boundary. Prefers the last line break in the second half of the window, then the last space
 * there, then the last line break or space anywhere, then the last grapheme boundary. Never inside a fence
 * line (a cut there would break the fence), unless that line alone fills the window. Returns > from.
 */
function cutAt(text: string, from: number, max: number): number {
  const ends = graphemeEnds(text, from, max);
  const hi = ends.length - 1;
  let lastNl = -1;
  let lastSp = -1;
  for (let i = hi; i >= 0 && (lastNl < 0 || lastSp < 0); i--) {
    const end = ends[i] as number;
    const prevEnd = i > 0 ? (ends[i - 1] as number) : from;
    const seg = text.slice(prevEnd, end);
    if (lastNl < 0 && seg.endsWith('\n')) lastNl = end;
    if (lastSp < 0 && (seg === ' ' || seg === '\t')) lastSp = end;
  }
  const half = from + (max - from) / 2;
  let cut: number;
  if (lastNl > half) cut = lastNl;
  else if (lastSp > half) cut = lastSp;
  else if (lastNl > from) cut = lastNl;
  else if (lastSp > from) cut = lastSp;
  else if (hi >= 0) cut = ends[hi] as number;
  else {
    // One grapheme longer than the whole window (thousands of combining marks): the limit wins; cut between
    // code points (never inside a surrogate pair).
    cut = max;
    const c = text.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff && cut - 1 > from) cut -= 1;
    return cut;
  }
  // A cut inside a line: if that line is a fence line, cut before the line instead.
  if (cut > from && text[cut - 1] !== '\n') {
    const lineStart = text.lastIndexOf('\n', cut - 1) + 1;
    const nl = text.indexOf('\n', cut);
    const line = text.slice(lineStart, nl < 0 ? text.length : nl);
    if (FENCE.test(line.replace(/\r$/, '')) && lineStart > from) cut = lineStart;
  }
  return cut;
}

function closeFor(f: Fence, body: string): string {
  return (body.endsWith('\n') || body === '' ? '' : '\n') + '`'.repeat(f.ticks);
}

/** Split `text` into messages of at most `limit` code units (see the module's comment). */
export function splitMessage(text: string, limit: number = DISCORD_MESSAGE_LIMIT, maxPieces = Infinity): Piece[] {
  if (text === '') return [];
  const pieces: Piece[] = [];
  let from = 0;
  let open: Fence | null = null;
  // A fence too wide to close and reopen inside one chunk (more than half the limit in backticks) is carried
  // as plain text; a fence line too long to repeat with room left for text is reopened with its backticks alone.
  const carried = (f: Fence | null): Fence | null => (f && 2 * f.ticks + 3 <= limit ? f : null);
  const reopen = (f: Fence): string => (f.line.length + f.ticks + 2 <= limit / 2 ? f.line : '`'.repeat(f.ticks));
  while (from < text.length && pieces.length < maxPieces) {
    const carry = carried(open);
    const prefix = carry ? `${reopen(carry)}\n` : '';
    let budget = limit - prefix.length;
    for (;;) {
      if (budget < 1) budget = 1;
      let end: number;
      if (from + budget >= text.length) end = text.length;
      else end = cutAt(text, from, from + budget);
      const body = text.slice(from, end);
      const after = openFenceAtEnd(body, open);
      const close = carried(after);
      const suffix = close ? closeFor(close, body) : '';
      const content = prefix + body + suffix;
      if (content.length <= limit || budget === 1) {
        pieces.push({ content, prefix, body, suffix });
        from = end;
        open = after;
        break;
      }
      budget -= content.length - limit;
    }
  }
  return pieces;
}

/** One message of a reply's plan: its text, and the name of a file carrying the whole reply when it has one. */
export interface PlannedChunk {
  content: string;
  attachment: string | null;
}

/** The file name of the attachment carrying a whole reply: `answer-<first 8 of the task id>.md`. */
export function attachmentName(taskId: string | null, outboxId: number): string {
  return taskId ? `answer-${taskId.slice(0, 8)}.md` : `answer-${outboxId}.md`;
}

/**
 * The messages that carry `text`: its chunks when there are at most `maxChunks`; otherwise one message
 * with the first chunk, a line saying how long the whole answer is, and the whole text attached as
 * `fileName` (its content is the outbox row's body). Nothing is cut silently. Empty text: one line saying so.
 */
export function planReply(text: string, opts: { maxChunks: number; fileName: string; limit?: number }): PlannedChunk[] {
  const limit = opts.limit ?? DISCORD_MESSAGE_LIMIT;
  if (text.trim() === '') return [{ content: '(the reply is empty)', attachment: null }];
  const max = Math.max(1, opts.maxChunks);
  // Split no further than one chunk past the limit: beyond it the reply goes as a file anyway.
  const pieces = splitMessage(text, limit, max + 1);
  if (pieces.length <= max) return pieces.map((p) => ({ content: p.content, attachment: null }));
  const note = `\n\n… the full answer is ${text.length.toLocaleString('en-US')} characters, more than ${max} messages: it is attached whole as ${opts.fileName}.`;
  const first = splitMessage(text, limit - note.length, 1)[0] as Piece;
  return [{ content: first.content + note, attachment: opts.fileName }];
}
