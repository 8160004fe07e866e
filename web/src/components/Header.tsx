import { useState } from 'react';
import { useLiveStatus } from '../live.ts';
import { Link, useLocation } from '../router.tsx';
import { useSession } from '../session.ts';
import { Inbox } from './Inbox.tsx';

const NAV = [
  { to: '/incidents', label: 'Incidents', matches: (path: string) => path === '/' || path.startsWith('/incidents') },
  { to: '/channels', label: 'War room', matches: (path: string) => path.startsWith('/channels') },
  { to: '/oncall', label: 'On call', matches: (path: string) => path.startsWith('/oncall') },
  { to: '/schedules', label: 'Schedules', matches: (path: string) => path.startsWith('/schedules') },
  { to: '/escalation-policies', label: 'Escalation', matches: (path: string) => path.startsWith('/escalation-policies') || path === '/new-escalation-policy' },
  { to: '/services', label: 'Services', matches: (path: string) => path.startsWith('/services') },
  { to: '/logs', label: 'Logs', matches: (path: string) => path.startsWith('/logs') },
  { to: '/rules', label: 'Rules', matches: (path: string) => path.startsWith('/rules') || path.startsWith('/datasources') },
  { to: '/hosts', label: 'Hosts', matches: (path: string) => path.startsWith('/hosts') || path.startsWith('/explore') },
];

export function Header() {
  const { session, signOut } = useSession();
  const { path } = useLocation();
  const live = useLiveStatus();
  const [signingOut, setSigningOut] = useState(false);
  const who = session.user?.name || session.principal.name;

  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to="/incidents" className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Firewatch
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <Link key={item.to} to={item.to} className="nav-link" aria-current={item.matches(path) ? 'page' : undefined}>
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="topbar-user">
          <span className={`live-dot live-${live}`} title={live === 'live' ? 'Live updates connected' : 'Reconnecting live updates…'}>
            <span className="visually-hidden">{live === 'live' ? 'Live updates connected' : 'Live updates reconnecting'}</span>
          </span>
          <Inbox />
          <Link to="/account" className="user-link" aria-current={path === '/account' ? 'page' : undefined}>
            {who}
            <span className="role">{session.principal.role}</span>
          </Link>
          <button
            type="button"
            className="button small ghost"
            disabled={signingOut}
            onClick={async () => {
              setSigningOut(true);
              await signOut().catch(() => setSigningOut(false));
            }}
          >
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
