/** The pure parts of `tetora upgrade` and of the daemon's restart on a new version. */
import { describe, expect, it } from 'vitest';
import { selfCommand, successorArgs, supervisedRestart } from '../../src/daemon/serve.js';
import { isTetoraError } from '../../src/errors.js';
import { classifyNpmFailure, compareVersions, npmLayout, parseIndex, parseNpmView, pickVersion } from '../../src/upgrade/release.js';

const SHA = 'ab'.repeat(32);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isTetoraError(err) ? err.code : 'not a TetoraError';
  }
  return undefined;
}

describe('compareVersions', () => {
  it('orders by numbers, not text, and a pre-release before its release', () => {
    expect(compareVersions('1.10.0', '1.9.3')).toBeGreaterThan(0);
    expect(compareVersions('v2.0.0', '2.0.0')).toBe(0);
    expect(compareVersions('2.0.0-beta.1', '2.0.0')).toBeLessThan(0);
    expect(compareVersions('2.0.0', '2.0.0-beta.1')).toBeGreaterThan(0);
    expect(compareVersions('0.1.0', '0.1.1')).toBeLessThan(0);
  });
});

describe('parseIndex', () => {
  const index = {
    versions: [
      { version: '1.0.0', files: { 'linux-x64': { url: 'files/tetora-1.0.0', sha256: SHA } } },
      { version: '1.2.0', files: { 'linux-x64': { url: 'https://cdn.example/t-1.2.0', sha256: SHA.toUpperCase() }, 'darwin-arm64': { url: 'x', sha256: SHA } } },
      { version: '1.1.0', files: { 'darwin-arm64': { url: 'y', sha256: SHA } } },
    ],
  };

  it("keeps this platform's releases, newest first, with relative URLs resolved against the index", () => {
    expect(parseIndex(index, 'http://127.0.0.1:9/rel/index.json', 'linux-x64')).toEqual([
      { version: '1.2.0', url: 'https://cdn.example/t-1.2.0', sha256: SHA },
      { version: '1.0.0', url: 'http://127.0.0.1:9/rel/files/tetora-1.0.0', sha256: SHA },
    ]);
  });

  it('calls a malformed index a config error naming what is wrong', () => {
    expect(codeOf(() => parseIndex({}, 'http://h/i.json', 'linux-x64'))).toBe('TET_ERR_UPGRADE_CONFIG');
    expect(codeOf(() => parseIndex({ versions: [{ version: 'latest', files: {} }] }, 'http://h/i.json', 'linux-x64'))).toBe('TET_ERR_UPGRADE_CONFIG');
    expect(() => parseIndex({ versions: [{ version: '1.0.0', files: { 'linux-x64': { url: 'u', sha256: 'abc' } } }] }, 'http://h/i.json', 'linux-x64')).toThrow(/sha256 is not 64 hex digits/);
  });
});

describe('pickVersion', () => {
  it('takes the newest, or the one asked for, and lists what exists when it is missing', () => {
    expect(pickVersion(['1.0.0', '1.10.0', '1.9.0'], undefined, 'the index')).toBe('1.10.0');
    expect(pickVersion(['1.0.0', '1.10.0'], 'v1.0.0', 'the index')).toBe('1.0.0');
    expect(() => pickVersion(['1.0.0', '1.1.0'], '2.0.0', 'the index')).toThrow(/the index has no version 2\.0\.0 \(it has 1\.1\.0, 1\.0\.0\)/);
    expect(codeOf(() => pickVersion([], undefined, 'the index'))).toBe('TET_ERR_UPGRADE_NO_VERSION');
  });
});

