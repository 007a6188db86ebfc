import type { IncomingMessage, ServerResponse } from 'node:http';

/** A file part of a multipart request, as the fake received it. */
export interface ReceivedFile {
  /** The form field, e.g. `files[0]`. */
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
  /** `data` as UTF-8. */
  text: string;
}

export interface ParsedBody {
  /** The JSON body, or a multipart request's `payload_json` parsed; null when there was none. */
  json: Record<string, unknown> | null;
  files: ReceivedFile[];
  /** Set when the body could not be parsed (the fake answers 400 "The request body contains invalid JSON."). */
  invalid?: string;
}

export function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** JSON or multipart/form-data (`payload_json` + `files[n]`), parsed with the platform's own FormData parser. */
export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: null, files: [] };
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentType! } }).formData();
    } catch (err) {
      return { json: null, files: [], invalid: `multipart body could not be parsed: ${(err as Error).message}` };
    }
    const files: ReceivedFile[] = [];
    let json: Record<string, unknown> | null = null;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') {
          try {
            json = JSON.parse(value) as Record<string, unknown>;
          } catch {
            return { json: null, files, invalid: 'payload_json is not JSON' };
          }
        }
        continue;
      }
      const data = Buffer.from(await value.arrayBuffer());
      files.push({ field, name: value.name, contentType: value.type || 'application/octet-stream', data, text: data.toString('utf8') });
    }
    return { json, files };
  }
  try {
    return { json: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
  } catch {
    return { json: null, files: [], invalid: 'The request body contains invalid JSON.' };
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
