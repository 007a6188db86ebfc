import { useEffect, useRef, useState } from 'preact/hooks';
import { openStream, type StreamOptions, type StreamState } from './stream.js';

export { openStream, type StreamHandle, type StreamOptions, type StreamState } from './stream.js';

/** openStream as a hook: (re)opened when `url` changes, closed on unmount; returns the stream's state. */
export function useStream(url: string | null, onEvent: (type: string, data: Record<string, unknown>, id: number) => void, opts: StreamOptions = {}): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const cb = useRef(onEvent);
  cb.current = onEvent;
  const optsRef = useRef(opts);
  optsRef.current = opts;
  useEffect(() => {
    if (!url) return;
    const h = openStream(url, (t, d, id) => cb.current(t, d, id), setState, {
      ...optsRef.current,
      isEnd: (t, d) => optsRef.current.isEnd?.(t, d) ?? false,
    });
    return () => h.close();
  }, [url]);
  return state;
}
