/** Issue 15, the dashboard server's pure parts: sessions, cross-site and Host checks, throttle, assets, views. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LoginThrottle,
  cookieValue,
  crossSiteProblem,
  csrfTokenOf,
  loopbackHost,
  newSessionId,
  overTls,
  sessionCookie,
  sessionIdHash,
  tokenFingerprint,
  wellFormedSessionId,
} from '../../src/http/dashboard/session.js';
import { contentTypeOf, dashboardAssets, folderAssets, safeAssetName } from '../../src/http/dashboard/assets.js';
import { trimPartialUtf8, utcDayStart } from '../../src/http/routes/overview.js';
import { withPruneDecisions } from '../../src/http/routes/worktrees.js';
import { retryRequest } from '../../src/http/routes/task-retry.js';
import { dashboardUrl, opener } from '../../src/cli/dashboard-url.js';
import { linkLines } from '../../src/cli/format.js';
import type { WorktreeView, PruneEntry } from '../../src/worktrees/index.js';
import type { TaskRow } from '../../src/store/tasks.js';
import type { FastifyRequest } from 'fastify';
import { openDb } from '../../src/store/db.js';
import { DashboardAuth } from '../../src/http/dashboard/auth.js';
import { SESSION_TTL_MS } from '../../src/http/dashboard/session.js';

describe('session ids, hashes and the CSRF token', () => {
  it('ids are 32 random bytes in base64url; the store hash, the token fingerprint and the CSRF token differ from the id and from each other', () => {
    const id = newSessionId();
    expect(wellFormedSessionId(id)).toBe(true);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(newSessionId()).not.toBe(id);
    const all = [id, sessionIdHash(id), tokenFingerprint(id, 'tok'), csrfTokenOf(id)];
    expect(new Set(all).size).toBe(4);
    expect(sessionIdHash(id)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a new apiToken gives another fingerprint; the CSRF token depends on the session only', () => {
    const id = newSessionId();
    expect(tokenFingerprint(id, 'a')).not.toBe(tokenFingerprint(id, 'b'));
    expect(tokenFingerprint(id, 'a')).toBe(tokenFingerprint(id, 'a'));
    expect(tokenFingerprint(id, 'a')).not.toBe(tokenFingerprint(newSessionId(), 'a'));
    expect(csrfTokenOf(id)).toBe(csrfTokenOf(id));
    expect(csrfTokenOf(id)).not.toBe(csrfTokenOf(newSessionId()));
  });

  it('refuses cookie values that are not session ids', () => {
    for (const v of [undefined, '', 'short', `${newSessionId()}x`, '../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaa', 'a'.repeat(42) + '=']) expect(wellFormedSessionId(v)).toBe(false);
  });

  it('the cookie: HttpOnly, SameSite=Strict, Path=/, 7 days; Secure only over TLS; cleared with Max-Age=0', () => {
    expect(sessionCookie('abc', { secure: false })).toBe('tetora_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800');
    expect(sessionCookie('abc', { secure: true })).toBe('tetora_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800; Secure');
    expect(sessionCookie('abc', { secure: false, clear: true })).toBe('tetora_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect(overTls(false, undefined)).toBe(false);
    expect(overTls(true, undefined)).toBe(true);
    expect(overTls(false, 'https')).toBe(true);
    expect(overTls(false, 'HTTPS, http')).toBe(true);
    expect(overTls(false, 'http')).toBe(false);
  });

  it('reads a cookie out of a Cookie header', () => {
    expect(cookieValue('a=1; tetora_session=xyz; b=2', 'tetora_session')).toBe('xyz');
    expect(cookieValue('tetora_sessionx=1', 'tetora_session')).toBeUndefined();
    expect(cookieValue(undefined, 'tetora_session')).toBeUndefined();
    expect(cookieValue('tetora_session=first; tetora_session=second', 'tetora_session')).toBe('first');
  });
});

describe('cross-site writes', () => {
  const base = { method: 'POST', host: '127.0.0.1:8991' };
  it('lets reads through whatever their origin', () => {
    expect(crossSiteProblem({ ...base, method: 'GET', origin: 'http://evil.example', secFetchSite: 'cross-site' })).toBeUndefined();
    expect(crossSiteProblem({ ...base, method: 'HEAD', secFetchSite: 'cross-site' })).toBeUndefined();
  });
  it('lets through writes without Origin (CLI, scripts) and from the own origin', () => {
    expect(crossSiteProblem(base)).toBeUndefined();
    expect(crossSiteProblem({ ...base, origin: 'http://127.0.0.1:8991', secFetchSite: 'same-origin' })).toBeUndefined();
    expect(crossSiteProblem({ ...base, host: 'tetora.example:80', origin: 'http://tetora.example' })).toBeUndefined();
    expect(crossSiteProblem({ ...base, host: '127.0.0.1:8991', forwardedHost: 'tetora.example.com', origin: 'https://tetora.example.com' })).toBeUndefined();
  });
  it('refuses writes from another site: Sec-Fetch-Site, another host or port, null or odd origins', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(crossSiteProblem({ ...base, method, secFetchSite: 'cross-site' })).toContain('cross-site');
    for (const origin of ['http://evil.example', 'http://127.0.0.1:8992', 'http://localhost:8991', 'null', 'file://', 'chrome-extension://abc', 'not a url']) {
      expect(crossSiteProblem({ ...base, origin }), origin).toBeDefined();
    }
  });
});

describe('loopback Host names (a daemon without apiToken)', () => {
  it('accepts loopback names with any port, and no Host', () => {
    for (const h of [undefined, '', 'localhost', 'localhost:8991', '127.0.0.1', '127.0.0.1:8991', '127.1.2.3:1', '[::1]', '[::1]:8991', 'LOCALHOST:1']) expect(loopbackHost(h), String(h)).toBe(true);
  });
  it('refuses every other name (a rebound DNS name, a LAN address)', () => {
    for (const h of ['evil.example', 'evil.example:8991', '127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.1:8991', '[::2]:8991', '0.0.0.0:8991', 'localhost:8991:1']) expect(loopbackHost(h), h).toBe(false);
  });
});

describe('LoginThrottle', () => {
  it('allows 5 failures, then doubles the wait per failure up to the cap; a success clears it', () => {
    let now = 1_000_000;
    const t = new LoginThrottle({ now: () => now, baseMs: 1000, capMs: 8000 });
    for (let i = 0; i < 5; i++) {
      expect(t.waitMs('a')).toBe(0);
      t.fail('a');
    }
    expect(t.waitMs('a')).toBe(1000);
    now += 1000;
    expect(t.waitMs('a')).toBe(0);
    t.fail('a');
    expect(t.waitMs('a')).toBe(2000);
    t.fail('a');
    t.fail('a');
    t.fail('a');
    expect(t.waitMs('a')).toBe(8000);
    t.succeed('a');
    expect(t.waitMs('a')).toBe(0);
  });
  it('throttles only the failing address (no lockout for others), and forgets an address quiet for a day', () => {
    let now = 0;
    const t = new LoginThrottle({ now: () => now });
    for (let i = 0; i < 10; i++) t.fail('attacker');
    expect(t.waitMs('attacker')).toBeGreaterThan(0);
    expect(t.waitMs('user')).toBe(0);
    now += 24 * 3600 * 1000 + 1;
    expect(t.waitMs('attacker')).toBe(0);
  });
  it('remembers a bounded number of addresses', () => {
    const t = new LoginThrottle({ maxEntries: 3, free: 0 });
    for (const a of ['1', '2', '3', '4']) t.fail(a);
    expect(t.waitMs('1')).toBe(0);
    expect(t.waitMs('4')).toBeGreaterThan(0);
  });
});

describe('dashboard assets', () => {
  it('accepts plain relative names only', () => {
    for (const n of ['app.js', 'img/logo.svg', 'a.b.c']) expect(safeAssetName(n), n).toBe(true);
    for (const n of ['', '..', '../x', 'a/../../x', './app.js', '/etc/passwd', 'a//b', 'a\\..\\b', 'app.js\0.css', 'x'.repeat(513)]) expect(safeAssetName(n), n).toBe(false);
  });
  it('serves files inside the folder only, also against symlinks pointing out', () => {
    const root = mkdtempSync(join(tmpdir(), 'tetora-assets-'));
    const dir = join(root, 'dashboard');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.js'), 'js');
    writeFileSync(join(root, 'secret.txt'), 'secret');
    symlinkSync(join(root, 'secret.txt'), join(dir, 'link.txt'));
    symlinkSync(root, join(dir, 'up'));
    const a = folderAssets(dir);
    expect(a.read('app.js')?.toString()).toBe('js');
    expect(a.read('link.txt')).toBeUndefined();
    expect(a.read('up/secret.txt')).toBeUndefined();
    expect(a.read('../secret.txt')).toBeUndefined();
    expect(a.read('missing.js')).toBeUndefined();
    expect(a.read('.')).toBeUndefined();
  });
  it("inside the single executable, reads the embedded dashboard/<file> assets (safe names only)", () => {
    const asked: string[] = [];
    const bytes = (t: string) => new TextEncoder().encode(t).buffer as ArrayBuffer;
    globalThis.__tetoraSea = {
      version: '1', commit: '', target: 'linux-x64', assets: ['dashboard/index.html'], sqliteBinding: () => undefined,
      asset: (name: string) => {
        asked.push(name);
        if (name === 'dashboard/index.html') return bytes('<html>sea</html>');
        throw new Error(`no asset ${name}`);
      },
    };
    try {
      const a = dashboardAssets();
      expect(a.read('index.html')?.toString()).toBe('<html>sea</html>');
      expect(a.read('app.js')).toBeUndefined();
      expect(a.read('../better_sqlite3.node')).toBeUndefined();
      expect(asked).toEqual(['dashboard/index.html', 'dashboard/app.js']);
      expect(a.where).toContain('embedded');
    } finally {
      globalThis.__tetoraSea = undefined;
    }
    expect(dashboardAssets().where).toMatch(/dist\/dashboard$/);
  });
  it('content types by extension', () => {
    expect(contentTypeOf('app.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('app.css')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('x.SVG')).toBe('image/svg+xml');
    expect(contentTypeOf('x.bin')).toBe('application/octet-stream');
  });
});

describe('views', () => {
  it('utcDayStart counts whole UTC days back', () => {
    const t = Date.UTC(2026, 11, 2, 23, 59);
    expect(new Date(utcDayStart(t)).toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(new Date(utcDayStart(t, 29)).toISOString()).toBe('2026-11-03T00:00:00.000Z');
  });
  it('trimPartialUtf8 drops a character cut at the end, keeps whole ones', () => {
    const euro = Buffer.from('a€', 'utf8');
    expect(trimPartialUtf8(euro).toString()).toBe('a€');
    expect(trimPartialUtf8(euro.subarray(0, 3)).toString()).toBe('a');
    expect(trimPartialUtf8(euro.subarray(0, 2)).toString()).toBe('a');
    const emoji = Buffer.from('b😀', 'utf8');
    expect(trimPartialUtf8(emoji.subarray(0, 4)).toString()).toBe('b');
    expect(trimPartialUtf8(emoji).toString()).toBe('b😀');
    expect(trimPartialUtf8(Buffer.from('plain')).toString()).toBe('plain');
  });
  it('withPruneDecisions joins each worktree with its prune decision and lists folders only prune knows', () => {
    const view = { taskId: 't1', path: '/w/t1', branch: 'tetora/a/t1', state: 'idle' } as WorktreeView;
    const entries: PruneEntry[] = [
      { taskId: 't1', path: '/w/t1', repo: '/r', branch: 'tetora/a/t1', base: 'main', action: 'keep', applied: false, branchDeleted: false, reasons: ['1 uncommitted file', '2 commits not in main'] },
      { taskId: null, path: '/w/orphan', repo: null, branch: null, base: null, action: 'keep', applied: false, branchDeleted: false, reasons: ['not a git worktree and not in the store; Tetora leaves it alone'] },
    ];
    const rows = withPruneDecisions([view, { ...view, taskId: 't2', path: '/w/t2' }], entries);
    expect(rows[0]?.prune).toEqual({ action: 'keep', reason: '1 uncommitted file; 2 commits not in main', reasons: ['1 uncommitted file', '2 commits not in main'] });
    expect(rows[1]?.prune).toBeNull();
    expect(rows[2]).toMatchObject({ taskId: null, path: '/w/orphan', state: 'untracked', prune: { action: 'keep' } });
  });
  it('retryRequest repeats the recorded request; provider and model only for a task without agent', () => {
    const t = {
      id: 'orig', prompt: 'p', agent: 'a', provider: 'fallback', model: 'm', workdir: '/w', systemPrompt: null, sessionKey: 's', permissionMode: 'plan', timeoutMs: 5000, budgetUsd: 1.5,
      priority: 2, maxAttempts: 4, options: JSON.stringify({ worktree: true, allowedTools: ['Bash'], name: 'n', requestHash: 'h', triedProviders: ['x'] }),
    } as TaskRow;
    expect(retryRequest(t)).toEqual({ prompt: 'p', agent: 'a', workdir: '/w', sessionKey: 's', permissionMode: 'plan', timeout: 5000, budget: 1.5, priority: 2, maxAttempts: 4, worktree: true, allowedTools: ['Bash'], name: 'n', idempotencyKey: 'retry:orig' });
    expect(retryRequest({ ...t, agent: null, options: '{}' })).toMatchObject({ provider: 'fallback', model: 'm' });
    expect(retryRequest({ ...t, options: 'not json' }).worktree).toBeUndefined();
  });
});

describe('tetora dashboard', () => {
  it('the URL reaches the daemon where the CLI does', () => {
    expect(dashboardUrl('127.0.0.1', 8991)).toBe('http://127.0.0.1:8991/dashboard');
    expect(dashboardUrl('0.0.0.0', 8991)).toBe('http://127.0.0.1:8991/dashboard');
    expect(dashboardUrl('::', 1)).toBe('http://[::1]:1/dashboard');
    expect(dashboardUrl('::1', 1)).toBe('http://[::1]:1/dashboard');
  });
  it('opens with $BROWSER, open, cmd start or xdg-open (with a display only)', () => {
    const u = 'http://x/dashboard';
    expect(opener('linux', { BROWSER: 'firefox' }, u)).toEqual({ file: 'firefox', args: [u] });
    expect(opener('darwin', {}, u)).toEqual({ file: 'open', args: [u] });
    expect(opener('win32', {}, u)).toEqual({ file: 'cmd', args: ['/c', 'start', '""', u] });
    expect(opener('linux', { DISPLAY: ':0' }, u)).toEqual({ file: 'xdg-open', args: [u] });
    expect(opener('linux', { WAYLAND_DISPLAY: 'wayland-0' }, u)).toEqual({ file: 'xdg-open', args: [u] });
    expect(opener('linux', {}, u)).toMatchObject({ none: expect.stringContaining('no graphical display') });
  });
});

describe('DashboardAuth sessions on the store', () => {
  const req = (id: string) => ({ headers: { cookie: `tetora_session=${id}` } }) as unknown as FastifyRequest;
  it('a session counts until it expires (7 days, fixed), is revoked, or the apiToken changes', () => {
    const db = openDb(':memory:');
    let now = 1_000_000;
    let token = 'tok-1';
    const auth = new DashboardAuth({ db } as never, () => token, () => now);
    const s = auth.open('127.0.0.1');
    expect(auth.session(req(s.id))).toEqual(s);
    now += SESSION_TTL_MS - 1;
    expect(auth.session(req(s.id))).toEqual(s);
    now += 1;
    expect(auth.session(req(s.id))).toBeUndefined();

    const s2 = auth.open('127.0.0.1');
    // Logging in deleted the expired row.
    expect(auth.store.sessionCount()).toBe(1);
    token = 'tok-2';
    expect(auth.session(req(s2.id))).toBeUndefined();
    token = 'tok-1';
    expect(auth.session(req(s2.id))).toEqual(s2);
    auth.revoke(s2.id);
    expect(auth.session(req(s2.id))).toBeUndefined();
    expect(auth.session(req(newSessionId()))).toBeUndefined();
    db.close();
  });
});

describe('tetora task show: retry links', () => {
  it('names the task a task retries and its retries', () => {
    expect(linkLines({ parent: null, children: [], handoffsFrom: [], handoffsTo: [], route: [], retryOf: { id: 'o', agent: 'a', status: 'failed' }, retries: [{ id: 'r1', agent: 'a', status: 'running' }] })).toEqual([
      'retry of  o  a  failed',
      'retried as',
      '  r1  a  running',
    ]);
    expect(linkLines({ parent: null, retryOf: null, retries: [] })).toEqual([]);
  });
});
