import { useState } from 'react';
import { api, errorText } from '../api.ts';
import { NotificationsTable } from '../components/IncidentOnCall.tsx';
import { useResource } from '../components/useResource.ts';
import { Link } from '../router.tsx';
import { can, useSession } from '../session.ts';

/** Notifications that failed for good: what went wrong, and (for admins) a retry from the first attempt. */
export function DeadLettersPage() {
  const { session } = useSession();
  const isAdmin = can(session, 'admin');
  const letters = useResource('dead-letters', () => api.deadLetters());
  const [retrying, setRetrying] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'confirmation'; text: string } | null>(null);

  const retry = async (id: string) => {
    setRetrying(id);
    setMessage(null);
    try {
      await api.retryNotification(id);
      setMessage({ kind: 'confirmation', text: 'Queued again; it is sent from its first attempt.' });
      await letters.reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: errorText(failure) });
    } finally {
      setRetrying(null);
    }
  };

  return (
    <section>
      <p className="breadcrumb"><Link to="/oncall">← On call</Link></p>
      <div className="page-head">
        <h1>Dead letters</h1>
        <button type="button" className="button small ghost" onClick={() => void letters.reload()}>Refresh</button>
      </div>
      <p className="muted">Notifications that failed after every retry. Nobody was reached through these; check the address or the receiving end.</p>
      {message && <p className={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}
      {letters.error && <p className="error" role="alert">{letters.error}</p>}
      {letters.loading && <p className="muted" aria-busy="true">Loading dead letters…</p>}
      {letters.data && letters.data.notifications.length === 0 && (
        <div className="empty-state"><p>No dead letters: every notification was delivered or is still being retried.</p></div>
      )}
      {letters.data && letters.data.notifications.length > 0 && (
        <div className="card">
          <NotificationsTable
            notifications={letters.data.notifications}
            showIncident
            renderActions={isAdmin ? (n) => (
              <button type="button" className="button small" disabled={retrying !== null} onClick={() => void retry(n.id)}>
                {retrying === n.id ? 'Retrying…' : 'Retry'}
              </button>
            ) : undefined}
          />
        </div>
      )}
    </section>
  );
}
