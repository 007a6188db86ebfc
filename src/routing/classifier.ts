/**
 * The classifier of smart dispatch, the pure part: the prompt the coordinator is given, and the reading
 * of its answer. The classifying call itself is an engine task (source `route`; see src/engine/engine.ts).
 */
import type { ResolvedAgent } from '../config/types.js';
import type { Confidence } from './tiers.js';

/** The prompt of a classifier task: the agents with their descriptions and keywords, the exact valid names, the request. */
export function classifierPrompt(agents: Record<string, Pick<ResolvedAgent, 'description' | 'keywords'>>, request: string, escalated = false): string {
  const names = Object.keys(agents);
  const lines = Object.entries(agents).map(([name, a]) => {
    const kw = a.keywords.length ? ` (keywords: ${a.keywords.join(', ')})` : '';
    return `- ${name}: ${a.description.trim() || '(no description)'}${kw}`;
  });
  return [
    'You are the dispatcher of a team of AI agents. Choose the ONE agent best suited to the request below.',
    escalated ? 'A first, quicker classification was not confident; decide carefully.' : '',
    '',
    'Agents:',
    ...lines,
    '',
    `Valid agent names (use one exactly as written): ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    '',
    'Answer with ONE JSON object and nothing else:',
    '{"agent": "<one of the valid names>", "confidence": "high" | "medium" | "low", "reason": "<one short sentence>"}',
    '',
    '--- request ---',
    request,
    '--- end of request ---',
  ]
    .filter((l, i, all) => !(l === '' && all[i - 1] === ''))
    .join('\n');
}

export type ClassifierAnswer = { ok: true; agent: string; confidence: Confidence; reason: string } | { ok: false; problem: string };

const SHOWN = 120;
const shown = (s: string) => JSON.stringify(s.length > SHOWN ? `${s.slice(0, SHOWN)}…` : s);

/**
 * Read a classifier's answer: the JSON object from its first `{` to its last `}`, with `agent` (or the
 * original's `role`) naming one of `agents`, `confidence` high|medium|low (missing: medium) and a reason.
 */
export function parseClassifierAnswer(output: string, agents: readonly string[]): ClassifierAnswer {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  if (start < 0 || end <= start) return { ok: false, problem: `the classifier's answer holds no JSON object: ${shown(output.trim())}` };
  let v: unknown;
  try {
    v = JSON.parse(output.slice(start, end + 1));
  } catch (err) {
    return { ok: false, problem: `the classifier's answer is not valid JSON (${(err as Error).message}): ${shown(output.slice(start, end + 1))}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, problem: `the classifier's answer is no JSON object: ${shown(output.trim())}` };
  const o = v as Record<string, unknown>;
  const name = typeof o.agent === 'string' && o.agent.trim() ? o.agent.trim() : typeof o.role === 'string' && o.role.trim() ? o.role.trim() : undefined;
  if (name === undefined) return { ok: false, problem: `the classifier's answer names no agent ("agent" or "role"): ${shown(output.slice(start, end + 1))}` };
  if (!agents.includes(name)) return { ok: false, problem: `the classifier named agent ${JSON.stringify(name)}, which is not configured (agents: ${agents.join(', ')})` };
  const c = typeof o.confidence === 'string' ? o.confidence.trim().toLowerCase() : '';
  const confidence: Confidence = c === 'high' || c === 'low' || c === 'medium' ? c : 'medium';
  const reason = typeof o.reason === 'string' && o.reason.trim() ? o.reason.trim() : '(the classifier gave no reason)';
  return { ok: true, agent: name, confidence, reason };
}
