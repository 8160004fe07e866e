import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api, errorText, onSignedOut, setCsrfToken } from './api.ts';
import { ChannelPage, ChannelsPage } from './chat/ChannelPages.tsx';
import { Header } from './components/Header.tsx';
import { startLive, stopLive } from './live.ts';
import { AccountPage } from './pages/AccountPage.tsx';
import { DataSourcesPage } from './pages/DataSourcesPage.tsx';
import { DeadLettersPage } from './pages/DeadLettersPage.tsx';
import { ExplorePage } from './pages/ExplorePage.tsx';
import { HostsPage } from './pages/HostsPage.tsx';
import { ServiceDashboardPage } from './pages/ServiceDashboardPage.tsx';
import { EscalationPoliciesPage, EscalationPolicyPage } from './pages/EscalationPoliciesPage.tsx';
import { IncidentPage } from './pages/IncidentPage.tsx';
import { IncidentsPage } from './pages/IncidentsPage.tsx';
import { LogsPage } from './pages/LogsPage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { OnCallPage } from './pages/OnCallPage.tsx';
import { RulesPage } from './pages/RulesPage.tsx';
import { SchedulePage } from './pages/SchedulePage.tsx';
import { SchedulesPage } from './pages/SchedulesPage.tsx';
import { ServicesPage } from './pages/ServicesPage.tsx';
import { navigate, useLocation } from './router.tsx';
import { SessionContext, type SessionContextValue } from './session.ts';
import type { Session } from './types.ts';

type State =
  | { kind: 'loading' }
  | { kind: 'unreachable'; message: string }
  | { kind: 'signed-out'; notice?: string }
  | { kind: 'signed-in'; session: Session };

/** Asks the server who is signed in (after a reload the cookie may still be valid). */
async function fetchSessionState(): Promise<State> {
  try {
    const session = await api.session();
    setCsrfToken(session.csrf_token);
    return { kind: 'signed-in', session };
  } catch (error) {
    setCsrfToken(null);
    if (error instanceof ApiError && error.status === 401) return { kind: 'signed-out' };
    return { kind: 'unreachable', message: errorText(error) };
  }
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const loadSession = useCallback(async () => setState(await fetchSessionState()), []);

  useEffect(() => {
    onSignedOut(() => {
      setCsrfToken(null);
      setState({ kind: 'signed-out', notice: 'Your session ended. Sign in again to continue.' });
    });
    let active = true;
    fetchSessionState().then((next) => active && setState(next));
    return () => {
      active = false;
    };
  }, []);

  const signedIn = state.kind === 'signed-in';
  useEffect(() => {
    if (!signedIn) return;
    startLive();
    return stopLive;
  }, [signedIn]);

  const signOut = useCallback(async () => {
    // Even if the server cannot be reached, forget the session here; the cookie expires on its own.
    await api.logout().catch(() => {});
    setCsrfToken(null);
    setState({ kind: 'signed-out' });
    navigate('/');
  }, []);

  const context = useMemo<SessionContextValue | null>(
    () => (state.kind === 'signed-in' ? { session: state.session, signOut, reload: loadSession } : null),
    [state, signOut, loadSession],
  );

  switch (state.kind) {
    case 'loading':
      return <div className="splash" aria-busy="true">Loading Firewatch…</div>;
    case 'unreachable':
      return (
        <div className="splash">
          <p className="error" role="alert">{state.message}</p>
          <button type="button" className="button" onClick={() => void loadSession()}>Try again</button>
        </div>
      );
    case 'signed-out':
      return <LoginPage notice={state.notice} onSignedIn={loadSession} />;
    case 'signed-in':
      return (
        <SessionContext.Provider value={context}>
          <Header />
          <main className="page">
            <Routes />
          </main>
        </SessionContext.Provider>
      );
  }
}

function Routes() {
  const { path } = useLocation();
  if (path === '/' || path === '/incidents') return <IncidentsPage />;
  const incident = /^\/incidents\/(\d{1,10})\/?$/.exec(path);
  if (incident) return <IncidentPage key={incident[1]} number={Number(incident[1])} />;
  if (path === '/services') return <ServicesPage />;
  const dashboard = /^\/services\/([^/]+)\/dashboard\/?$/.exec(path);
  if (dashboard) return <ServiceDashboardPage key={dashboard[1]} service={decodeSegment(dashboard[1])} />;
  if (path === '/explore') return <ExplorePage />;
  if (path === '/hosts') return <HostsPage />;
  if (path === '/logs') return <LogsPage />;
  if (path === '/datasources') return <DataSourcesPage />;
  if (path === '/rules') return <RulesPage />;
  if (path === '/channels') return <ChannelsPage />;
  const channel = /^\/channels\/([^/]+)\/?$/.exec(path);
  if (channel) return <ChannelPage key={channel[1]} name={decodeSegment(channel[1])} />;
  if (path === '/oncall') return <OnCallPage />;
  if (path === '/schedules') return <SchedulesPage />;
  const schedule = /^\/schedules\/([^/]+)\/?$/.exec(path);
  if (schedule) return <SchedulePage key={schedule[1]} name={decodeSegment(schedule[1])} />;
  if (path === '/escalation-policies') return <EscalationPoliciesPage />;
  if (path === '/new-escalation-policy') return <EscalationPolicyPage name={null} />;
  const policy = /^\/escalation-policies\/([^/]+)\/?$/.exec(path);
  if (policy) return <EscalationPolicyPage key={policy[1]} name={decodeSegment(policy[1])} />;
  if (path === '/notifications/dead-letters') return <DeadLettersPage />;
  if (path === '/account') return <AccountPage />;
  if (path === '/login') return <Redirect to="/" />;
  return <NotFoundPage />;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, { replace: true }), [props.to]);
  return null;
}
