import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import Database from 'better-sqlite3';

/**
 * tmpfs mounts made by a test file (root only), unmounted after each test (lazily if still busy). Call it
 * before daemonPool(): afterEach hooks run in reverse, so the daemons are gone before the unmount.
 * `over(dir, size)` mounts over an existing folder; `fresh(size)` mounts a new temporary folder, removed
 * after its unmount.
 */
export function tmpfsMounts(): { over(dir: string, size: string): void; fresh(size: string): string } {
  const mounts: Array<{ dir: string; remove: boolean }> = [];
  afterEach(() => {
    for (const { dir, remove } of mounts.splice(0)) {
      try {
        execFileSync('umount', [dir]);
      } catch {
        execFileSync('umount', ['-l', dir]);
      }
      if (remove) rmdirSync(dir);
    }
  });
  const mount = (dir: string, size: string, remove: boolean) => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
    mounts.push({ dir, remove });
  };
  return {
    over: (dir, size) => mount(dir, size, false),
    fresh: (size) => {
      const dir = mkdtempSync(join(tmpdir(), 'tetora-disk-'));
      mount(dir, size, true);
      return dir;
    },
  };
}

/** Grow `path` until the disk has no byte left (call again to take space freed since). */
export function fill(path: string): void {
  const fd = openSync(path, 'a');
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const buf = Buffer.alloc(size);
      for (;;) {
        try {
          if (writeSync(fd, buf) < size) break;
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Checkpoint and truncate the WAL from another connection: the daemon's next write then needs new space. */
export function truncateWal(dbPath: string): void {
  const db = new Database(dbPath);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** Polls `probe` every 100 ms until it gives a value; fails after the deadline. */
export async function until<T>(probe: () => Promise<T | undefined>, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not reached within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * POSTs `body` (declared whole in Content-Length) and resolves with the answer as soon as it arrives: the
 * daemon answers 413 from the Content-Length without reading the rest (fetch would fail with EPIPE then).
 */
export function postRaw(port: number, path: string, body: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The write side breaks once the daemon closed after its answer; the answer settles the promise.
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    // The headers and the first MiB: the daemon decides from Content-Length and answers; the rest is never sent.
    req.flushHeaders();
    req.write(body.slice(0, 1024 * 1024));
  });
}
