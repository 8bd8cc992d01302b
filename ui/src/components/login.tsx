// The token prompt: shown instead of any data when the API answers 401.
import { useState } from 'preact/hooks';

export function Login(props: { message: string; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <form
      class="login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) props.onToken(token.trim());
      }}
    >
      <h2>berth needs its token</h2>
      <p>{props.message}</p>
      <p class="muted">The controller was started with <code>--token-file</code>; paste that file's content. It is kept for this browser tab only.</p>
      <input type="password" autocomplete="off" placeholder="bearer token" value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} aria-label="token" />
      <button type="submit">Sign in</button>
    </form>
  );
}
