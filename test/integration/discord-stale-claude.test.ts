import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { SessionStore } from '../../src/store/sessions.js';
import { start, type FakeModelServer } from '../fake-model-server/server.mjs';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { FakeDiscord } from '../helpers/fake-discord/index.js';
import { claudeProvider } from '../helpers/provider-harness.js';

/**
 * A stale chat session with the real `claude` CLI (against the fake model server): the channel's session
 * names a claude session id the CLI does not know (made under another home or machine). The run fails with
 * "No conversation found", the engine archives the session, records `session_recovery` (what the reply's
 * reset line comes from), runs the same message on a fresh session, and the daemon logs the recovery.
 */

const GUILD = '200000000000000001';
const C1 = '300000000000000001';
const alice = { id: '500000000000000001', username: 'alice' };
const UNKNOWN = '0b9c7a8e-1d2f-4a3b-9c8d-7e6f5a4b3c2d';

const pool = daemonPool();
const open: { fake?: FakeDiscord; model?: FakeModelServer } = {};
afterEach(async () => {
  await open.fake?.stop();
  await open.model?.close();
  open.fake = undefined;
  open.model = undefined;
});

describe('Discord: a stale claude session', () => {
  it('a session id the claude CLI does not know: archived with the reason, the same message answered on a fresh session', async () => {
    const model = (open.model = await start());
    const fake = (open.fake = await FakeDiscord.start({ guilds: [{ id: GUILD, name: 'lab', channels: [{ id: C1, name: 'one' }] }] }));
    model.script({ anthropic: [{ type: 'text', text: 'fresh answer' }] });
    const d = await DaemonHarness.create({
      discord: { enabled: true, botToken: 'test-token', guildID: GUILD, channelIDs: [C1], routes: { [C1]: { agent: 'c' } }, apiBaseUrl: fake.apiBaseUrl },
      agents: { c: { provider: 'fake' } },
    });
    pool.track(d);
    // The claude provider, its HOME inside this daemon's home (known once the harness made it).
    mkdirSync(join(d.home, 'cli-home'), { recursive: true });
    const cfg = JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
    d.writeConfig({ ...cfg, defaultProvider: 'claude', providers: { claude: claudeProvider(model.url, join(d.home, 'cli-home')) }, agents: { c: { provider: 'claude', model: 'sonnet' } } });
    // The channel's session, as another machine left it.
    const db = openDb(join(d.home, 'tetora.db'));
    new SessionStore(db).record(`discord:${C1}`, 'claude', 'sonnet', UNKNOWN);
    db.close();
    await d.start({ env: { TETORA_DISCORD_TEST_FAST_IDENTIFY: '1' } });
    await vi.waitFor(async () => expect((await d.json<{ connected: boolean }>('/api/discord/status')).body.connected).toBe(true), { timeout: 20_000 });
    await vi.waitFor(() => expect(d.query(`SELECT 1 FROM discord_channels WHERE channel_id = ? AND last_message_id IS NOT NULL`, C1)).toHaveLength(1), { timeout: 20_000 });
    const m = fake.post(C1, { content: 'hello again', author: alice });
    await vi.waitFor(() => expect(d.query(`SELECT id FROM tasks WHERE json_extract(origin, '$.messageId') = ?`, m.id)).toHaveLength(1), { timeout: 20_000 });
    const [{ id }] = d.query<{ id: string }>(`SELECT id FROM tasks WHERE json_extract(origin, '$.messageId') = ?`, m.id) as [{ id: string }];
    const [t] = await d.waitTerminal([id], 90_000);
    expect(t).toMatchObject({ status: 'succeeded', output: 'fresh answer' });
    const ev = d.query<{ data: string }>(`SELECT data FROM task_events WHERE task_id = ? AND type = 'session_recovery'`, id);
    expect(ev).toHaveLength(1);
    const reason = (JSON.parse(ev[0]!.data) as { reason: string }).reason;
    expect(reason).toMatch(/^the provider no longer knew the session: .*session is gone/);
    const sessions = d.query<{ provider_session_id: string; status: string; archive_reason: string | null }>(`SELECT provider_session_id, status, archive_reason FROM provider_sessions WHERE session_key = ? ORDER BY id`, `discord:${C1}`);
    expect(sessions[0]).toMatchObject({ provider_session_id: UNKNOWN, status: 'archived' });
    expect(sessions[1]).toMatchObject({ status: 'active' });
    expect(sessions[1]!.provider_session_id).not.toBe(UNKNOWN);
    await vi.waitFor(() => expect(d.hasLog(`discord: stale session for agent c in channel ${C1} (${reason}) — recovered`)).toBe(true), { timeout: 10_000 });
    // The user gets the normal answer plus one line saying the context was reset and why, once.
    await vi.waitFor(() => expect(fake.botMessages(C1).some((b) => b.content.startsWith('fresh answer'))).toBe(true), { timeout: 20_000 });
    const replies = fake.botMessages(C1).filter((b) => b.content.startsWith('fresh answer'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.content).toContain(`The earlier context of this channel was reset (${reason})`);
  });
});

