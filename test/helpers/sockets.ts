import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `127.0.0.1:port` as /proc/net/tcp writes it (little-endian address, hex port). */
const loopback = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Whether process `pid` still holds (has a file descriptor of) its end of the TCP connection between its
 * listening port `serverPort` and a client's local port `clientPort` on 127.0.0.1: what the server did
 * with the connection, seen from outside whatever the client reads. Linux only (/proc).
 */
export function holdsConnection(pid: number, serverPort: number, clientPort: number): boolean {
  const local = loopback(serverPort);
  const remote = loopback(clientPort);
  const row = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === local && f[2] === remote);
  const inode = row?.[9];
  if (!inode || inode === '0') return false;
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
    } catch {
      return false;
    }
  });
}
