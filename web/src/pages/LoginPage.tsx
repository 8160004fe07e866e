import { type FormEvent, useState } from 'react';
import { ApiError, api, errorText, setCsrfToken } from '../api.ts';
import { useAction } from '../components/useAction.ts';

function loginErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'invalid_credentials':
        return 'Wrong email or password.';
      case 'too_many_attempts': {
        const wait = error.retryAfter ? ` Try again in ${error.retryAfter < 90 ? `${error.retryAfter} seconds` : `${Math.ceil(error.retryAfter / 60)} minutes`}.` : ' Try again later.';
        return `Too many failed sign-ins.${wait}`;
      }
      case 'validation_failed':
        return 'Enter your email and password.';
    }
  }
  return errorText(error);
}

export function LoginPage(props: { notice?: string; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, setError, run } = useAction();

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!email.trim() || !password) return setError('Enter your email and password.');
    await run(async () => {
      const result = await api.login(email.trim(), password);
      setCsrfToken(result.csrf_token);
      await props.onSignedIn();
    }, loginErrorText);
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} noValidate>
        <h1 className="brand login-brand">
          <span className="brand-mark" aria-hidden="true" />
          Firewatch
        </h1>
        <p className="muted">Sign in to respond to incidents.</p>
        {props.notice && !error && <p className="notice" role="status">{props.notice}</p>}
        {error && <p className="error" role="alert">{error}</p>}
        <label className="field">
          <span>Email</span>
          <input type="email" name="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus />
        </label>
        <label className="field">
          <span>Password</span>
          <input type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" className="button primary wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
