import { type FormEvent, useState } from 'react';
import { ApiError, api, errorText } from '../api.ts';
import { useAction } from '../components/useAction.ts';
import { useSession } from '../session.ts';

const MIN_PASSWORD = 12;

export function AccountPage() {
  const { session } = useSession();
  const user = session.user;
  return (
    <section className="account">
      <div className="page-head">
        <h1>Account</h1>
      </div>
      <dl className="facts account-facts">
        <div>
          <dt>Name</dt>
          <dd>{user?.name ?? session.principal.name}</dd>
        </div>
        {user && (
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
        )}
        <div>
          <dt>Role</dt>
          <dd>{session.principal.role}</dd>
        </div>
      </dl>
      {user ? <ChangePasswordForm /> : <p className="muted">This session belongs to an API token, which has no password.</p>}
    </section>
  );
}

const describePasswordError = (failure: unknown) =>
  failure instanceof ApiError && failure.code === 'invalid_credentials' ? 'The current password is wrong.' : errorText(failure);

function ChangePasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, error, setError, run } = useAction();
  const [done, setDone] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    if (next.length < MIN_PASSWORD) return setError(`The new password needs at least ${MIN_PASSWORD} characters.`);
    if (next !== confirm) return setError('The two new passwords do not match.');
    const changed = await run(() => api.changePassword(current, next), describePasswordError);
    if (changed) {
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    }
  };

  return (
    <form className="card narrow-form" onSubmit={submit} noValidate>
      <h2 className="form-title">Change password</h2>
      {done && <p className="confirmation" role="status">Your password was changed.</p>}
      {error && <p className="error" role="alert">{error}</p>}
      <label className="field">
        <span>Current password</span>
        <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
      </label>
      <label className="field">
        <span>New password <span className="muted small">(at least {MIN_PASSWORD} characters)</span></span>
        <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} minLength={MIN_PASSWORD} />
      </label>
      <label className="field">
        <span>Repeat the new password</span>
        <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
      </label>
      <button type="submit" className="button primary" disabled={busy || !current || !next}>
        {busy ? 'Saving…' : 'Change password'}
      </button>
    </form>
  );
}
