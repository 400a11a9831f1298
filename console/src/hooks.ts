import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Page } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError(0, 'client', (e as Error)?.message ?? String(e)));

/** Retry-After is honoured up to this long; a later one is more likely a mistake than a plan. */
const RETRY_AFTER_CAP_MS = 5 * 60_000;
/** Backing off after failures in a row stops growing here. */
const BACKOFF_CAP_MS = 30_000;

/** When to ask again after `failures` transient errors in a row: the server's Retry-After if it sent one,
 * else the page's own interval doubled per failure. */
function retryDelay(e: ApiError, failures: number, intervalMs: number): number {
  if (e.retryAfterMs !== null) return Math.min(e.retryAfterMs, RETRY_AFTER_CAP_MS);
  return Math.min(intervalMs * 2 ** (failures - 1), BACKOFF_CAP_MS);
}

/**
 * GETs `path` (null: nothing yet) and keeps the answer; `pollMs(data)` > 0 fetches again after that
 * long, so a page can follow a delivery until it settles. A polled read rides out transient errors
 * (no answer, 5xx, 429): the error shows while it lasts, the last data stays, and it asks again with a
 * backoff until an answer clears the error. Other errors stop it (a 401 has signed the tab out).
 */
export function useApi<T>(path: string | null, pollMs?: (data: T) => number | null): Loaded<T> {
  const [state, setState] = useState<{ path: string | null; data?: T; error?: ApiError; loading: boolean }>({ path, loading: path !== null });
  const [tick, setTick] = useState(0);
  const poll = useRef(pollMs);
  poll.current = pollMs;

  useEffect(() => {
    if (path === null) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last: T | undefined;
    let failures = 0;
    const load = async () => {
      try {
        const data = await get<T>(path);
        if (cancelled) return;
        last = data;
        failures = 0;
        setState({ path, data, loading: false });
        const next = poll.current?.(data);
        if (next) timer = setTimeout(load, next);
      } catch (e) {
        if (cancelled) return;
        const error = asApiError(e);
        setState((s) => ({ path, data: s.path === path ? s.data : undefined, error, loading: false }));
        if (poll.current && error.transient) {
          const interval = (last === undefined ? null : poll.current(last)) || 1000;
          timer = setTimeout(load, retryDelay(error, ++failures, interval));
        }
      }
    };
    setState((s) => (s.path === path ? { ...s, loading: true } : { path, loading: true }));
    void load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [path, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const fresh = state.path === path;
  return { data: fresh ? state.data : undefined, error: fresh ? state.error : undefined, loading: !fresh || state.loading, reload };
}

export interface Paged<T> {
  items: T[];
  error: ApiError | undefined;
  loading: boolean;
  /** More pages exist (the API's nextCursor isn't ""). */
  more: boolean;
  loadMore: () => void;
  reload: () => void;
}

/** A list read page by page with the API's `nextCursor`; `path` already carries the filters. A failed
 * "Load more" keeps the items read so far, and `loadMore` tries the same page again. */
export function usePaged<T>(path: string | null): Paged<T> {
  const [state, setState] = useState<{ items: T[]; cursor: string; error?: ApiError; loading: boolean }>({ items: [], cursor: '', loading: true });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);

  const fetchPage = useCallback(
    async (cursor: string, append: boolean) => {
      if (path === null) return;
      const mine = ++generation.current;
      setState((s) => ({ ...s, items: append ? s.items : [], loading: true, error: undefined }));
      const sep = path.includes('?') ? '&' : '?';
      try {
        const page = await get<Page<T>>(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
        if (mine !== generation.current) return;
        setState((s) => ({ items: append ? [...s.items, ...page.data] : page.data, cursor: page.nextCursor ?? '', loading: false }));
      } catch (e) {
        if (mine === generation.current) setState((s) => ({ ...s, error: asApiError(e), loading: false }));
      }
    },
    [path],
  );

  useEffect(() => {
    void fetchPage('', false);
  }, [fetchPage, tick]);

  return {
    items: state.items,
    error: state.error,
    loading: state.loading,
    more: state.cursor !== '',
    loadMore: () => void fetchPage(state.cursor, true),
    reload: () => setTick((t) => t + 1),
  };
}

/** Sets the tab's title for a page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · hookwise console`;
  }, [title]);
}
