import { useEffect, useMemo, useRef, useState } from 'react';
import { api, errorText } from '../api.ts';
import { StatusBadge, UrgencyBadge } from '../components/Badges.tsx';
import { Time } from '../components/Time.tsx';
import { useLiveRefresh } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import type { Incident, IncidentFilters, IncidentPage } from '../types.ts';

const PAGE_SIZE = 25;
const MAX_PAGE = 100;

const STATUS_FILTERS = [
  { value: 'open', label: 'Open' },
  { value: 'triggered', label: 'Triggered' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
];

function filtersFrom(search: URLSearchParams): IncidentFilters {
  const status = search.get('status') ?? 'open';
  const urgency = search.get('urgency') ?? '';
  return {
    status: STATUS_FILTERS.some((f) => f.value === status) ? status : 'open',
    service: search.get('service') ?? '',
    urgency: urgency === 'high' || urgency === 'low' ? urgency : '',
  };
}

function hrefFor(filters: IncidentFilters): string {
  const search = new URLSearchParams();
  if (filters.status !== 'open') search.set('status', filters.status);
  if (filters.service) search.set('service', filters.service);
  if (filters.urgency) search.set('urgency', filters.urgency);
  const text = search.toString();
  return text ? `/incidents?${text}` : '/incidents';
}

interface ListState {
  incidents: Incident[];
  nextCursor: number | null;
  /** Numbers that arrived after the first load, highlighted once. */
  fresh: Set<number>;
}

/** Merges a refetch of the newest `limit` rows into what is shown, keeping older pages that were loaded. */
function mergeRefetch(previous: ListState, page: IncidentPage, limit: number): ListState {
  const known = new Set(previous.incidents.map((i) => i.number));
  const fresh = new Set(previous.fresh);
  for (const incident of page.incidents) if (!known.has(incident.number)) fresh.add(incident.number);
  if (previous.incidents.length <= limit || page.next_cursor === null) {
    return { incidents: page.incidents, nextCursor: page.next_cursor, fresh };
  }
  const oldest = page.incidents[page.incidents.length - 1].number;
  const older = previous.incidents.filter((i) => i.number < oldest);
  return { incidents: [...page.incidents, ...older], nextCursor: previous.nextCursor, fresh };
}

function appendPage(previous: ListState, page: IncidentPage): ListState {
  const known = new Set(previous.incidents.map((i) => i.number));
  return { ...previous, incidents: [...previous.incidents, ...page.incidents.filter((i) => !known.has(i.number))], nextCursor: page.next_cursor };
}

export function IncidentsPage() {
  const location = useLocation();
  const filterKey = location.search.toString();
  const filters = filtersFrom(location.search);
  const [services, setServices] = useState<string[]>([]);

  useEffect(() => {
    let active = true;
    api.listServices().then((result) => active && setServices(result.services.map((s) => s.name)), () => {});
    return () => {
      active = false;
    };
  }, []);

  const setFilter = (patch: Partial<IncidentFilters>) => navigate(hrefFor({ ...filters, ...patch }), { replace: true });
  const serviceOptions = filters.service && !services.includes(filters.service) ? [...services, filters.service] : services;

  return (
    <section>
      <div className="page-head">
        <h1>Incidents</h1>
      </div>

      <div className="filters" role="search">
        <div className="segmented" role="group" aria-label="Status">
          {STATUS_FILTERS.map((option) => (
            <button
              key={option.value}
              type="button"
              className="segment"
              aria-pressed={filters.status === option.value}
              onClick={() => setFilter({ status: option.value })}
            >
              {option.label}
            </button>
          ))}
        </div>
        <label className="inline-field">
          <span>Service</span>
          <select value={filters.service} onChange={(e) => setFilter({ service: e.target.value })}>
            <option value="">All services</option>
            {serviceOptions.map((name) => (
              <option key={name} value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          <span>Urgency</span>
          <select value={filters.urgency} onChange={(e) => setFilter({ urgency: e.target.value })}>
            <option value="">Any</option>
            <option value="high">High</option>
            <option value="low">Low</option>
          </select>
        </label>
      </div>

      {/* Keyed by the filters: changing them starts a fresh list. */}
      <IncidentList key={filterKey} filterKey={filterKey} />
    </section>
  );
}

function IncidentList(props: { filterKey: string }) {
  const filters = useMemo(() => filtersFrom(new URLSearchParams(props.filterKey)), [props.filterKey]);
  const [list, setList] = useState<ListState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  // How many rows are shown, for the live refetch (read in callbacks, not during render).
  const shownCount = useRef(0);
  useEffect(() => {
    shownCount.current = list?.incidents.length ?? 0;
  }, [list]);

  useEffect(() => {
    let active = true;
    api.listIncidents(filters, { limit: PAGE_SIZE }).then(
      (page) => active && setList({ incidents: page.incidents, nextCursor: page.next_cursor, fresh: new Set() }),
      (failure: unknown) => active && setError(errorText(failure)),
    );
    return () => {
      active = false;
    };
  }, [filters]);

  useLiveRefresh(() => true, async () => {
    const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, shownCount.current));
    try {
      const page = await api.listIncidents(filters, { limit });
      setError(null);
      setList((previous) => (previous ? mergeRefetch(previous, page, limit) : previous));
    } catch (failure) {
      setError(errorText(failure));
    }
  });

  const loadMore = async () => {
    if (!list?.nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await api.listIncidents(filters, { before: list.nextCursor, limit: PAGE_SIZE });
      setList((previous) => (previous ? appendPage(previous, page) : previous));
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      {error && <p className="error" role="alert">{error}</p>}
      {!list && !error && <p className="muted" aria-busy="true">Loading incidents…</p>}
      {list && list.incidents.length === 0 && (
        <div className="empty-state">
          <p>{filters.status === 'open' && !filters.service && !filters.urgency ? 'No open incidents. All quiet.' : 'No incidents match these filters.'}</p>
        </div>
      )}
      {list && list.incidents.length > 0 && (
        <table className="incidents">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Title</th>
              <th scope="col">Service</th>
              <th scope="col">Status</th>
              <th scope="col">Urgency</th>
              <th scope="col" className="num">Alerts</th>
              <th scope="col">Opened</th>
            </tr>
          </thead>
          <tbody>
            {list.incidents.map((incident) => (
              <tr
                key={incident.number}
                className={list.fresh.has(incident.number) ? 'is-new' : undefined}
                data-number={incident.number}
                data-status={incident.status}
                onClick={(event) => {
                  // The title is a real link; clicks elsewhere on the row go to the same place.
                  if ((event.target as HTMLElement).closest('a') || window.getSelection()?.toString()) return;
                  navigate(`/incidents/${incident.number}`);
                }}
              >
                <td className="c-number">#{incident.number}</td>
                <td className="c-title">
                  <Link to={`/incidents/${incident.number}`}>{incident.title}</Link>
                </td>
                <td className="c-service">{incident.service.name}</td>
                <td className="c-status"><StatusBadge status={incident.status} /></td>
                <td className="c-urgency"><UrgencyBadge urgency={incident.urgency} /></td>
                <td className="c-alerts num">
                  {incident.alert_count}
                  <span className="mobile-only"> {incident.alert_count === 1 ? 'alert' : 'alerts'}</span>
                </td>
                <td className="c-opened"><Time value={incident.created_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list?.nextCursor != null && (
        <div className="load-more">
          <button type="button" className="button" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </>
  );
}
