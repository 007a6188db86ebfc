import { TetoraError } from '../errors.js';

/** Keys that would reach an object's prototype if a consumer merged the body naively. */
const POISON = /"(?:__proto__|constructor|prototype)"\s*:/;

/**
 * The API's JSON body parser. An empty body is no body (`undefined`: routes whose body is optional accept
 * it; /api/dispatch says a task is needed). A `__proto__` key (or `constructor.prototype`) is refused with
 * its own message, not as "invalid JSON". Numbers too large for a double (1e309) are kept as Infinity; the
 * request validation names the field and says the number is out of range. Pure.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let forbidden: string | undefined;
  let value: unknown;
  try {
    value = POISON.test(text)
      ? JSON.parse(text, function (this: unknown, key, v: unknown) {
          if (key === '__proto__' || (key === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype'))) forbidden ??= key;
          return v;
        })
      : JSON.parse(text);
  } catch (err) {
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `the body is not valid JSON (${(err as Error).message}); send one JSON task object, an array of them, or {"tasks": [...]}.`, { field: '(body)' });
  }
  if (forbidden) {
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `the body has a "${forbidden}" key, which the API refuses (it could change object prototypes); remove that key.`, { field: forbidden });
  }
  return value;
}
