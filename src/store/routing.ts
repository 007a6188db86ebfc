import type { Db } from './db.js';

/** The SQL smart dispatch needs (src/routing): which agent a chat session is with. */
export class RouteStore {
  readonly #sessionAgent;

  constructor(db: Db) {
    // The agent of the latest task of the session key that has one (a task being routed has none yet).
    this.#sessionAgent = db.prepare(`SELECT agent FROM tasks WHERE session_key = ? AND agent IS NOT NULL ORDER BY seq DESC LIMIT 1`);
  }

  /** The agent a chat session is with: that of its latest task with an agent, or undefined for a new session. */
  sessionAgent(sessionKey: string): string | undefined {
    return (this.#sessionAgent.get(sessionKey) as { agent: string } | undefined)?.agent;
  }
}
