import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiObject } from './shapes.js';

/** One gateway session: it outlives its socket so that a RESUME can replay what was missed. */
export interface GatewaySession {
  id: string;
  /** The last sequence number given out. */
  seq: number;
  /** Every dispatch of the session, for replay after RESUME. */
  events: { s: number; t: string; d: unknown }[];
  socket: WebSocket | null;
  /** false once invalidated (op 9 d:false) or after a bad RESUME: never resumable again. */
  valid: boolean;
  identifiedAt: number;
  resumes: number;
}

/** A frame the client sent (heartbeats included). */
export interface GatewayFrame {
  op: number;
  at: number;
  sessionId: string | null;
  d: unknown;
}

export interface GatewayHost {
  token(): string;
  /** The READY payload's user and application, and the GUILD_CREATE payloads, built at identify time. */
  ready(): { user: ApiObject; applicationId: string; guilds: ApiObject[] };
  wsUrl(): string;
}

/**
 * The fake gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats (op 1 → op 11), RESUME (op 6)
 * → replay + RESUMED, and the faults a test triggers: op 7, op 9, zombie (no ACKs), close with a code.
 */
export class FakeGateway {
  readonly sessions: GatewaySession[] = [];
  readonly frames: GatewayFrame[] = [];
  identifies = 0;
  resumes = 0;
  /** While true, heartbeats are not acknowledged (a zombie connection, as the client sees it). */
  zombie = false;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<WebSocket>();
  readonly #host: GatewayHost;
  readonly #heartbeatIntervalMs: number;

  constructor(host: GatewayHost, heartbeatIntervalMs: number) {
    this.#host = host;
    this.#heartbeatIntervalMs = heartbeatIntervalMs;
  }

  /** Open sockets whose session is identified (or resumed) and valid. */
  get connected(): number {
    return this.sessions.filter((s) => s.socket !== null && s.valid).length;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  /** Send a dispatch to every valid session: at once when its socket is open, else kept for RESUME. */
  dispatch(t: string, d: unknown): void {
    for (const session of this.sessions) if (session.valid) this.#dispatchTo(session, t, d);
  }

  /** op 7: every connected client is told to reconnect (and resume). */
  reconnect(): void {
    for (const s of this.#open()) send(s.socket!, { op: 7, d: null });
  }

  /** op 9 to every connected client; `resumable: false` also ends their sessions. */
  invalidate(resumable: boolean): void {
    for (const s of this.#open()) {
      if (!resumable) s.valid = false;
      send(s.socket!, { op: 9, d: resumable });
    }
  }

  /** Close every socket with `code` (sessions stay resumable unless the code says otherwise to the client). */
  close(code = 4000, reason = 'fake close'): void {
    for (const ws of this.#sockets) ws.close(code, reason);
  }

  /** Drop every TCP connection without a close frame. */
  terminate(): void {
    for (const ws of this.#sockets) ws.terminate();
  }

  stop(): void {
    this.terminate();
    this.#wss.close();
  }

  #open(): GatewaySession[] {
    return this.sessions.filter((s) => s.socket !== null && s.valid);
  }

  #dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const event = { s: session.seq, t, d };
    session.events.push(event);
    if (session.socket) send(session.socket, { op: 0, ...event });
  }

  #accept(ws: WebSocket): void {
    this.#sockets.add(ws);
    let session: GatewaySession | null = null;
    ws.on('close', () => {
      this.#sockets.delete(ws);
      if (session?.socket === ws) session.socket = null;
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (raw) => {
      let frame: { op?: number; d?: unknown };
      try {
        frame = JSON.parse(String(raw)) as { op?: number; d?: unknown };
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      const op = typeof frame.op === 'number' ? frame.op : -1;
      this.frames.push({ op, at: Date.now(), sessionId: session?.id ?? null, d: frame.d });
      if (op === 1) {
        if (!this.zombie) send(ws, { op: 11, d: null });
      } else if (op === 2) {
        session = this.#identify(ws, frame.d as { token?: string }) ?? session;
      } else if (op === 6) {
        session = this.#resume(ws, frame.d as { token?: string; session_id?: string; seq?: number | null }) ?? session;
      }
    });
    send(ws, { op: 10, d: { heartbeat_interval: this.#heartbeatIntervalMs } });
  }

  #identify(ws: WebSocket, d: { token?: string }): GatewaySession | null {
    if (stripBot(d?.token) !== this.#host.token()) {
      ws.close(4004, 'Authentication failed.');
      return null;
    }
    this.identifies += 1;
    const session: GatewaySession = {
      id: randomBytes(16).toString('hex'),
      seq: 0,
      events: [],
      socket: ws,
      valid: true,
      identifiedAt: Date.now(),
      resumes: 0,
    };
    this.sessions.push(session);
    const { user, applicationId, guilds } = this.#host.ready();
    this.#dispatchTo(session, 'READY', {
      v: 10,
      user,
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.#host.wsUrl(),
      shard: [0, 1],
      application: { id: applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      user_settings: {},
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
    });
    for (const g of guilds) this.#dispatchTo(session, 'GUILD_CREATE', g);
    return session;
  }

  #resume(ws: WebSocket, d: { token?: string; session_id?: string; seq?: number | null }): GatewaySession | null {
    const session = this.sessions.find((s) => s.id === d?.session_id);
    if (stripBot(d?.token) !== this.#host.token() || !session || !session.valid) {
      if (session) session.valid = false;
      send(ws, { op: 9, d: false });
      return null;
    }
    if (session.socket && session.socket !== ws) session.socket.close(4000, 'Session resumed elsewhere');
    session.socket = ws;
    session.resumes += 1;
    this.resumes += 1;
    const after = d.seq ?? 0;
    for (const e of session.events) if (e.s > after) send(ws, { op: 0, ...e });
    this.#dispatchTo(session, 'RESUMED', null);
    return session;
  }
}

function send(ws: WebSocket, payload: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
}

function stripBot(token: unknown): string {
  return typeof token === 'string' ? token.replace(/^Bot /, '') : '';
}
