import { DEFAULT_TEXT, chunks, fakeId, resetEpochSeconds, sendJson, sse, startSse, usageOf } from './sse.mjs';

/**
 * The OpenAI Responses API (`POST /v1/responses`, what Codex speaks) and Chat Completions
 * (`POST /v1/chat/completions`, what OpenAI-compatible servers such as Ollama speak), streamed or not,
 * driven by one script step: text | function_call | error | stream_error | stall | usage_limit.
 */

function errorBody(step) {
  if (step.body !== undefined) return step.body;
  return { error: { message: step.message ?? 'fake error', type: step.errorType ?? 'server_error', code: step.code ?? step.errorType ?? null, param: null } };
}

export function openaiError(res, step) {
  sendJson(res, step.status ?? 500, errorBody(step), step.headers ?? {});
}

/** The ChatGPT-plan usage wall: 429 `usage_limit_reached` with `resets_at` (epoch seconds). */
export function openaiUsageLimit(res, step) {
  const reset = resetEpochSeconds(step);
  const inSeconds = Math.max(1, reset - Math.floor(Date.now() / 1000));
  sendJson(
    res,
    429,
    {
      error: {
        type: 'usage_limit_reached',
        message: step.message ?? 'The usage limit has been reached',
        plan_type: 'plus',
        resets_at: reset,
        resets_in_seconds: inSeconds,
      },
    },
    step.headers ?? {},
  );
}

function callOf(step) {
  const args = step.arguments ?? step.input ?? {};
  return { name: step.name, arguments: typeof args === 'string' ? args : JSON.stringify(args), callId: step.callId ?? step.id ?? fakeId('call') };
}

function responseUsage(u) {
  return { input_tokens: u.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output };
}

export function openaiResponses(res, step, body) {
  const model = step.model ?? body?.model ?? 'gpt-fake';
  const usage = usageOf(step);
  const base = { id: fakeId('resp'), object: 'response', created_at: Math.floor(Date.now() / 1000), model, output: [], usage: null, error: null };
  const isCall = step.type === 'function_call' || step.type === 'tool_use';
  let item;
  if (isCall) {
    const c = callOf(step);
    item = { type: 'function_call', id: fakeId('fc'), call_id: c.callId, name: c.name, arguments: c.arguments, status: 'completed' };
  } else {
    item = { type: 'message', id: fakeId('msg'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: step.text ?? DEFAULT_TEXT, annotations: [] }] };
  }
  if (!body?.stream && step.type !== 'stall' && step.type !== 'stream_error') {
    sendJson(res, 200, { ...base, status: 'completed', output: [item], usage: responseUsage(usage) });
    return;
  }
  let seq = 0;
  const ev = (type, data) => sse(res, type, { type, sequence_number: seq++, ...data });
  startSse(res);
  ev('response.created', { response: { ...base, status: 'in_progress' } });
  ev('response.in_progress', { response: { ...base, status: 'in_progress' } });
  if (step.type === 'stall') return; // silence from here on
  if (step.type === 'stream_error') {
    const error = { code: step.code ?? step.errorType ?? 'server_error', message: step.message ?? 'fake stream failure' };
    ev('response.failed', { response: { ...base, status: 'failed', error } });
    res.end();
    return;
  }
  if (isCall) {
    ev('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } });
    ev('response.function_call_arguments.delta', { output_index: 0, item_id: item.id, delta: item.arguments });
    ev('response.function_call_arguments.done', { output_index: 0, item_id: item.id, arguments: item.arguments });
  } else {
    const text = item.content[0].text;
    ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    ev('response.content_part.added', { output_index: 0, item_id: item.id, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    for (const part of chunks(text)) ev('response.output_text.delta', { output_index: 0, item_id: item.id, content_index: 0, delta: part });
    ev('response.output_text.done', { output_index: 0, item_id: item.id, content_index: 0, text });
    ev('response.content_part.done', { output_index: 0, item_id: item.id, content_index: 0, part: item.content[0] });
  }
  ev('response.output_item.done', { output_index: 0, item });
  ev('response.completed', { response: { ...base, status: 'completed', output: [item], usage: responseUsage(usage) } });
  res.end();
}

export function openaiChat(res, step, body) {
  const model = step.model ?? body?.model ?? 'fake-local-model';
  const usage = usageOf(step);
  const id = fakeId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const isCall = step.type === 'function_call' || step.type === 'tool_use';
  const call = isCall ? callOf(step) : undefined;
  const chatUsage = { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
  if (!body?.stream && step.type !== 'stall' && step.type !== 'stream_error') {
    const message = call
      ? { role: 'assistant', content: null, tool_calls: [{ id: call.callId, type: 'function', function: { name: call.name, arguments: call.arguments } }] }
      : { role: 'assistant', content: step.text ?? DEFAULT_TEXT };
    sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: call ? 'tool_calls' : 'stop' }], usage: chatUsage });
    return;
  }
  const chunk = (delta, finish = null) => sse(res, null, { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  startSse(res);
  chunk({ role: 'assistant', content: '' });
  if (step.type === 'stall') return;
  if (step.type === 'stream_error') {
    sse(res, null, { error: { message: step.message ?? 'fake stream failure', type: step.errorType ?? 'server_error', code: step.code ?? null } });
    res.end();
    return;
  }
  if (call) {
    chunk({ tool_calls: [{ index: 0, id: call.callId, type: 'function', function: { name: call.name, arguments: '' } }] });
    chunk({ tool_calls: [{ index: 0, function: { arguments: call.arguments } }] });
    chunk({}, 'tool_calls');
  } else {
    for (const part of chunks(step.text ?? DEFAULT_TEXT)) chunk({ content: part });
    // `end: 'cut'`: the connection closes mid-answer, with no finish_reason and no [DONE].
    if (step.end === 'cut') {
      res.end();
      return;
    }
    chunk({}, step.end === 'max_tokens' ? 'length' : 'stop');
  }
  if (body?.stream_options?.include_usage) sse(res, null, { id, object: 'chat.completion.chunk', created, model, choices: [], usage: chatUsage });
  sse(res, null, '[DONE]');
  res.end();
}
