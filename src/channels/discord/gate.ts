/**
 * Workflow human gates in Discord (pure). A `human` step whose `humanAssignee` is `discord:<channelId>`
 * posts its prompt in that channel through the outbox (key `gate:<subtype>:<runId>:<stepId>`); an approval
 * gate's message carries Approve and Reject buttons (custom ids `tetora:gate:approve|reject:<runId>:<stepId>`),
 * which decide the step like `tetora workflow approve|reject`.
 */

export const GATE_PREFIX = 'tetora:gate:';
/** Discord's limit on a component's custom id. */
const CUSTOM_ID_MAX = 100;

export function gateKey(subtype: string, runId: string, stepId: string): string {
  return `gate:${subtype}:${runId}:${stepId}`;
}

/** The text posted for a gate: the prompt and how to decide it. */
export function gateText(g: { workflow: string; runId: string; stepId: string; subtype: string; prompt: string }): string {
  const how =
    g.subtype === 'approval'
      ? `Approve or reject with the buttons below, or \`tetora workflow approve|reject ${g.runId} ${g.stepId}\`.`
      : `Answer with \`tetora workflow answer ${g.runId} ${g.stepId} "<text>"\`.`;
  return `**Workflow ${g.workflow}** — step \`${g.stepId}\` waits for you (${g.subtype}):\n${g.prompt || '(no prompt)'}\n${how}`;
}

/** The buttons of a gate's outbox row (from its key), or undefined (not a gate, not an approval, ids too long). */
export function gateButtons(key: string): unknown[] | undefined {
  const m = /^gate:approval:([0-9a-f-]{36}):(.+)$/.exec(key);
  if (!m) return undefined;
  const ids = ['approve', 'reject'].map((k) => `${GATE_PREFIX}${k}:${m[1]}:${m[2]}`);
  if (ids.some((id) => id.length > CUSTOM_ID_MAX)) return undefined;
  return [
    {
      type: 1,
      components: [
        { type: 2, style: 3, label: 'Approve', custom_id: ids[0] },
        { type: 2, style: 4, label: 'Reject', custom_id: ids[1] },
      ],
    },
  ];
}

/** What a gate button asks: approve or reject which run's step; undefined for other buttons. */
export function gateDecision(customId: string): { kind: 'approve' | 'reject'; runId: string; stepId: string } | undefined {
  const m = /^tetora:gate:(approve|reject):([0-9a-f-]{36}):(.+)$/.exec(customId);
  return m ? { kind: m[1] as 'approve' | 'reject', runId: m[2] as string, stepId: m[3] as string } : undefined;
}
