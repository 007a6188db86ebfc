/** Conversation and usage types shared by the store (which keeps them) and the engine and providers (which produce them). */

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** A provider's cumulative reading for a session (tokens, cached input tokens, cost in USD). */
export interface SessionUsage {
  tokensIn: number;
  tokensOut: number;
  /** Cached input tokens (a part of tokensIn), when the provider reports them. */
  cachedIn?: number;
  /** The provider's own total cost of the session (claude's total_cost_usd). */
  costUsd?: number;
}
