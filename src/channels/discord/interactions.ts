/**
 * Interactions from the gateway: the slash commands (/ask, /status, /cancel, /new, /agents) and the
 * Cancel button of a live status message (custom_id `tetora:cancel:<taskId>`). Discord wants an answer
 * within 3 s: each is first deferred, then its reply edited in. /ask's answer is a task's reply, which goes
 * through the outbox like any other (it survives a crash; an interaction token lasts 15 minutes and is
 * lost with the process), so the deferred reply is edited to say which task it is.
 */
import { MessageFlags, SlashCommandBuilder, type ButtonInteraction, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { Logger } from '../../engine/logger.js';
import { messageOf } from '../../errors.js';
import { isTerminal, type TaskStatus } from '../../engine/states.js';
import type { Engine } from '../../engine/engine.js';
import type { DiscordStore } from '../../store/discord.js';
import { runCommand, type CommandDeps } from './commands.js';
import { gateDecision } from './gate.js';
import type { Command, CommandName } from './inbound.js';
import type { Intake } from './intake.js';

export const CANCEL_PREFIX = 'tetora:cancel:';

/** The slash commands registered in the guild at start (bulk overwrite). */
export function slashCommands(): unknown[] {
  return [
    new SlashCommandBuilder().setName('ask').setDescription('Ask the channel\'s agent a one-shot question (no session)').addStringOption((o) => o.setName('prompt').setDescription('the question').setRequired(true)),
    new SlashCommandBuilder().setName('status').setDescription('The daemon and this channel\'s queue'),
    new SlashCommandBuilder().setName('cancel').setDescription('Cancel this channel\'s running and queued tasks'),
    new SlashCommandBuilder().setName('new').setDescription('Start a fresh session in this channel'),
    new SlashCommandBuilder().setName('agents').setDescription('The configured agents'),
  ].map((b) => b.toJSON());
}

/** The task a Cancel button names, or undefined. Pure. */
export function cancelTarget(customId: string): string | undefined {
  if (!customId.startsWith(CANCEL_PREFIX)) return undefined;
  const id = customId.slice(CANCEL_PREFIX.length);
  return id.length > 0 ? id : undefined;
}

/**
 * Whether a Cancel press in `channelId` may cancel the task: only a task that came from that very channel
 * (a thread's button cancels the thread's task). Pure.
 */
export function mayCancel(origin: string | null, channelId: string): boolean {
  if (!origin) return false;
  try {
    return (JSON.parse(origin) as { channelId?: unknown }).channelId === channelId;
  } catch {
    return false;
  }
}

export interface InteractionDeps extends CommandDeps {
  engine: Engine;
  store: DiscordStore;
  intake: Intake;
  log: Logger;
  /** Decide a waiting workflow human gate (the daemon passes the workflow runner's `decide`). */
  decideGate?: (runId: string, stepId: string, kind: 'approve' | 'reject', by: string) => void;
}

export async function onInteraction(i: Interaction, d: InteractionDeps): Promise<void> {
  try {
    if (i.isButton()) await onButton(i, d);
    else if (i.isChatInputCommand()) await onSlash(i, d);
  } catch (err) {
    d.log.warn({ err: messageOf(err), interactionId: i.id }, 'discord: answering an interaction failed');
  }
}

async function onButton(i: ButtonInteraction, d: InteractionDeps): Promise<void> {
  const gate = gateDecision(i.customId);
  if (gate) return onGateButton(i, d, gate);
  const taskId = cancelTarget(i.customId);
  if (!taskId) return;
  await i.deferReply({ flags: MessageFlags.Ephemeral });
  const task = d.engine.get(taskId);
  let answer: string;
  if (!task || !mayCancel(task.origin ?? null, i.channelId)) answer = 'That task is not one of this channel\'s.';
  else if (isTerminal(task.status as TaskStatus)) answer = `Task \`${taskId.slice(0, 8)}\` already ended (${task.status}).`;
  else {
    try {
      await d.engine.cancel(taskId, `${i.user.username} (the Cancel button in Discord)`);
      answer = `Cancelled task \`${taskId.slice(0, 8)}\`.`;
    } catch (err) {
      answer = `Could not cancel task \`${taskId.slice(0, 8)}\`: ${messageOf(err)}`;
    }
  }
  d.log.info({ taskId, channelId: i.channelId, user: i.user.id }, `discord: Cancel button: ${answer}`);
  await i.editReply({ content: answer });
}

/** Approve or Reject on a workflow gate's message: decides the step as `tetora workflow approve|reject` does. */
async function onGateButton(i: ButtonInteraction, d: InteractionDeps, g: NonNullable<ReturnType<typeof gateDecision>>): Promise<void> {
  await i.deferReply({ flags: MessageFlags.Ephemeral });
  let answer: string;
  if (!d.decideGate) answer = 'This daemon runs no workflows; decide the step with `tetora workflow approve|reject`.';
  else {
    try {
      d.decideGate(g.runId, g.stepId, g.kind, `${i.user.username} (Discord)`);
      answer = `${g.kind === 'approve' ? 'Approved' : 'Rejected'} step \`${g.stepId}\` of run \`${g.runId.slice(0, 8)}\`.`;
    } catch (err) {
      answer = `Could not ${g.kind} step \`${g.stepId}\`: ${messageOf(err)}`;
    }
  }
  d.log.info({ runId: g.runId, step: g.stepId, channelId: i.channelId, user: i.user.id }, `discord: gate button: ${answer}`);
  await i.editReply({ content: answer });
}

const SLASH: Record<string, CommandName> = { ask: 'ask', status: 'status', cancel: 'cancel', new: 'new', agents: 'agents' };

async function onSlash(i: ChatInputCommandInteraction, d: InteractionDeps): Promise<void> {
  const name = SLASH[i.commandName];
  if (!name) return;
  await i.deferReply();
  if (d.store.inbound(i.id)) return; // a replayed interaction: already answered
  const command: Command = { name, arg: name === 'ask' ? (i.options.getString('prompt') ?? '') : '' };
  const channel = i.channel;
  const parentChannelId = channel && 'isThread' in channel && channel.isThread() ? channel.parentId : null;
  const place = { channelId: i.channelId, parentChannelId, messageId: i.id };
  const outcome = await runCommand(command, place, d);
  const base = { messageId: i.id, channelId: i.channelId, guildId: i.guildId ?? null, authorId: i.user.id, receivedAt: d.now() };
  if (outcome.kind === 'reply') {
    d.engine.atomically(() => d.store.recordInbound({ ...base, kind: 'command' }));
    await i.editReply({ content: outcome.body.slice(0, 2000) });
    return;
  }
  const r = d.intake.enqueueTask(
    { id: i.id, channelId: i.channelId, guildId: i.guildId ?? null, parentChannelId, isDM: !i.guildId, authorId: i.user.id, interactionId: i.id },
    outcome,
    'interaction',
  );
  await i.editReply({ content: 'taskId' in r ? `Task \`${r.taskId}\` (${outcome.agent}) is queued; the answer follows in this channel.` : r.error });
}
