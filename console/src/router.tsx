import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

// A few lines of routing over the History API. Pages are real paths under /console (the API answers
// every one of them with index.html), so links can be opened in a new tab, bookmarked and shared.

export const BASE = '/console';

export interface Route {
  /** The path below /console: '/', '/deliveries/dlv_…'. */
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const below = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return { path: below.replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) };
}

const NAVIGATED = 'console:navigated';

/** Goes to a console path ('/webhooks', '/deliveries?status=dead'). */
export function navigate(to: string, { replace = false } = {}): void {
  const url = BASE + (to === '/' ? '' : to);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}

/** Matches '/deliveries/:id' against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      const value = decoded(s[i]);
      if (value === null) return null;
      params[p[i].slice(1)] = value;
    } else if (p[i] !== s[i]) return null;
  }
  return params;
}

/** A path segment decoded; null for bad percent-encoding (`%E0`), which names no page (it would throw mid-render). */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** An ordinary link (middle-click and "open in new tab" work) that navigates in place on a plain click. */
export function Link({ href, children, ...rest }: { href: string; children: ComponentChildren; class?: string; title?: string; 'aria-current'?: 'page' | 'true' }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={BASE + (href === '/' ? '' : href)} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
