import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { useTitle } from '../hooks';
import { signIn } from '../session';

/**
 * Paste an API key or a login token. It is checked with one harmless read: a 401 means it isn't
 * valid; anything else (even a 403 for a key without `read`) means it is, and the pages say what it
 * may see.
 */
export function SignIn({ reason }: { reason: string | null }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      setError('Paste an API key or a login token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await request('GET', '/workspaces', undefined, value);
      signIn(value);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) signIn(value);
      else setError(err instanceof ApiError && err.status === 401 ? `That key was not accepted: ${err.message}` : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <form onSubmit={submit} class="card" aria-labelledby="sign-in-title">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          hookwise
        </div>
        <h1 id="sign-in-title">Sign in to the console</h1>
        {reason && (
          <p class="notice warn" role="alert">
            You were signed out: {reason}
          </p>
        )}
        <label for="token">API key or login token</label>
        <input
          id="token"
          name="token"
          type="password"
          class="mono"
          autoComplete="off"
          spellcheck={false}
          placeholder="hw_…"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-help"
          aria-invalid={error ? true : undefined}
          autoFocus
        />
        <p id="token-help" class="muted small">
          It stays in this tab only (session storage) and goes to the API as <code>Authorization: Bearer …</code>. You see and do exactly
          what the key's capabilities allow. <code>npm start</code> prints an admin key; <code>npx hookwise keys:create</code> makes
          others.
        </p>
        {error && (
          <p class="notice error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
