/**
 * `tetora dashboard` (issue 15): prints the URL (--print, --json), opens it with the platform's opener when
 * there is a display (a recording xdg-open on PATH stands in for the browser), prints it when there is none,
 * and refuses to open a browser onto a daemon that does not answer.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonHarness, runCli } from '../helpers/daemon.js';

let d: DaemonHarness;
let bin: string;
let record: string;

beforeAll(async () => {
  d = await DaemonHarness.create();
  await d.start();
  bin = mkdtempSync(join(tmpdir(), 'tetora-opener-'));
  record = join(bin, 'opened.txt');
  // Stands in for the desktop's opener: records its arguments.
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(record)}\n`);
  chmodSync(join(bin, 'xdg-open'), 0o755);
});

afterAll(async () => {
  await d.stop();
});

const env = (extra: Record<string, string>) => ({ TETORA_HOME: d.home, BROWSER: '', DISPLAY: '', WAYLAND_DISPLAY: '', ...extra });

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 400 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  return readFileSync(path, 'utf8');
}

describe('tetora dashboard', () => {
  it('--json prints {url}; --print prints the URL; neither opens anything', async () => {
    const json = await runCli(['--config', d.configPath, 'dashboard', '--json'], env({ DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` }));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ url: `http://127.0.0.1:${d.port}/dashboard` });
    const print = await runCli(['--config', d.configPath, 'dashboard', '--print'], env({ DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` }));
    expect(print.code).toBe(0);
    expect(print.stdout).toBe(`http://127.0.0.1:${d.port}/dashboard\n`);
    expect(existsSync(record)).toBe(false);
  });

  it('prints the URL where there is no display, saying why', async () => {
    const r = await runCli(['--config', d.configPath, 'dashboard'], env({ PATH: `${bin}:${process.env.PATH}` }));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`http://127.0.0.1:${d.port}/dashboard\n`);
    expect(r.stderr).toContain('no graphical display');
    expect(r.stderr).toContain('apiToken');
    expect(existsSync(record)).toBe(false);
  });

  it('opens the URL with xdg-open when there is a display', async () => {
    const r = await runCli(['--config', d.configPath, 'dashboard'], env({ DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` }));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`opening http://127.0.0.1:${d.port}/dashboard\n`);
    expect(await waitForFile(record)).toBe(`http://127.0.0.1:${d.port}/dashboard\n`);
  });

  it('refuses to open a browser when no daemon answers (exit 69)', async () => {
    const other = await DaemonHarness.create();
    try {
      const r = await runCli(['--config', other.configPath, 'dashboard'], { TETORA_HOME: other.home, BROWSER: '', DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` });
      expect(r.code).toBe(69);
      expect(r.stderr).toContain('no Tetora daemon answers');
      expect(r.stdout).toBe('');
    } finally {
      await other.stop();
    }
  });
});
