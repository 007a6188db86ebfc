import type { ChatMessage, SessionUsage } from '../model/session.js';
import type { Db } from './db.js';

/** A provider session bound to a session key (a chat, a conversation). */
export interface ProviderSessionRow {
  id: number;
  sessionKey: string;
  provider: string;
  model: string | null;
  providerSessionId: string | null;
  status: 'active' | 'archived';
  /** The provider's cumulative token counts for the session, as last reported. */
  tokensIn: number;
  tokensOut: number;
  createdAt: number;
  updatedAt: number;
}

/** All SQL about provider sessions and their conversation history. */
export class SessionStore {
  readonly #get;
  readonly #insert;
  readonly #setId;
  readonly #setUsage;
  readonly #archive;
  readonly #addMsg;
  readonly #history;
  readonly #reading;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.#get = db.prepare(
      `SELECT id, session_key AS sessionKey, provider, model, provider_session_id AS providerSessionId, status,
              tokens_in AS tokensIn, tokens_out AS tokensOut, created_at AS createdAt, updated_at AS updatedAt
         FROM provider_sessions WHERE session_key = ? AND status = 'active'`,
    );
    this.#insert = db.prepare(
      `INSERT INTO provider_sessions (session_key, provider, model, provider_session_id, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'active', ?, ?)`,
    );
    this.#setId = db.prepare(`UPDATE provider_sessions SET provider_session_id = ?, updated_at = ? WHERE id = ?`);
    this.#setUsage = db.prepare(`UPDATE provider_sessions SET tokens_in = ?, tokens_out = ?, updated_at = ? WHERE id = ?`);
    this.#archive = db.prepare(
      `UPDATE provider_sessions SET status = 'archived', archive_reason = ?, updated_at = ? WHERE session_key = ? AND status = 'active'`,
    );
    this.#addMsg = db.prepare(`INSERT INTO session_messages (session_id, role, content, task_id, created_at) VALUES (?, ?, ?, ?, ?)`);
    this.#history = db.prepare(`SELECT role, content FROM session_messages WHERE session_id = ? ORDER BY id`);
    // Runs record the provider's reading of their session in their usage event (data.sessionUsage); the
    // tasks of the same session key (indexed) and the task itself are where an earlier run of it can be.
    this.#reading = db.prepare(
      `SELECT e.data AS data FROM task_events e
        WHERE e.task_id IN (SELECT id FROM tasks WHERE id = @taskId UNION SELECT id FROM tasks WHERE session_key = @sessionKey)
          AND e.type = 'provider.usage' AND json_extract(e.data, '$.sessionUsage.sessionId') = @sessionId
        ORDER BY e.seq DESC LIMIT 1`,
    );
  }

  active(sessionKey: string): ProviderSessionRow | undefined {
    return this.#get.get(sessionKey) as ProviderSessionRow | undefined;
  }

  /** Archive the active session of a key (provider change, invalid resume); returns true if there was one. */
  archive(sessionKey: string, reason: string): boolean {
    return this.#archive.run(reason, this.now(), sessionKey).changes > 0;
  }

  /** Record the provider session id a run used; opens a new active session when none matches. */
  record(
    sessionKey: string,
    provider: string,
    model: string | null,
    providerSessionId: string | null,
    usage?: { tokensIn: number; tokensOut: number },
  ): ProviderSessionRow {
    return this.db.transaction(() => {
      let cur = this.active(sessionKey);
      if (cur && cur.provider === provider && (cur.model ?? null) === (model ?? null)) {
        if (providerSessionId && cur.providerSessionId !== providerSessionId) this.#setId.run(providerSessionId, this.now(), cur.id);
      } else {
        if (cur) this.#archive.run('provider or model changed', this.now(), sessionKey);
        const t = this.now();
        this.#insert.run(sessionKey, provider, model, providerSessionId, t, t);
      }
      cur = this.active(sessionKey) as ProviderSessionRow;
      if (usage) this.#setUsage.run(usage.tokensIn, usage.tokensOut, this.now(), cur.id);
      return this.active(sessionKey) as ProviderSessionRow;
    })();
  }

  /**
   * The provider's last reading of a session (cumulative tokens, its own total cost), as the latest run
   * on it reported in its `provider.usage` event — a failed run or an earlier attempt of the same task too.
   */
  lastReading(providerSessionId: string, scope: { taskId: string; sessionKey?: string | null }): SessionUsage | undefined {
    const row = this.#reading.get({ taskId: scope.taskId, sessionKey: scope.sessionKey ?? null, sessionId: providerSessionId }) as { data: string } | undefined;
    if (!row) return undefined;
    let r: Partial<Record<keyof SessionUsage, unknown>>;
    try {
      r = ((JSON.parse(row.data) as { sessionUsage?: unknown }).sessionUsage ?? {}) as typeof r;
    } catch {
      return undefined;
    }
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const out: SessionUsage = { tokensIn: num(r.tokensIn) ?? 0, tokensOut: num(r.tokensOut) ?? 0 };
    if (num(r.cachedIn) !== undefined) out.cachedIn = num(r.cachedIn) as number;
    if (num(r.costUsd) !== undefined) out.costUsd = num(r.costUsd) as number;
    return out;
  }

  /** Append turns to the active session of the key (opened by `record`). */
  appendMessages(sessionKey: string, messages: ChatMessage[], taskId: string): void {
    const cur = this.active(sessionKey);
    if (!cur) return;
    this.db.transaction(() => {
      for (const m of messages) this.#addMsg.run(cur.id, m.role, m.content, taskId, this.now());
    })();
  }

  /** The conversation so far of the key's active session. */
  history(sessionKey: string): ChatMessage[] {
    const cur = this.active(sessionKey);
    return cur ? (this.#history.all(cur.id) as ChatMessage[]) : [];
  }
}
