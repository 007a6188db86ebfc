/**
 * What the real daemon answers: error bodies that stay small whatever was sent, task views without the
 * store's internal fields, and parser errors that never write into a response already under way.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { daemonPool, TOKEN } from '../helpers/daemon.js';

const pool = daemonPool();

interface ErrorJson {
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe('error bodies for huge values', () => {
  it('a 2 MB systemPrompt with a NUL gets a 400 naming the field, with the value cut to 200 characters and its length', async () => {
    const d = await pool.start();
    const systemPrompt = `${'s'.repeat(2_000_000)}\u0000`;
    const res = await d.fetch('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x', systemPrompt }) });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(2000);
    const body = JSON.parse(text) as ErrorJson;
    expect(body.error.code).toBe('TET_ERR_TASK_INVALID');
    expect(body.error.details).toMatchObject({ field: 'systemPrompt', valueLength: 2_000_001 });
    expect(String(body.error.details.value)).toBe(`${'s'.repeat(200)}…`);
    expect(body.error.message).toContain(`systemPrompt is "${'s'.repeat(200)}"… (2000001 characters): expected text without NUL`);
    // An unknown agent of a megabyte is cut the same way.
    const agent = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'n'.repeat(1_000_000), prompt: 'x' }) });
    expect(agent.status).toBe(400);
    expect(JSON.stringify(agent.body).length).toBeLessThan(2000);
    expect(agent.body.error.details).toMatchObject({ field: 'agent', valueLength: 1_000_000 });
  });
});

describe('the API form of a task', () => {
  it('carries the options the request set, never the idempotency request hash kept in the store', async () => {
    const d = await pool.start();
    const sent = await d.json<{ id: string; tasks: Array<{ options?: Record<string, unknown> }> }>('/api/dispatch?wait=true', {
      method: 'POST',
      body: JSON.stringify({ agent: 'a', prompt: d.prompt({}), name: 'named', allowedTools: ['Read'] }),
      headers: { 'idempotency-key': 'opts-1' },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.tasks[0]!.options).toEqual({ name: 'named', allowedTools: ['Read'] });
    const shown = await d.fetch(`/api/tasks/${sent.body.id}`);
    const text = await shown.text();
    expect(text).not.toContain('requestHash');
    expect((JSON.parse(text) as { options: unknown }).options).toEqual({ name: 'named', allowedTools: ['Read'] });
    // The hash is still kept and used: the same request again is the same task, another one a 422.
    const again = await d.json<{ id: string }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({}), name: 'named', allowedTools: ['Read'] }), headers: { 'idempotency-key': 'opts-1' } });
    expect(again.body.id).toBe(sent.body.id);
    const other = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'other' }), headers: { 'idempotency-key': 'opts-1' } });
    expect(other.status).toBe(422);
  });
});

describe('a malformed request pipelined behind a response under way', () => {
  it('closes the connection without writing a status line into the streaming response', async () => {
    const d = await pool.start();
    const s = connect(d.port, '127.0.0.1');
    let got = '';
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    const connected = new Promise<void>((r) =>
      s.on('data', (b: Buffer) => {
        got += b.toString('utf8');
        if (got.includes(': connected')) r();
      }),
    );
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(`GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await connected;
    s.write('GARBAGE\r\n\r\n');
    await closed;
    expect(got.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(got.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
    expect(got).not.toContain('TET_ERR_HTTP_BAD_REQUEST');
    // On a connection with no response under way, the same garbage gets the API's 400.
    const fresh = connect(d.port, '127.0.0.1');
    let answer = '';
    fresh.on('data', (b: Buffer) => (answer += b.toString('utf8')));
    await new Promise<void>((r) => fresh.once('connect', () => r()));
    fresh.write('GARBAGE\r\n\r\n');
    await new Promise<void>((r) => fresh.once('close', () => r()));
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain('TET_ERR_HTTP_BAD_REQUEST');
  });
});
