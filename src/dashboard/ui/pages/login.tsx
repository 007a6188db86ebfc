import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, login } from '../api.js';

export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(token);
      setToken('');
      onLoggedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) setError(`Too many wrong tokens: ${err.message}`);
      else if (err instanceof ApiError && err.status === 401) setError('That token is wrong. Use the apiToken from the daemon’s config.json.');
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="page narrow login" id="main">
      <h1>Tetora</h1>
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h2 id="login-title">Log in</h2>
        <p class="muted">This daemon needs its API token (the <code>apiToken</code> in its config).</p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus />
        {error ? (
          <div class="error" role="alert">
            {error}
          </div>
        ) : null}
        <button class="btn primary" type="submit" disabled={busy || token === ''}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
