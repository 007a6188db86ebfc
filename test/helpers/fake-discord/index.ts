export { FakeDiscord } from './fake-discord.js';
export type { FakeDiscordOptions, FakeMessage, PostOptions, ReceivedRequest, RequestMatcher, ScriptedResponse } from './fake-discord.js';
export type { FakeGateway, GatewayFrame, GatewaySession } from './gateway.js';
export type { FakeInteraction, InteractionSpec } from './interactions.js';
export type { ReceivedFile } from './http.js';
export type { FakeChannelSpec, FakeDmSpec, FakeGuildSpec, FakeUserSpec } from './shapes.js';
