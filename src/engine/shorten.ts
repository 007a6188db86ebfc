/** The longest string a progress event keeps in the event log (the output itself stays whole). */
export const MAX_EVENT_STRING = 64 * 1024;

/**
 * A progress event's data with every string longer than `max` characters cut to its head; `truncated` then
 * maps each cut key to its full length. Pure; returns the same object when nothing is cut.
 */
export function shortenEventData(data: Record<string, unknown>, max = MAX_EVENT_STRING): Record<string, unknown> {
  // The adapter shortened it already (a line cut as it was read), saying by how much.
  if (data.truncated !== undefined) return data;
  let out: Record<string, unknown> | undefined;
  let truncated: Record<string, number> | undefined;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || v.length <= max) continue;
    out ??= { ...data };
    truncated ??= {};
    // A copy, not a slice: a slice would keep the whole string alive as long as the event.
    out[k] = `${Buffer.from(v.slice(0, max)).toString()}…`;
    truncated[k] = v.length;
  }
  if (!out) return data;
  out.truncated = truncated;
  return out;
}
