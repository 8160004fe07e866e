import { useState } from 'react';
import { api } from '../api.ts';
import { ScheduleEditor } from '../components/ScheduleEditor.tsx';
import { useResource } from '../components/useResource.ts';
import { Link, navigate } from '../router.tsx';
import { can, useSession } from '../session.ts';

export function SchedulesPage() {
  const { session } = useSession();
  const isAdmin = can(session, 'admin');
  const schedules = useResource('schedules', async () => (await api.listSchedules()).schedules);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <div className="page-head">
        <h1>Schedules</h1>
        {isAdmin && !creating && <button type="button" className="button primary" onClick={() => setCreating(true)}>New schedule</button>}
      </div>
      <p className="muted">Rotations of who is on call, in layers. Declare them as code with <code>firewatch apply -f</code>, or here. See <Link to="/oncall">who is on call now</Link>.</p>
      {creating && (
        <ScheduleEditor
          schedule={null}
          onCancel={() => setCreating(false)}
          onSaved={async (saved) => navigate(`/schedules/${encodeURIComponent(saved.name)}`)}
        />
      )}
      {schedules.error && <p className="error" role="alert">{schedules.error}</p>}
      {schedules.loading && <p className="muted" aria-busy="true">Loading schedules…</p>}
      {schedules.data?.length === 0 && (
        <div className="empty-state"><p>No schedules yet. {isAdmin ? 'Create one, or apply a YAML file with a schedules: section.' : 'An administrator can create them.'}</p></div>
      )}
      {schedules.data && schedules.data.length > 0 && (
        <ul className="card-list">
          {schedules.data.map((schedule) => (
            <li key={schedule.id} className="card schedule-card">
              <div className="service-head">
                <h2><Link to={`/schedules/${encodeURIComponent(schedule.name)}`}>{schedule.name}</Link></h2>
                <span className="muted small">{schedule.time_zone}</span>
              </div>
              {schedule.description && <p className="muted">{schedule.description}</p>}
              <ul className="plain-list layer-summary">
                {schedule.layers.map((layer) => (
                  <li key={layer.name} className="small">
                    <strong>{layer.name}</strong>: {layer.members.map((m) => m.name).join(' → ') || <span className="muted">no members</span>}
                    <span className="muted"> · {layer.rotation}{layer.restrictions.length > 0 && ' · restricted'}</span>
                  </li>
                ))}
                {schedule.layers.length === 0 && <li className="muted small">No layers.</li>}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
