import { randomBytes } from 'node:crypto';
import { ALL_PERMISSIONS, apiUser, errorBody, snowflake, type ApiObject, type ChannelRecord, type FakeUserSpec } from './shapes.js';
import type { FakeMessage } from './fake-discord.js';
import type { ReceivedRequest } from './faults.js';

export type InteractionSpec =
  | {
      kind: 'command';
      channelId: string;
      user: FakeUserSpec;
      name: string;
      /** String options (type 3), e.g. `{prompt: 'hi'}`. */
      options?: Record<string, string>;
    }
  | {
      kind: 'button';
      channelId: string;
      user: FakeUserSpec;
      customId: string;
      /** The message that carries the button. */
      messageId: string;
    };

/** An interaction the fake dispatched, with everything the bot did about it. */
export interface FakeInteraction {
  id: string;
  token: string;
  spec: InteractionSpec;
  /** Bodies of POST /interactions/:id/:token/callback, in order (a second one is refused with 40060). */
  callbacks: Record<string, unknown>[];
  /** The original response's message id (type 4 or 5 callbacks make one; type 7 edits the button's message). */
  originalId: string | null;
  /** Bodies of PATCH /webhooks/:app/:token/messages/@original (or /:id). */
  edits: Record<string, unknown>[];
  /** Followup messages' ids (POST /webhooks/:app/:token). */
  followups: string[];
  /** The INTERACTION_CREATE payload dispatched. */
  payload: ApiObject;
}

interface DeskHost {
  applicationId: string;
  channel(id: string): ChannelRecord | undefined;
  apiChannel(c: ChannelRecord): ApiObject;
  message(channelId: string, id: string): FakeMessage | undefined;
  createBotMessage(channelId: string, body: Record<string, unknown>, extra: ApiObject): FakeMessage;
  editMessage(m: FakeMessage, body: Record<string, unknown>): FakeMessage;
  deleteMessage(m: FakeMessage): void;
  dispatch(t: string, d: unknown): void;
}

interface RouteResult {
  status: number;
  body?: unknown;
}

/** Interactions: INTERACTION_CREATE payloads, and the callback / webhook routes the bot answers them with. */
export class InteractionDesk {
  readonly all: FakeInteraction[] = [];
  readonly #host: DeskHost;

  constructor(host: DeskHost) {
    this.#host = host;
  }

  create(spec: InteractionSpec): FakeInteraction {
    const channel = this.#host.channel(spec.channelId);
    if (!channel) throw new Error(`fake-discord: no channel ${spec.channelId} for the interaction`);
    const id = snowflake();
    const token = `itok-${randomBytes(12).toString('hex')}`;
    const who = channel.guildId
      ? { guild_id: channel.guildId, member: { user: apiUser(spec.user), roles: [], joined_at: new Date().toISOString(), permissions: ALL_PERMISSIONS, deaf: false, mute: false, flags: 0 } }
      : { user: apiUser(spec.user) };
    let data: ApiObject;
    let type: number;
    let message: ApiObject = {};
    if (spec.kind === 'command') {
      type = 2;
      data = {
        id: snowflake(),
        name: spec.name,
        type: 1,
        ...(channel.guildId ? { guild_id: channel.guildId } : {}),
        options: Object.entries(spec.options ?? {}).map(([name, value]) => ({ name, type: 3, value })),
      };
    } else {
      const carrier = this.#host.message(spec.channelId, spec.messageId);
      if (!carrier) throw new Error(`fake-discord: no message ${spec.messageId} in channel ${spec.channelId} for the button`);
      type = 3;
      data = { custom_id: spec.customId, component_type: 2 };
      message = { message: carrier.raw };
    }
    const payload: ApiObject = {
      id,
      application_id: this.#host.applicationId,
      type,
      data,
      channel_id: channel.id,
      channel: this.#host.apiChannel(channel),
      token,
      version: 1,
      app_permissions: ALL_PERMISSIONS,
      locale: 'en-US',
      ...(channel.guildId ? { guild_locale: 'en-US' } : {}),
      entitlements: [],
      authorizing_integration_owners: channel.guildId ? { '0': channel.guildId } : { '1': spec.user.id },
      context: channel.guildId ? 0 : 1,
      ...who,
      ...message,
    };
    const record: FakeInteraction = { id, token, spec, callbacks: [], originalId: null, edits: [], followups: [], payload };
    this.all.push(record);
    this.#host.dispatch('INTERACTION_CREATE', payload);
    return record;
  }

