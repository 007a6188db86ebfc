import { describe, expect, it } from 'vitest';
import { errorFromResponse } from '../../src/cli/client.js';

const base = 'http://127.0.0.1:8991';

describe('errorFromResponse (the one mapping of a daemon answer >= 300 to an error, for JSON requests and event streams)', () => {
  it("keeps the daemon's code, message and details, adding the status", () => {
    const body = JSON.stringify({ error: { code: 'TET_ERR_HTTP_UNAUTHORIZED', message: 'the bearer token is wrong; use the apiToken from the daemon config.', details: { reason: 'wrong token' } } });
    const err = errorFromResponse(401, body, base);
    expect(err.code).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe('the bearer token is wrong; use the apiToken from the daemon config.');
    expect(err.details).toEqual({ reason: 'wrong token', status: 401 });
  });

  it('an unknown code is a bad request; an error without a message says which status came', () => {
    expect(errorFromResponse(400, JSON.stringify({ error: { code: 'TET_ERR_FROM_THE_FUTURE', message: 'm' } }), base)).toMatchObject({ code: 'TET_ERR_HTTP_BAD_REQUEST', message: 'm' });
    const bare = errorFromResponse(500, '{}', base);
    expect(bare.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
    expect(bare.message).toContain('HTTP 500');
    expect(errorFromResponse(404, JSON.stringify({ error: { code: 'toString', message: 'x' } }), base).code).toBe('TET_ERR_HTTP_BAD_REQUEST');
  });

  it('a body that is not JSON means another program answers at that address', () => {
    const err = errorFromResponse(404, '<html>not found</html>', base);
    expect(err.code).toBe('TET_ERR_DAEMON_UNREACHABLE');
    expect(err.message).toContain(base);
    expect(err.details).toEqual({ url: base, status: 404 });
  });
});
