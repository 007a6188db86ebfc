import type { JSX } from 'preact';
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** A tiny router on the History API: every page lives under /dashboard; links are real <a href>s. */
const listeners = new Set<() => void>();

export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  const to = path.startsWith('/dashboard') ? path : `/dashboard${path.startsWith('/') ? path : `/${path}`}`;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

if (typeof window !== 'undefined') window.addEventListener('popstate', () => listeners.forEach((l) => l()));

/** The current location (pathname + search), re-rendered on navigation. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const [, set] = useState(0);
  useEffect(() => {
    const l = () => set((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

/** An <a> that navigates inside the app (plain clicks only: a middle click or ctrl-click opens a tab). */
export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }): JSX.Element {
  const href = props.href.startsWith('/dashboard') ? props.href : `/dashboard${props.href}`;
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return h('a', { ...props, href, onClick });
}
