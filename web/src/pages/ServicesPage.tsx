import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { api, errorText } from '../api.ts';
import { CopyButton, Snippet } from '../components/CopyButton.tsx';
import { Time } from '../components/Time.tsx';
import { useAction } from '../components/useAction.ts';
import { Link } from '../router.tsx';
import { can, useSession } from '../session.ts';
import { setupSnippets } from '../snippets.ts';
import type { Integration, IntegrationType, Service } from '../types.ts';

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
        <ServiceCard key={service.id} service={service} isAdmin={isAdmin} onChanged={refresh} />
      ))}
    </section>
  );
}

function ServiceCard(props: { service: Service; isAdmin: boolean; onChanged: () => Promise<void> }) {
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
