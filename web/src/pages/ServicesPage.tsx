import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, errorText } from '../api.ts';
import { CopyButton, Snippet } from '../components/CopyButton.tsx';
import { Time } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { Link } from '../router.tsx';
import { can, useSession } from '../session.ts';
import { setupSnippets } from '../snippets.ts';
import type { EscalationPolicy, Integration, IntegrationType, Service } from '../types.ts';
import { useResource } from '../components/useResource.ts';
import { formatMinutes } from '../format.ts';

const INTEGRATION_TYPES: { value: IntegrationType; label: string }[] = [
  { value: 'pagerduty', label: 'PagerDuty Events v2' },
  { value: 'alertmanager', label: 'Alertmanager webhook' },
  { value: 'webhook', label: 'Generic webhook' },
  { value: 'heartbeat', label: 'Heartbeat' },
];

export function ServicesPage() {
  const { session } = useSession();
  const isAdmin = can(session, 'admin');
  const [services, setServices] = useState<Service[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const policies = useResource('policies', async () => (await api.listPolicies()).escalation_policies);

  const refresh = useCallback(async () => {
    try {
      setServices((await api.listServices()).services);
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, []);

  useEffect(() => {
    let active = true;
    api.listServices().then(
      (result) => active && setServices(result.services),
      (failure: unknown) => active && setError(errorText(failure)),
    );
    return () => {
      active = false;
    };
  }, []);

  return (
    <section>
      <div className="page-head">
        <h1>Services</h1>
      </div>
      {!can(session, 'responder') && (
        <p className="notice">Integration keys are hidden because you have the viewer role.</p>
      )}
      {isAdmin && <NewServiceForm onCreated={refresh} />}
      {error && <p className="error" role="alert">{error}</p>}
      {!services && !error && <p className="muted" aria-busy="true">Loading services…</p>}
      {services?.length === 0 && (
        <div className="empty-state">
          <p>No services yet. {isAdmin ? 'Create one above, then add an integration to receive alerts.' : 'An administrator can create them.'}</p>
        </div>
      )}
      {services?.map((service) => (
        <ServiceCard key={service.id} service={service} isAdmin={isAdmin} onChanged={refresh} policies={policies.data ?? []} />
      ))}
    </section>
  );
}

function ServiceCard(props: { service: Service; isAdmin: boolean; onChanged: () => Promise<void>; policies: EscalationPolicy[] }) {
  const { service } = props;
  return (
    <section className="card service" aria-labelledby={`service-${service.id}`}>
      <div className="service-head">
        <div>
          <h2 id={`service-${service.id}`}>{service.name}</h2>
          {service.description && <p className="muted">{service.description}</p>}
        </div>
        <Link to={`/incidents?service=${encodeURIComponent(service.name)}`} className="button small ghost">Open incidents</Link>
      </div>
      <OnCallSettings service={service} policies={props.policies} isAdmin={props.isAdmin} onChanged={props.onChanged} />
      {service.integrations.length === 0 ? (
        <p className="muted">No integrations: nothing can send alerts to this service yet.</p>
      ) : (
        <ul className="integrations">
          {service.integrations.map((integration) => (
            <IntegrationItem key={integration.id} serviceName={service.name} integration={integration} />
          ))}
        </ul>
      )}
      {props.isAdmin && <NewIntegrationForm serviceName={service.name} onCreated={props.onChanged} />}
    </section>
  );
}

function IntegrationItem(props: { serviceName: string; integration: Integration }) {
  const { integration } = props;
  const snippets = setupSnippets(props.serviceName, integration);
  return (
    <li className="integration">
      <div className="integration-head">
        <strong>{integration.name}</strong>
        <span className="badge type">{integration.type}</span>
        <span className="muted small">
          {integration.last_event_at ? <>last event <Time value={integration.last_event_at} /></> : 'no events yet'}
        </span>
      </div>
      <div className="integration-url">
        <code>{integration.url}</code>
        <CopyButton text={integration.url} label="Copy URL" />
      </div>
      {integration.type === 'pagerduty' && (
        <div className="integration-url">
          <span className="muted small">routing key</span>
          <code>{integration.key}</code>
          <CopyButton text={integration.key} label="Copy key" />
        </div>
      )}
      {snippets.length > 0 && (
        // Open while the integration has never received anything: that is when someone is setting it up.
        <details className="snippets" open={!integration.last_event_at}>
          <summary>Setup snippets</summary>
          {snippets.map((snippet) => (
            <Snippet key={snippet.title} title={snippet.title} text={snippet.text} />
          ))}
        </details>
      )}
    </li>
  );
}

function NewServiceForm(props: { onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const { busy, error, setError, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setError('Give the service a name.');
    await run(async () => {
      await api.createService(name.trim(), description.trim());
      setName('');
      setDescription('');
      await props.onCreated();
    });
  };

  return (
    <form className="card inline-form" onSubmit={submit} aria-label="New service">
      <h2 className="form-title">New service</h2>
      <div className="form-row">
        <label className="field">
          <span>Name</span>
          <input name="service-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="checkout" />
        </label>
        <label className="field grow">
          <span>Description</span>
          <input name="service-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} placeholder="Checkout API" />
        </label>
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Creating…' : 'Create service'}</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}

function NewIntegrationForm(props: { serviceName: string; onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<IntegrationType>('pagerduty');
  const { busy, error, setError, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setError('Give the integration a name.');
    await run(async () => {
      await api.addIntegration(props.serviceName, name.trim(), type);
      setName('');
      await props.onCreated();
    });
  };

  return (
    <form className="inline-form add-integration" onSubmit={submit} aria-label={`Add an integration to ${props.serviceName}`}>
      <div className="form-row">
        <label className="field">
          <span>Integration name</span>
          <input name="integration-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="prometheus" />
        </label>
        <label className="field">
          <span>Type</span>
          <select name="integration-type" value={type} onChange={(e) => setType(e.target.value as IntegrationType)}>
            {INTEGRATION_TYPES.map((option) => (
              <option key={option.value} value={option.value}>{option.label}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="button" disabled={busy}>{busy ? 'Adding…' : 'Add integration'}</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}

const ACK_TIMEOUTS = [null, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

function ackTimeoutText(seconds: number | null): string {
  return seconds === null ? 'never' : seconds % 60 === 0 ? `after ${formatMinutes(seconds / 60)}` : `after ${seconds} s`;
}

/** Who is paged for this service's incidents, and how acknowledgements and new alerts behave. */
function OnCallSettings(props: { service: Service; policies: EscalationPolicy[]; isAdmin: boolean; onChanged: () => Promise<void> }) {
  const { service } = props;
  const [editing, setEditing] = useState(false);
  const [policy, setPolicy] = useState(service.escalation_policy ?? '');
  const [ackTimeout, setAckTimeout] = useState(service.ack_timeout_seconds === null ? '' : String(service.ack_timeout_seconds));
  const [renotify, setRenotify] = useState(service.renotify_on_new_alerts);
  const { busy, error, run } = useAction();
  const timeouts = service.ack_timeout_seconds !== null && !ACK_TIMEOUTS.includes(service.ack_timeout_seconds) ? [...ACK_TIMEOUTS, service.ack_timeout_seconds] : ACK_TIMEOUTS;

  const open = () => {
    setPolicy(service.escalation_policy ?? '');
    setAckTimeout(service.ack_timeout_seconds === null ? '' : String(service.ack_timeout_seconds));
    setRenotify(service.renotify_on_new_alerts);
    setEditing(true);
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const saved = await run(async () => {
      await api.updateService(service.name, {
        escalation_policy: policy || null,
        ack_timeout_seconds: ackTimeout ? Number(ackTimeout) : null,
        renotify_on_new_alerts: renotify,
      });
      await props.onChanged();
    });
    if (saved) setEditing(false);
  };

  if (!editing) {
    return (
      <div className="oncall-settings" data-service={service.name}>
        <span>
          <span className="muted">Escalation policy </span>
          {service.escalation_policy
            ? <Link to={`/escalation-policies/${encodeURIComponent(service.escalation_policy)}`}>{service.escalation_policy}</Link>
            : <span className="warning-text">none: nobody is paged</span>}
        </span>
        <span><span className="muted">Acknowledgement lapses </span>{ackTimeoutText(service.ack_timeout_seconds)}</span>
        <span><span className="muted">New alerts </span>{service.renotify_on_new_alerts ? 'notify again' : 'do not notify again'}</span>
        {props.isAdmin && <button type="button" className="button small" onClick={open}>Change on-call settings</button>}
      </div>
    );
  }
  return (
    <form className="oncall-settings-form inline-form" onSubmit={submit} aria-label={`On-call settings of ${service.name}`}>
      <div className="form-row">
        <label className="field">
          <span>Escalation policy</span>
          <select name="service-policy" value={policy} onChange={(e) => setPolicy(e.target.value)}>
            <option value="">None (nobody is paged)</option>
            {props.policies.map((p) => <option key={p.id} value={p.name}>{p.name}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Acknowledgement lapses</span>
          <select name="service-ack-timeout" value={ackTimeout} onChange={(e) => setAckTimeout(e.target.value)}>
            {timeouts.map((seconds) => <option key={seconds ?? 'never'} value={seconds ?? ''}>{ackTimeoutText(seconds)}</option>)}
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" name="service-renotify" checked={renotify} onChange={(e) => setRenotify(e.target.checked)} />
          Notify again when an open incident gets a new alert
        </label>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
        <button type="button" className="button ghost" onClick={() => setEditing(false)}>Cancel</button>
      </div>
    </form>
  );
}
