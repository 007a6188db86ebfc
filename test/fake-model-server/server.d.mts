/** Types of server.mjs (the fake model server), for the TypeScript tests that import it. */

export type FakeFamily = 'anthropic' | 'openai';

interface StepCommon {
  /** How many requests this step answers; -1 = for ever. @default 1 */
  times?: number;
  /** A substring the raw request body must contain for this step to answer. */
  match?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Answer only once `release(gate)` was called (or POST /__fake/release {gate}); after any delayMs. */
  gate?: string;
}

export type FakeStep = StepCommon &
  (
    | {
        type: 'text';
        text?: string;
        usage?: { input?: number; output?: number };
        model?: string;
        /** How a streamed answer ends: 'cut' closes the connection mid-answer; 'max_tokens' stops at the token limit. */
        end?: 'cut' | 'max_tokens';
      }
    | { type: 'tool_use'; name: string; input?: Record<string, unknown>; text?: string; id?: string; usage?: { input?: number; output?: number } }
    | { type: 'function_call'; name: string; arguments?: Record<string, unknown> | string; callId?: string; usage?: { input?: number; output?: number } }
    | { type: 'error'; status: number; headers?: Record<string, string>; errorType?: string; message?: string; code?: string; body?: unknown }
    | { type: 'stream_error'; errorType?: string; message?: string; code?: string }
    | { type: 'hang' }
    | { type: 'stall' }
    | { type: 'usage_limit'; resetsInSeconds?: number; resetAt?: number | string; message?: string; headers?: Record<string, string> }
  );

export interface FakeScript {
  anthropic?: FakeStep[];
  openai?: FakeStep[];
}

export interface FakeRequest {
  family: FakeFamily;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  /** The step type that answered. */
  step: string;
  at: number;
}

export interface FakeModelServer {
  port: number;
  /** http://127.0.0.1:PORT (no /v1). */
  url: string;
  /** Replace (or append to) the queues of the families named in `script`. */
  script(script: FakeScript, append?: boolean): void;
  /** Empty the queues, the request log and the gates. */
  reset(): void;
  /** Lets the answers waiting for `gate` go, and every later one at once. */
  release(gate: string): void;
  requests(family?: FakeFamily): FakeRequest[];
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  script?: FakeScript;
  logFile?: string;
}

export function start(options?: StartOptions): Promise<FakeModelServer>;
