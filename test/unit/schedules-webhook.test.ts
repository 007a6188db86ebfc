import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookVariables } from '../../src/schedules/webhook.js';
import { eventMatches, eventVariables, taskEventType } from '../../src/schedules/events.js';

const secret = 'hook-secret';
const body = Buffer.from('{"topic":"release","n":3}');
const now = Date.parse('2026-01-01T12:00:00Z');
const ts = String(Math.floor(now / 1000));

describe('verifyWebhook', () => {
  it('accepts a good signature within the window', () => {
    // The verified signature comes back as lowercase hex: the key the route's replay check claims.
    const sig = signWebhook(secret, ts, body);
    expect(verifyWebhook(secret, { timestamp: ts, signature: sig.toUpperCase().replace('SHA256=', 'sha256=') }, body, now)).toEqual({ ok: true, signature: sig.slice('sha256='.length) });
    // 4 minutes old, or 4 minutes ahead (clock skew), is still inside the 5-minute window.
    const old = String(Number(ts) - 240);
    expect(verifyWebhook(secret, { timestamp: old, signature: signWebhook(secret, old, body) }, body, now).ok).toBe(true);
    const ahead = String(Number(ts) + 240);
    expect(verifyWebhook(secret, { timestamp: ahead, signature: signWebhook(secret, ahead, body) }, body, now).ok).toBe(true);
  });

  it('refuses a signature of another body, another secret or another timestamp', () => {
    const sig = signWebhook(secret, ts, body);
    expect(verifyWebhook(secret, { timestamp: ts, signature: sig }, Buffer.from('{"topic":"other"}'), now)).toMatchObject({ ok: false, reason: expect.stringContaining('does not match') });
    expect(verifyWebhook(secret, { timestamp: ts, signature: signWebhook('other-secret', ts, body) }, body, now).ok).toBe(false);
    const later = String(Number(ts) + 1);
    expect(verifyWebhook(secret, { timestamp: later, signature: sig }, body, now).ok).toBe(false);
  });

  it('refuses a stale (or replayed) timestamp even with a good signature', () => {
    const stale = String(Number(ts) - 301);
    const r = verifyWebhook(secret, { timestamp: stale, signature: signWebhook(secret, stale, body) }, body, now);
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining('5 minutes') });
  });

  it('refuses missing or malformed headers, naming them', () => {
    expect(verifyWebhook(secret, { timestamp: undefined, signature: signWebhook(secret, ts, body) }, body, now)).toMatchObject({ ok: false, reason: expect.stringContaining('X-Tetora-Timestamp') });
    expect(verifyWebhook(secret, { timestamp: ts, signature: undefined }, body, now)).toMatchObject({ ok: false, reason: expect.stringContaining('X-Tetora-Signature') });
    expect(verifyWebhook(secret, { timestamp: 'yesterday', signature: signWebhook(secret, ts, body) }, body, now).ok).toBe(false);
    expect(verifyWebhook(secret, { timestamp: ts, signature: 'md5=abc' }, body, now)).toMatchObject({ ok: false, reason: expect.stringContaining('sha256=') });
    expect(verifyWebhook(secret, { timestamp: ts, signature: 'sha256=' + '0'.repeat(64) }, body, now).ok).toBe(false);
  });

  it('accepts the hex digest in upper case too', () => {
    const sig = signWebhook(secret, ts, body).replace(/^sha256=/, '');
    expect(verifyWebhook(secret, { timestamp: ts, signature: `sha256=${sig.toUpperCase()}` }, body, now).ok).toBe(true);
  });
});

describe('webhookVariables', () => {
  it('takes the keys of a JSON object (non-strings as JSON); an empty body gives none', () => {
    expect(webhookVariables(body)).toEqual({ topic: 'release', n: '3' });
    expect(webhookVariables(Buffer.from('{"o":{"a":1},"b":true}'))).toEqual({ o: '{"a":1}', b: 'true' });
    expect(webhookVariables(Buffer.alloc(0))).toEqual({});
  });

  it('refuses what is not a JSON object', () => {
    expect(webhookVariables(Buffer.from('[1,2]'))).toBeUndefined();
    expect(webhookVariables(Buffer.from('not json'))).toBeUndefined();
    expect(webhookVariables(Buffer.from('"text"'))).toBeUndefined();
  });
});

describe('event matching', () => {
  it('matches exactly, or any suffix after a trailing *', () => {
    expect(eventMatches('task.failed', 'task.failed')).toBe(true);
    expect(eventMatches('task.failed', 'task.failed2')).toBe(false);
    expect(eventMatches('task.*', 'task.succeeded')).toBe(true);
    expect(eventMatches('task.*', 'workflow.completed')).toBe(false);
    expect(eventMatches('workflow.*', 'workflow.completed')).toBe(true);
    expect(eventMatches('*', 'step.completed')).toBe(true);
    expect(eventMatches('task.', 'task.failed')).toBe(false);
  });

  it('names task state changes task.<status> and ignores progress events', () => {
    expect(taskEventType({ type: 'failed' })).toBe('task.failed');
    expect(taskEventType({ type: 'timed_out' })).toBe('task.timed_out');
    expect(taskEventType({ type: 'text' })).toBeUndefined();
    expect(taskEventType({ type: 'tool_call' })).toBeUndefined();
  });

  it('gives an event\'s scalar fields as variables', () => {
    expect(eventVariables('task.failed', { taskId: 't1', attempt: 2, nested: { a: 1 } })).toEqual({ event: 'task.failed', taskId: 't1', attempt: '2' });
  });
});