  /** `p`: the path's segments after /api/v10 (`interactions/:id/:token/callback` or `webhooks/:app/:token/...`). */
  route(e: ReceivedRequest, p: string[]): RouteResult {
    const body = e.body ?? {};
    if (p[0] === 'interactions' && p[3] === 'callback' && e.method === 'POST') {
      const it = this.all.find((i) => i.id === p[1] && i.token === p[2]);
      if (!it) return { status: 404, body: errorBody(404, 10062, 'Unknown interaction') };
      if (it.callbacks.length > 0) return { status: 400, body: errorBody(400, 40060, 'Interaction has already been acknowledged.') };
      it.callbacks.push(body);
      const type = body.type as number;
      const data = (body.data ?? {}) as Record<string, unknown>;
      let message: FakeMessage | undefined;
      const extra = {
        interaction_metadata: { id: it.id, type: it.payload.type, user: apiUser(it.spec.user), authorizing_integration_owners: it.payload.authorizing_integration_owners },
        application_id: this.#host.applicationId, webhook_id: this.#host.applicationId };
      if (type === 4) message = this.#host.createBotMessage(it.spec.channelId, data, extra);
      if (type === 5) message = this.#host.createBotMessage(it.spec.channelId, { content: '', flags: 128 | ((data.flags as number) ?? 0) }, extra);
      if (type === 7 && it.spec.kind === 'button') {
        const carrier = this.#host.message(it.spec.channelId, it.spec.messageId);
        if (carrier) message = this.#host.editMessage(carrier, data);
      }
      if (message) it.originalId = message.id;
      if (e.query.with_response !== 'true') return { status: 204 };
      return {
        status: 200,
        body: {
          interaction: { id: it.id, type: it.payload.type, activity_instance_id: null, response_message_id: message?.id ?? null, response_message_loading: type === 5, response_message_ephemeral: ((message?.flags ?? 0) & 64) !== 0 },
          resource: { type, ...(message ? { message: message.raw } : {}) },
        },
      };
    }
    if (p[0] === 'webhooks' && p[1] === this.#host.applicationId && p[2]) {
      const it = this.all.find((i) => i.token === p[2]);
      if (!it) return { status: 404, body: errorBody(404, 10015, 'Unknown Webhook') };
      if (p.length === 3 && e.method === 'POST') {
        const m = this.#host.createBotMessage(it.spec.channelId, body, { application_id: this.#host.applicationId, webhook_id: this.#host.applicationId });
        it.followups.push(m.id);
        return { status: 200, body: m.raw };
      }
      if (p[3] === 'messages' && p[4]) {
        const id = p[4] === '@original' ? it.originalId : p[4];
        const m = id ? this.#host.message(it.spec.channelId, id) : undefined;
        if (!m) return { status: 404, body: errorBody(404, 10008, 'Unknown Message') };
        if (e.method === 'GET') return { status: 200, body: m.raw };
        if (e.method === 'PATCH') {
          if (p[4] === '@original') it.edits.push(body);
          return { status: 200, body: this.#host.editMessage(m, body).raw };
        }
        if (e.method === 'DELETE') {
          this.#host.deleteMessage(m);
          return { status: 204 };
        }
      }
    }
    return { status: 404, body: errorBody(404, 0, '404: Not Found') };
  }
}
