import { useEffect, useState } from 'preact/hooks';

// The caller's credential lives in this tab only (sessionStorage), never in a cookie or localStorage:
// closing the tab forgets it, and another tab signs in on its own.

const TOKEN_KEY = 'hookwise.console.token';

export interface Session {
  token: string | null;
  /** Why the last sign-out happened, when it wasn't the user's choice (a 401). */
  reason: string | null;
}

let reason: string | null = null;
const listeners = new Set<() => void>();
const changed = () => listeners.forEach((l) => l());

export const currentToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  reason = null;
  changed();
}

export function signOut(why: string | null = null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  reason = why;
  changed();
}

export function useSession(): Session {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((v) => v + 1);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return { token: currentToken(), reason };
}

/** `hw_abcd…wxyz`: enough to tell keys apart on screen, not enough to use. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '…' : `${token.slice(0, 7)}…${token.slice(-4)}`;
}
