import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Page } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

const asApiError = (e: unknown) => (e instanceof ApiError ? e : new ApiError(0, 'client', (e as Error)?.message ?? String(e)));

/**
 * GETs `path` (null: nothing yet) and keeps the answer; `pollMs(data)` > 0 fetches again after that
 * long, so a page can follow a delivery until it settles.
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
    const load = async () => {
      try {
        const data = await get<T>(path);
        if (cancelled) return;
        setState({ path, data, loading: false });
        const next = poll.current?.(data);
        if (next) timer = setTimeout(load, next);
      } catch (e) {
        if (!cancelled) setState((s) => ({ path, data: s.path === path ? s.data : undefined, error: asApiError(e), loading: false }));
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

/** A list read page by page with the API's `nextCursor`; `path` already carries the filters. */
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
