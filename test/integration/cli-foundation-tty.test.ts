/**
 * `tetora init` on a real terminal (a pseudo-terminal from util-linux `script`): it detects the `claude`
 * and `codex` CLIs on PATH and offers them, asks for each choice, generates an apiToken, and a cancel
 * writes nothing.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, makeSandbox, nodeModulesBin, pathWithOnly, runOnTty, type Sandbox } from '../helpers/cli.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes.splice(0)) s.cleanup();
});
function sandbox(): Sandbox {
  const s = makeSandbox('tetora-tty-');
  sandboxes.push(s);
  return s;
}

describe('tetora init on a terminal', () => {
  it('offers the CLIs found on PATH, asks for each choice, generates a token and writes a config that passes doctor', async () => {
    const s = sandbox();
    const port = await freePort();
    const work = join(s.root, 'work');
    const r = await runOnTty(['init'], s.env, [
      { expect: 'Default provider [claude]: ', send: 'codex' },
      { expect: 'Name of the first agent [assistant]: ', send: 'bad name' },
      { expect: 'Name of the first agent [assistant]: ', send: 'coder' },
      { expect: 'HTTP listen address [127.0.0.1:8991]: ', send: `127.0.0.1:${port}` },
      { expect: 'Default working folder for agents (blank for none) [none]: ', send: work },
      { expect: 'Generate an API token for the HTTP API? [Y/n]: ', send: '' },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`Providers: claude (found: ${join(nodeModulesBin, 'claude')}), codex (found: ${join(nodeModulesBin, 'codex')}).`);
    expect(r.output).toContain('"bad name" is not a usable agent name');
    expect(r.output).toContain(`Provider: codex (${join(nodeModulesBin, 'codex')})`);
    const configPath = join(s.home, 'config.json');
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    expect(statSync(s.home).mode & 0o777).toBe(0o700);
    const doc = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ defaultProvider: 'codex', defaultAgent: 'coder', listenAddr: `127.0.0.1:${port}`, defaultWorkdir: work });
    expect(doc.apiToken).toMatch(/^[0-9a-f]{64}$/);
    expect(r.output).not.toContain(doc.apiToken as string);
    expect(existsSync(join(s.home, 'agents', 'coder', 'SOUL.md'))).toBe(true);

    const doctor = await s.run(['doctor']);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/^✓ provider codex: codex-cli .*codex-cli 0\.\d+/m);
  });

  it('says when neither CLI is on PATH, offers claude with how to install it', async () => {
    const s = sandbox();
    const env = { ...s.env, PATH: pathWithOnly(['script', 'git'], join(s.root, 'path')) };
    const r = await runOnTty(['init'], env, [
      { expect: 'Default provider [claude]: ', send: '' },
      { expect: 'Name of the first agent [assistant]: ', send: '' },
      { expect: 'HTTP listen address [127.0.0.1:8991]: ', send: '' },
      { expect: '[none]: ', send: '' },
      { expect: '[Y/n]: ', send: 'n' },
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('Providers: claude (not found on PATH), codex (not found on PATH).');
    expect(r.output).toContain('Provider: claude, which is not on PATH yet. Install it: npm install -g @anthropic-ai/claude-code');
    const doc = JSON.parse(readFileSync(join(s.home, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(doc.apiToken).toBeUndefined();
    expect(doc.defaultProvider).toBe('claude');
  });

  it.each([
    ['Ctrl-D', '\x04'],
    ['Ctrl-C', '\x03'],
  ])('writes nothing when the user cancels with %s', async (_key, send) => {
    const s = sandbox();
    const r = await runOnTty(['init'], s.env, [
      { expect: 'Default provider [claude]: ', send: 'codex' },
      { expect: 'Name of the first agent [assistant]: ', send, raw: true },
    ]);
    expect(r.code).toBe(64);
    expect(r.output).toContain('tetora init was cancelled before it wrote anything');
    expect(existsSync(join(s.home, 'config.json'))).toBe(false);
  });

  it('--yes never asks, even on a terminal', async () => {
    const s = sandbox();
    const r = await runOnTty(['init', '--yes'], s.env, []);
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toContain('Default provider');
    expect(existsSync(join(s.home, 'config.json'))).toBe(true);
  });
});
