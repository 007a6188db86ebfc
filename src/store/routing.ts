import type { Db } from './db.js';

/** In the archive reason of a session the user asked to start afresh (`!new`): routing starts afresh too. */
export const FRESH_SESSION_MARK = '(!new)';

/** The SQL smart dispatch needs (src/routing): which agent a chat session is with. */
export class RouteStore {
  readonly #sessionAgent;

  constructor(db: Db) {
    // The agent of the latest task of the session key that has one (a task being routed has none yet),
    // unless a fresh session was asked for since (Discord's `!new` archives the session with that reason).
    this.#sessionAgent = db.prepare(`SELECT agent FROM tasks t WHERE t.session_key = @key AND t.agent IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM provider_sessions p WHERE p.session_key = @key AND p.status = 'archived'
        AND p.archive_reason LIKE @fresh AND p.updated_at >= t.created_at)
      ORDER BY t.seq DESC LIMIT 1`);
  }

  /** The agent a chat session is with: that of its latest task with an agent, or undefined for a new session. */
  sessionAgent(sessionKey: string): string | undefined {
    return (this.#sessionAgent.get({ key: sessionKey, fresh: `%${FRESH_SESSION_MARK}%` }) as { agent: string } | undefined)?.agent;
  }
}
