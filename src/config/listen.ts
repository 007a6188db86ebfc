import { TetoraError } from '../errors.js';

/** The daemon's listen address when the config names none. */
export const DEFAULT_LISTEN = '127.0.0.1:8991';

/**
 * The one parser of listen addresses (`listenAddr` in the config, `serve --listen`, `init --listen`).
 * Pure: no I/O. parseListen returns what is wrong; the config loader words its own error from it.
 */

/** A listen address as the daemon binds it. */
export interface ListenAddress {
  /** Normalised `host:port` (`:8991` becomes `0.0.0.0:8991`); an IPv6 host keeps its brackets. */
  addr: string;
  /** The host to bind, without brackets. */
  host: string;
  /** 0 (any free port) to 65535. */
  port: number;
}

export type ListenParse = ({ ok: true } & ListenAddress) | { ok: false; reason: 'form' | 'port'; expected: string };

/** `host:port`, `[v6]:port`, or `:port` (Go's way of saying every interface). */
const FORM = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):(\d{1,5})$/;

export const LISTEN_EXAMPLE = '127.0.0.1:8991';

/**
 * Parse `host:port`. An empty host (`:8991`) means every IPv4 interface, 0.0.0.0, as in the original's Go
 * config. The port is 0 (any free port) to 65535.
 */
export function parseListen(text: string): ListenParse {
  const m = FORM.exec(text);
  if (!m) return { ok: false, reason: 'form', expected: `host:port, for example ${LISTEN_EXAMPLE} (or :8991 for every interface)` };
  const port = Number(m[2]);
  if (port > 65535) return { ok: false, reason: 'port', expected: 'a port between 0 and 65535' };
  const given = m[1] as string;
  const bare = given.replace(/^\[|\]$/g, '');
  const host = bare === '' ? '0.0.0.0' : bare;
  return { ok: true, host, port, addr: `${given === '' ? host : given}:${port}` };
}

/** A listen address given as a command-line flag (`serve --listen`): parsed, or TET_ERR_USAGE naming the flag. */
export function listenFlag(text: string, flag = '--listen'): ListenAddress {
  const p = parseListen(text);
  if (p.ok) return { addr: p.addr, host: p.host, port: p.port };
  if (p.reason === 'port') {
    throw new TetoraError('TET_ERR_USAGE', `${flag} "${text}": port ${text.slice(text.lastIndexOf(':') + 1)} is out of range; use a port from 1 to 65535 (or 0 for any free port).`, { field: flag, value: text });
  }
  throw new TetoraError('TET_ERR_USAGE', `${flag} "${text}" is not ${p.expected}.`, { field: flag, value: text });
}
