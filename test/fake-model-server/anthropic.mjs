import { DEFAULT_TEXT, chunks, fakeId, resetEpochSeconds, sendJson, sse, startSse, usageOf } from './sse.mjs';

/**
 * The Anthropic Messages API (`POST /v1/messages`), streamed (SSE: message_start, ping,
 * content_block_start/delta/stop, message_delta, message_stop) or as one JSON message, driven by one
 * script step: text | tool_use | error | stream_error | stall | usage_limit (hang is handled by the server).
 */

function contentOf(step) {
  if (step.type === 'tool_use' || step.type === 'function_call') {
    const input = step.input ?? (typeof step.arguments === 'string' ? JSON.parse(step.arguments) : step.arguments) ?? {};
    const blocks = [];
    if (step.text) blocks.push({ type: 'text', text: step.text });
    blocks.push({ type: 'tool_use', id: step.id ?? fakeId('toolu'), name: step.name, input });
    return { blocks, stopReason: 'tool_use' };
  }
  return { blocks: [{ type: 'text', text: step.text ?? DEFAULT_TEXT }], stopReason: 'end_turn' };
}

function messageShell(model, usage) {
  return {
    id: fakeId('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

function errorBody(step) {
  if (step.body !== undefined) return step.body;
  return {
    type: 'error',
    error: { type: step.errorType ?? 'api_error', message: step.message ?? 'fake error' },
    request_id: fakeId('req'),
  };
}

export function anthropicError(res, step) {
  sendJson(res, step.status ?? 500, errorBody(step), step.headers ?? {});
}

/** 429 with the unified rate-limit headers a subscription/API-key wall carries: status rejected and the reset time. */
export function anthropicUsageLimit(res, step) {
  const reset = resetEpochSeconds(step);
  const wait = Math.max(1, reset - Math.floor(Date.now() / 1000));
  sendJson(
    res,
    429,
    { type: 'error', error: { type: 'rate_limit_error', message: step.message ?? 'This request would exceed your usage limit.' }, request_id: fakeId('req') },
    {
      'retry-after': String(wait),
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': String(reset),
      'anthropic-ratelimit-unified-representative-claim': 'five_hour',
      ...(step.headers ?? {}),
    },
  );
}

export function anthropicMessage(res, step, body) {
  const model = step.model ?? body?.model ?? 'claude-fake';
  const usage = usageOf(step);
  if (step.type === 'stall') {
    startSse(res);
    sse(res, 'message_start', { type: 'message_start', message: messageShell(model, usage) });
    sse(res, 'ping', { type: 'ping' });
    return; // silence from here on
  }
  if (step.type === 'stream_error') {
    startSse(res);
    sse(res, 'message_start', { type: 'message_start', message: messageShell(model, usage) });
    sse(res, 'error', { type: 'error', error: { type: step.errorType ?? 'overloaded_error', message: step.message ?? 'Overloaded' } });
    res.end();
    return;
  }
  const { blocks, stopReason } = contentOf(step);
  if (!body?.stream) {
    const msg = messageShell(model, usage);
    msg.content = blocks;
    msg.stop_reason = stopReason;
    msg.usage.output_tokens = usage.output;
    sendJson(res, 200, msg);
    return;
  }
  startSse(res);
  sse(res, 'message_start', { type: 'message_start', message: messageShell(model, usage) });
  sse(res, 'ping', { type: 'ping' });
  let cut = false;
  blocks.forEach((block, index) => {
    if (cut) return;
    if (block.type === 'text') {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const part of chunks(block.text)) {
        sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } });
      }
      // `end: 'cut'`: the connection closes mid-answer, before message_stop.
      if (step.end === 'cut') {
        cut = true;
        return;
      }
    } else {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    sse(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  if (cut) {
    res.end();
    return;
  }
  sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: step.end === 'max_tokens' ? 'max_tokens' : stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}