describe('npm', () => {
  it('reads `npm view --json` with one or several versions', () => {
    expect(parseNpmView('{"versions":["1.0.0","1.1.0"],"dist-tags":{"latest":"1.1.0"}}', 'tetora')).toEqual({ versions: ['1.0.0', '1.1.0'], latest: '1.1.0' });
    expect(parseNpmView('{"versions":"1.0.0","dist-tags":{}}', 'tetora')).toEqual({ versions: ['1.0.0'] });
    expect(codeOf(() => parseNpmView('npm ERR!', 'tetora'))).toBe('TET_ERR_UPGRADE_NPM');
  });

  it('knows a global, a local and a checkout install from the package folder', () => {
    expect(npmLayout('/usr/local/lib/node_modules/tetora', 'tetora')).toEqual({ kind: 'global', prefix: '/usr/local' });
    expect(npmLayout('/home/me/proj/node_modules/tetora', 'tetora')).toEqual({ kind: 'local', project: '/home/me/proj' });
    expect(npmLayout('/opt/x/lib/node_modules/@acme/tetora', '@acme/tetora')).toEqual({ kind: 'global', prefix: '/opt/x' });
    expect(npmLayout('/home/me/src/tetora', 'tetora')).toEqual({ kind: 'checkout' });
  });

  it("classifies npm's failures: missing version, permissions, network, other", () => {
    expect(classifyNpmFailure('npm error code E404\nnpm error 404 Not Found - GET http://r/tetora', 'x').code).toBe('TET_ERR_UPGRADE_NO_VERSION');
    expect(classifyNpmFailure('npm error code EACCES\nnpm error syscall mkdir', 'x').code).toBe('TET_ERR_UPGRADE_PERMISSION');
    expect(classifyNpmFailure('npm error code ECONNREFUSED\nnpm error errno ECONNREFUSED', 'x').code).toBe('TET_ERR_UPGRADE_NETWORK');
    expect(classifyNpmFailure('npm error something else', 'x').code).toBe('TET_ERR_UPGRADE_NPM');
  });
});

describe("the daemon's successor", () => {
  it('runs the same program: the executable itself, or node with its flags and the script', () => {
    const proc = { execPath: '/opt/tetora', execArgv: [], argv: ['/opt/tetora', '/opt/tetora', 'serve'], sea: true };
    expect(selfCommand(['serve', '--listen', '127.0.0.1:8991'], proc)).toEqual({ file: '/opt/tetora', args: ['serve', '--listen', '127.0.0.1:8991'] });
    const node = { execPath: '/usr/bin/node', execArgv: ['--max-old-space-size=512'], argv: ['/usr/bin/node', '/usr/lib/node_modules/tetora/bin/tetora.js', 'serve'], sea: false };
    expect(selfCommand(['serve'], node)).toEqual({ file: '/usr/bin/node', args: ['--max-old-space-size=512', '/usr/lib/node_modules/tetora/bin/tetora.js', 'serve'] });
  });

  it('listens where the old one listened (a port 0 given at start became a real port)', () => {
    expect(successorArgs(['--config', 'c.json', 'serve', '--listen', '127.0.0.1:0'], '127.0.0.1:41234')).toEqual(['--config', 'c.json', 'serve', '--listen', '127.0.0.1:0', '--listen', '127.0.0.1:41234']);
  });

  it('is left to a service manager under systemd or when TETORA_SUPERVISED=1', () => {
    expect(supervisedRestart({})).toBe(false);
    expect(supervisedRestart({ INVOCATION_ID: 'abc' })).toBe(true);
    expect(supervisedRestart({ INVOCATION_ID: 'abc', TETORA_SUPERVISED: '0' })).toBe(false);
    expect(supervisedRestart({ TETORA_SUPERVISED: '1' })).toBe(true);
  });
});

describe("doctor's tetora line", () => {
  it('says the version, the commit and what runs', async () => {
    const { checkBuild } = await import('../../src/doctor/checks.js');
    expect(checkBuild({ version: '1.2.0', commit: 'abc123def456', singleExecutable: 'linux-x64', path: '/usr/local/bin/tetora' })).toEqual({ name: 'tetora', ok: true, detail: 'version 1.2.0, commit abc123def456, single executable linux-x64 (/usr/local/bin/tetora)', fix: null });
    expect(checkBuild({ version: '1.2.0', commit: '', path: '/usr/lib/node_modules/tetora' }).detail).toBe('version 1.2.0, npm package (/usr/lib/node_modules/tetora)');
  });
});
