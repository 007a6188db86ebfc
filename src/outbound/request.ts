import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { TetoraError } from '../errors.js';
import { checkDestination, DEFAULT_MAX_RESPONSE_BYTES, refusalDetail, type OutboundPolicy, type Refusal } from './address.js';

/**
 * Outbound HTTP to user-given URLs (workflow `http` tool calls, `notify` webhooks), guarded against
 * server-side request forgery (see address.ts for the rules). The check is made on the address the
 * socket actually connects to: names are resolved by our own `lookup`, whose answer is both checked and
 * used for the connection, so a name that answers differently on a second query (DNS rebinding) gains
 * nothing; every address of the answer must pass. Redirects are followed here, hop
 * by hop, each hop checked the same way. Uses node:http/https (Node's global fetch offers no per-request
 * lookup without the undici package).
 */

/** A resolver in the shape of dns.lookup with `all: true` (tests inject one to give names chosen addresses). */
export type LookupAll = (hostname: string, options: { all: true; family?: number; hints?: number }, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export interface OutboundRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
  policy: OutboundPolicy;
  /** @default dns.lookup */
  lookup?: LookupAll;
  /** @default 10 */
  maxRedirects?: number;
  /**
   * What the error of a too-large answer says the limit is, when the caller sets `policy.maxResponseBytes`
   * itself. @default "the limit of outboundHttp.maxResponseBytes in the config (…); raise it if …"
   */
  limitNote?: string;
}

export interface OutboundResult {
  ok: boolean;
  status?: number;
  body: string;
  error?: string;
  /** Set when the destination was refused by the guard (nothing was sent; retrying cannot help). */
  refused?: Refusal;
}

/** Thrown inside a request when the answer's body (decoded) outgrows `policy.maxResponseBytes`. */
class ResponseTooLarge extends Error {
  constructor(
    readonly status: number,
    readonly limit: number,
  ) {
    super(`the answer is larger than ${limit} bytes`);
  }
}

/** Thrown inside a request when the guard refuses a destination. */
export class OutboundRefused extends TetoraError {
  constructor(readonly refusal: Refusal) {
    super('TET_ERR_OUTBOUND_REFUSED', refusalDetail(refusal), { ...refusal });
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** One HTTP request, redirects followed; a status of 400 or more is a failure naming it. Never rejects. */
export async function outboundRequest(req: OutboundRequest): Promise<OutboundResult> {
  const timeout = AbortSignal.timeout(Math.max(1, req.timeoutMs));
  const signal = AbortSignal.any([req.signal, timeout]);
  const max = req.maxRedirects ?? 10;
  let method = req.method.toUpperCase();
  let headers = { ...(req.headers ?? {}) };
  let body = method === 'GET' || method === 'HEAD' ? undefined : req.body;
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    return { ok: false, body: '', error: `${req.method} ${req.url} failed: not a valid URL` };
  }
  const hops: string[] = [];
  const fail = (why: string) => `${req.method} ${req.url}${hops.length ? ` (redirected to ${hops.join(' → ')})` : ''} failed: ${why}`;
  for (;;) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, body: '', error: fail(`only http and https URLs are sent, not ${url.protocol}`) };
    try {
      const res = await once(url, method, headers, body, signal, req.policy, req.lookup ?? (dnsLookup as unknown as LookupAll));
      const location = res.headers.location;
      if (REDIRECTS.has(res.status) && location) {
        if (hops.length >= max) return { ok: false, status: res.status, body: '', error: fail(`more than ${max} redirects`) };
        const next = new URL(location, url);
        if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase())));
        if (res.status === 303 ? method !== 'HEAD' : (res.status === 301 || res.status === 302) && method === 'POST') {
          method = 'GET';
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
        }
        hops.push(next.href);
        url = next;
        continue;
      }
      if (res.status >= 400) return { ok: false, status: res.status, body: res.body, error: `${req.method} ${req.url} answered ${res.status}${res.body ? `: ${res.body.slice(0, 300)}` : ''}` };
      return { ok: true, status: res.status, body: res.body };
    } catch (err) {
      if (err instanceof ResponseTooLarge) {
        return {
          ok: false,
          status: err.status,
          body: '',
          error: fail(`it answered ${err.status} with a body larger than ${err.limit} bytes (decoded), ${req.limitNote ?? `the limit of outboundHttp.maxResponseBytes in the config (default ${DEFAULT_MAX_RESPONSE_BYTES}); raise it if this answer is expected`}`),
        };
      }
      if (err instanceof OutboundRefused) {
        const at = hops.length ? `${req.method} ${req.url} redirects to ${hops.at(-1)}, which was refused` : `${req.method} ${req.url} was refused`;
        return { ok: false, body: '', error: `${at} (${err.code}): ${err.message}`, refused: err.refusal };
      }
      const e = err as Error;
      const why = timeout.aborted ? `no answer within ${req.timeoutMs} ms` : req.signal.aborted ? 'stopped' : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
      return { ok: false, body: '', error: fail(why) };
    }
  }
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * One hop: refuses a forbidden literal or name at once and a forbidden resolved address in `lookup`, which
 * is what the socket connects to (Node calls `lookup` for every name and connects to what it answers; an
 * IP literal is connected to as it is, and was checked first).
 */
function once(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, policy: OutboundPolicy, lookupAll: LookupAll): Promise<Answer> {
  const host = url.hostname;
  const early = checkDestination(host, undefined, policy);
  if (early) return Promise.reject(new OutboundRefused(early));
  const lookup = (hostname: string, options: { family?: number; hints?: number; all?: boolean }, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    lookupAll(hostname, { all: true, ...(options.family ? { family: options.family } : {}), ...(options.hints ? { hints: options.hints } : {}) }, (err, addresses) => {
      if (err) return cb(err, []);
      if (addresses.length === 0) return cb(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      for (const a of addresses) {
        const r = checkDestination(host, a.address, policy);
        if (r) return cb(new OutboundRefused(r) as NodeJS.ErrnoException, []);
      }
      if (options.all) return cb(null, addresses);
      cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const hdrs: Record<string, string> = { ...headers };
  if (body !== undefined && !Object.keys(hdrs).some((k) => k.toLowerCase() === 'content-length')) hdrs['content-length'] = String(Buffer.byteLength(body));
  return new Promise<Answer>((resolve, reject) => {
    // agent: false gives every request its own socket, so no pooled connection skips the checks.
    const r = send(url, { method, headers: hdrs, signal, lookup: lookup as never, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const enc = String(res.headers['content-encoding'] ?? '').toLowerCase();
      const stream: Readable = enc === 'gzip' || enc === 'x-gzip' ? res.pipe(createGunzip()) : enc === 'deflate' ? res.pipe(createInflate()) : enc === 'br' ? res.pipe(createBrotliDecompress()) : res;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > policy.maxResponseBytes) {
          // Counted after decoding, so a small compressed bomb stops here too; nothing more is read.
          chunks.length = 0;
          reject(new ResponseTooLarge(res.statusCode ?? 0, policy.maxResponseBytes));
          stream.destroy();
          res.destroy();
          return;
        }
        chunks.push(c);
      });
      // `on`, not `once`: destroying a body that outgrew its cap may make these emit more than one error.
      stream.on('error', reject);
      res.on('error', reject);
      // An answer cut off (the timeout, a cancel, the server) ends in 'error' on the response (Node's "aborted").
      stream.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(body);
  });
}
