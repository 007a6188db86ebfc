import { afterEach, describe, expect, it, vi } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';
import { startRun, waitRun, workflowConfig, writeWorkflow } from '../helpers/workflow.js';

/**
 * The whole bot in one daemon: a message through the gateway becomes a task whose reply arrives in the
 * channel, a command's reply arrives, and a workflow's notify step to `discord:<channel>` is delivered
 * through the same outbox. Agents run test/helpers/wf-agent.mjs (it answers with its prompt).
 */
const GUILD = '200000000000000001';
const C1 = '300000000000000001';
const alice = { id: '500000000000000001', username: 'alice' };
const pool = daemonPool();
const fakes: FakeDiscord[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.stop();
});

const wait = { timeout: 30_000, interval: 100 };

/** The channel's catch-up cursor: set by the catch-up at READY; what is posted after it is live. */
function cursor(d: DaemonHarness): unknown {
  return d.query('SELECT last_message_id FROM discord_channels WHERE channel_id = ?', C1)[0];
}

describe('Discord end to end', () => {
  it('a message gets its reply, a command gets its answer, a workflow notify step posts to the channel, a human gate is approved with its button', async () => {
    const fake = await FakeDiscord.start({ guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }] }], heartbeatIntervalMs: 1000 });
    fakes.push(fake);
    const d = pool.track(await DaemonHarness.create({}));
    d.writeConfig({
      ...workflowConfig(d.home),
      defaultAgent: 'a',
      discord: { enabled: true, botToken: 'test-token', guildID: GUILD, channelIDs: [C1], routes: { [C1]: { agent: 'a' } }, apiBaseUrl: fake.apiBaseUrl, showProgress: false },
    });
    writeWorkflow(d, { name: 'announce', steps: [{ id: 'tell', type: 'notify', notifyTo: `discord:${C1}`, notifyMsg: 'release {{version}} is out' }], variables: { version: '0' } });
    await d.start({ env: { TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' } });
    await vi.waitFor(async () => expect((await d.json<{ connected: boolean }>('/api/discord/status')).body.connected).toBe(true), wait);
    await vi.waitFor(() => expect(cursor(d)).toBeTruthy(), wait);

    const msg = fake.post(C1, { content: 'ping from alice', author: alice });
    await vi.waitFor(() => expect(fake.botMessages(C1).map((m) => m.content)).toContain('ping from alice'), wait);
    const reply = fake.botMessages(C1).find((m) => m.content === 'ping from alice')!;
    expect(reply.replyTo).toBe(msg.id);

    fake.post(C1, { content: '!agents', author: alice });
    await vi.waitFor(() => expect(fake.botMessages(C1).some((m) => /\ba\b/.test(m.content) && m.content !== 'ping from alice')).toBe(true), wait);

    const runId = await startRun(d, 'announce', { version: '1.2.3' });
    const run = await waitRun(d, runId);
    expect(run.status).toBe('success');
    await vi.waitFor(() => expect(fake.botMessages(C1).map((m) => m.content)).toContain('release 1.2.3 is out'), wait);
    // Each said once.
    const contents = fake.botMessages(C1).map((m) => m.content);
    expect(contents.filter((c) => c === 'ping from alice')).toHaveLength(1);
    expect(contents.filter((c) => c === 'release 1.2.3 is out')).toHaveLength(1);

    // A human gate assigned to the channel: its message carries Approve/Reject buttons, and Approve decides the step.
    writeWorkflow(d, {
      name: 'gated',
      steps: [
        { id: 'ok', type: 'human', humanSubtype: 'approval', humanPrompt: 'ship {{what}}?', humanAssignee: `discord:${C1}` },
        { id: 'after', agent: 'a', prompt: 'shipped after {{steps.ok.output}}', dependsOn: ['ok'] },
      ],
      variables: { what: 'it' },
    });
    const gated = await startRun(d, 'gated', { what: 'v2' });
    await vi.waitFor(() => expect(fake.botMessages(C1).some((m) => m.content.includes('ship v2?'))).toBe(true), wait);
    const gateMsg = fake.botMessages(C1).find((m) => m.content.includes('ship v2?'))!;
    const buttons = (gateMsg.components as Array<{ components: Array<{ custom_id: string; label: string }> }>)[0]!.components;
    expect(buttons.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    const press = fake.interaction({ kind: 'button', channelId: C1, user: alice, customId: buttons[0]!.custom_id, messageId: gateMsg.id });
    const approved = await waitRun(d, gated);
    expect(approved.status).toBe('success');
    expect(approved.steps.find((x) => x.id === 'ok')!.output).toBe('approved');
    await vi.waitFor(() => expect(press.edits.map((e) => String((e as { content?: string }).content))).toContain(`Approved step \`ok\` of run \`${gated.slice(0, 8)}\`.`), wait);
    expect(fake.botMessages(C1).filter((m) => m.content.includes('ship v2?'))).toHaveLength(1);
  });

  it('a bot enabled by SIGHUP (it was off at start) answers, and its replies are delivered', async () => {
    const fake = await FakeDiscord.start({ guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }] }], heartbeatIntervalMs: 1000 });
    fakes.push(fake);
    const d = pool.track(await DaemonHarness.create({}));
    const discord = { botToken: 'test-token', guildID: GUILD, channelIDs: [C1], routes: { [C1]: { agent: 'a' } }, apiBaseUrl: fake.apiBaseUrl };
    d.writeConfig({ ...workflowConfig(d.home), discord: { ...discord, enabled: false } });
    await d.start({ env: { TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' } });
    d.writeConfig({ ...workflowConfig(d.home), discord: { ...discord, enabled: true } });
    d.kill('SIGHUP');
    await vi.waitFor(async () => expect((await d.json<{ connected: boolean }>('/api/discord/status')).body.connected).toBe(true), wait);
    await vi.waitFor(() => expect(cursor(d)).toBeTruthy(), wait);
    fake.post(C1, { content: 'late hello', author: alice });
    await vi.waitFor(() => expect(fake.botMessages(C1).map((m) => m.content)).toContain('late hello'), wait);
  });
});
