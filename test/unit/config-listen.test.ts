import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenFlag, parseListen } from '../../src/config/listen.js';
import { loadConfig } from '../../src/config/load.js';
import { problemWith } from '../../src/init/starter.js';
import { configHomes, thrown } from '../helpers/config.js';

const homeWith = configHomes('tetora-listen-');

describe('parseListen: the one parser of listen addresses', () => {
  it('reads host:port, [v6]:port and :port (every interface), ports 0 to 65535', () => {
    expect(parseListen('127.0.0.1:8991')).toEqual({ ok: true, addr: '127.0.0.1:8991', host: '127.0.0.1', port: 8991 });
    expect(parseListen(':8991')).toEqual({ ok: true, addr: '0.0.0.0:8991', host: '0.0.0.0', port: 8991 });
    expect(parseListen('[::1]:8991')).toEqual({ ok: true, addr: '[::1]:8991', host: '::1', port: 8991 });
    expect(parseListen('[::]:0')).toEqual({ ok: true, addr: '[::]:0', host: '::', port: 0 });
    expect(parseListen('localhost:65535')).toEqual({ ok: true, addr: 'localhost:65535', host: 'localhost', port: 65535 });
  });

  it('refuses what is no host:port, and ports out of range, saying what is expected', () => {
    for (const bad of ['localhost', '8991', 'local host:80', '::1:8991', '127.0.0.1:', '127.0.0.1:123456', '127.0.0.1:80x', '[::1]8991', '']) {
      expect(parseListen(bad), bad).toEqual({ ok: false, reason: 'form', expected: expect.stringContaining('host:port') });
    }
    expect(parseListen('127.0.0.1:99999')).toEqual({ ok: false, reason: 'port', expected: 'a port between 0 and 65535' });
    expect(parseListen(':70000')).toEqual({ ok: false, reason: 'port', expected: 'a port between 0 and 65535' });
  });

  it('is what the config, `serve --listen` and `init --listen` all use: the same address reads the same everywhere', () => {
    for (const text of ['127.0.0.1:8991', ':8991', '[::1]:0']) {
      const want = parseListen(text);
      expect(want.ok).toBe(true);
      expect(listenFlag(text)).toEqual({ addr: (want as { addr: string }).addr, host: (want as { host: string }).host, port: (want as { port: number }).port });
      expect(problemWith('listen', text)).toBeNull();
      const home = homeWith({ 'config.json': { listenAddr: text } });
      const { config } = loadConfig({ configPath: join(home, 'config.json'), env: {} });
      expect([config.listenAddr, config.listenHost, config.listenPort]).toEqual([listenFlag(text).addr, listenFlag(text).host, listenFlag(text).port]);
    }
    for (const text of ['localhost', '127.0.0.1:99999']) {
      expect(thrown(() => listenFlag(text)).code).toBe('TET_ERR_USAGE');
      expect(problemWith('listen', text)).not.toBeNull();
      const home = homeWith({ 'config.json': { listenAddr: text } });
      expect(thrown(() => loadConfig({ configPath: join(home, 'config.json'), env: {} })).code).toBe('TET_ERR_CONFIG_INVALID');
    }
  });
});
