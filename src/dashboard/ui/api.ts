/**
 * The dashboard's API client: same-origin fetch (the session cookie goes along), the CSRF header on every
 * state-changing request, errors in the API's one format, and a 401 anywhere sends the app to the login form.
 */

export interface Session {
  loginRequired: boolean;
  authenticated: boolean;
  csrfToken?: string;
  version: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

let csrf: string | undefined;
let onUnauthorized: () => void = () => {};

export function setCsrf(token: string | undefined): void {
  csrf = token;
}

/** Called when any request answers 401 (the session expired or was revoked). */
export function onAuthLost(fn: () => void): void {
  onUnauthorized = fn;
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, body);
}

export async function request(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-tetora-csrf'] = csrf;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  if (res.status === 401 && !path.startsWith('/dashboard/api/login')) onUnauthorized();
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await request(path, init);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const post = <T>(path: string, body: unknown = {}) => api<T>(path, { method: 'POST', body });

export async function getSession(): Promise<Session> {
  const res = await fetch('/dashboard/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  const s = (await res.json()) as Session;
  setCsrf(s.csrfToken);
  return s;
}

export async function login(token: string): Promise<void> {
  await request('/dashboard/api/login', { method: 'POST', body: { token } });
}

export async function logout(): Promise<void> {
  await request('/dashboard/api/logout', { method: 'POST', body: {} });
  setCsrf(undefined);
}
