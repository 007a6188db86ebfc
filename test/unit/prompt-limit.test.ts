import { describe, expect, it } from 'vitest';
import { promptOverLimit } from '../../src/engine/request.js';

describe('promptOverLimit: a prompt against its provider\'s maxPromptBytes', () => {
  it('lets a prompt at the limit through, refuses one byte more naming both sizes and the setting, and has no limit when unset or 0', () => {
    const p = { name: 'small', maxPromptBytes: 1000 };
    expect(promptOverLimit('x'.repeat(1000), p)).toBeUndefined();
    const r = promptOverLimit('x'.repeat(1001), p, 'writer');
    expect(r).toMatchObject({ bytes: 1001, limit: 1000 });
    expect(r!.message).toBe(
      'prompt is 1,001 bytes, but provider "small" of agent "writer" takes at most 1,000 bytes (providers.small.maxPromptBytes); nothing was recorded. Shorten the prompt or put the long input in a file in the workdir, use an agent whose provider takes more, or raise providers.small.maxPromptBytes (0: no limit).',
    );
    expect(promptOverLimit('x'.repeat(5000), { name: 'free' })).toBeUndefined();
    expect(promptOverLimit('x'.repeat(5000), { name: 'free', maxPromptBytes: 0 })).toBeUndefined();
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 400 characters of three bytes each: 1,200 bytes.
    expect(promptOverLimit('漢'.repeat(400), { name: 'p', maxPromptBytes: 1199 })?.bytes).toBe(1200);
    expect(promptOverLimit('漢'.repeat(400), { name: 'p', maxPromptBytes: 1200 })).toBeUndefined();
  });
});
