import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { openStream, type StreamHandle, type StreamState } from './stream.js';

/**
 * One stream of every task event (/api/events) for the whole app; pages subscribe to it and reload
 * what they show when something relevant happens (debounced), instead of polling.
 */
type Listener = (type: string, data: Record<string, unknown>) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(s: StreamState) => void>();
let handle: StreamHandle | undefined;
let state: StreamState = 'connecting';

export function startLive(onUnauthorized: () => void): void {
  handle?.close();
  handle = openStream(
    '/api/events',
    (t, d) => listeners.forEach((l) => l(t, d)),
    (s) => {
      state = s;
      stateListeners.forEach((l) => l(s));
    },
    { onUnauthorized },
  );
}

export function stopLive(): void {
  handle?.close();
  handle = undefined;
}

export function useLiveState(): StreamState {
  const [s, set] = useState(state);
  useEffect(() => {
    stateListeners.add(set);
    return () => void stateListeners.delete(set);
  }, []);
  return s;
}

/** Subscribes to the app's task event stream while mounted. */
export function useTaskEvents(fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: Listener = (t, d) => ref.current(t, d);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fetcher()` now and whenever `deps` change, and again (at most every 250 ms) when a task event
 * passes `relevant` — live without polling. The previous data stays shown while reloading.
 */
export function useLive<T>(fetcher: () => Promise<T>, deps: unknown[], relevant: ((type: string, data: Record<string, unknown>) => boolean) | null = () => true): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const gen = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const load = useCallback(() => {
    const my = ++gen.current;
    setLoading(true);
    fetchRef.current().then(
      (d) => {
        if (my !== gen.current) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: Error) => {
        if (my !== gen.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    load();
    return () => {
      gen.current++;
      if (timer.current) clearTimeout(timer.current);
    };
  }, deps);
  useTaskEvents((t, d) => {
    if (!relevant || !relevant(t, d) || timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      load();
    }, 250);
  });
  return { data, error, loading, reload: load };
}
