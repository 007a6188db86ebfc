import type { ResolvedProvider } from '../config/types.js';
import type { Ticket, TicketComment } from '../store/board.js';

/**
 * The prompts of board tasks. Pure: the ticket, its comments and its dependencies' findings in, text out.
 * Findings pass WHOLE (the original cut them to 500, then 16,000 characters): when the prompt is larger
 * than the agent's provider takes, the ticket fails with that reason (promptTooLarge), nothing is cut.
 */

export interface DependencyFinding {
  ticket: Pick<Ticket, 'id' | 'title' | 'findingTask'>;
  finding: string;
}

function commentsSection(comments: readonly TicketComment[]): string {
  if (comments.length === 0) return '';
  const lines = comments.map((c) => `### ${c.kind === 'comment' ? '' : `[${c.kind}] `}${c.author} at ${new Date(c.createdAt).toISOString()}\n\n${c.body}\n`);
  return `\n## Comments\n\n${lines.join('\n')}`;
}

/** The prompt of a ticket's run: the ticket, its comments, and every dependency's finding in full. */
export function ticketPrompt(ticket: Pick<Ticket, 'id' | 'title' | 'description' | 'project' | 'priority'>, comments: readonly TicketComment[], deps: readonly DependencyFinding[]): string {
  const parts = [`# Ticket ${ticket.id}: ${ticket.title}\n\nProject: ${ticket.project}. Priority: ${ticket.priority}.\n`];
  if (ticket.description) parts.push(`\n${ticket.description}\n`);
  parts.push(commentsSection(comments));
  if (deps.length > 0) {
    parts.push('\n## Findings of the tickets this one depends on\n\nEach is the complete output of that ticket\'s last run.\n');
    for (const d of deps) {
      parts.push(`\n### ${d.ticket.id}: ${d.ticket.title}${d.ticket.findingTask ? ` (task ${d.ticket.findingTask})` : ''}\n\n<<<FINDING ${d.ticket.id}\n${d.finding}\nFINDING ${d.ticket.id}>>>\n`);
    }
  }
  parts.push(
    `\n## Execution rules\n\n` +
      `- Work on this ticket only; your whole answer becomes its finding, which the tickets that depend on it receive in full.\n` +
      `- If you cannot finish because something is missing or blocks you, start a line with "BLOCKED:" or "NEEDS_CONTEXT:" and say what; a person then looks at the ticket.\n` +
      `- If you commit, use this commit message verbatim: [${ticket.id}] ${ticket.title}\n`,
  );
  return parts.join('');
}

/** The prompt of a review of a ticket's run: the ticket, its comments, the finding in full, and how to answer. */
export function reviewPrompt(ticket: Pick<Ticket, 'id' | 'title' | 'description' | 'project' | 'priority'>, comments: readonly TicketComment[], finding: string, taskId: string): string {
  return (
    `# Review of ticket ${ticket.id}: ${ticket.title}\n\nProject: ${ticket.project}. Priority: ${ticket.priority}.\n` +
    (ticket.description ? `\n${ticket.description}\n` : '') +
    commentsSection(comments) +
    `\n## The finding to review (the whole output of task ${taskId})\n\n<<<FINDING ${ticket.id}\n${finding}\nFINDING ${ticket.id}>>>\n` +
    `\n## Your answer\n\nJudge whether the finding does what the ticket asks. Answer with one JSON object:\n` +
    `{"verdict": "approve" | "fix" | "escalate", "comment": "what is wrong and what to change (for fix), or why a person must decide (for escalate)"}\n` +
    `approve: the ticket is done. fix: the agent runs the ticket again with your comment. escalate: a person decides.\n`
  );
}

/**
 * Why the prompt cannot go to the agent's provider (it is larger than `maxPromptBytes`), or undefined when
 * it fits. Names both sizes and the setting, so the fix is clear.
 */
export function promptTooLarge(prompt: string, agent: string, provider: Pick<ResolvedProvider, 'name' | 'type' | 'maxPromptBytes'>, defaults: Readonly<Record<string, number | undefined>>): string | undefined {
  const limit = provider.maxPromptBytes;
  if (limit === undefined || limit <= 0) return undefined;
  const bytes = Buffer.byteLength(prompt, 'utf8');
  if (bytes <= limit) return undefined;
  const origin = defaults[provider.type] === limit ? `the default for a ${provider.type} provider` : 'as configured';
  return (
    `the prompt (the ticket, its comments and its dependencies' findings in full) is ${bytes.toLocaleString('en-US')} bytes, ` +
    `but provider "${provider.name}" of agent "${agent}" takes at most ${limit.toLocaleString('en-US')} bytes ` +
    `(providers.${provider.name}.maxPromptBytes, ${origin}); nothing was cut and the ticket did not run. ` +
    `Raise providers.${provider.name}.maxPromptBytes if the model takes more (0: no limit), assign the ticket to an agent whose provider does, or shorten the dependencies' findings.`
  );
}
