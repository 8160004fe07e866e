import { type FormEvent, useState } from 'react';
import { ApiError, api, errorText } from '../api.ts';
import { CalendarFeedBox } from '../components/CalendarFeed.tsx';
import { CopyButton } from '../components/CopyButton.tsx';
import { channelName } from '../components/IncidentOnCall.tsx';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { formatMinutes } from '../format.ts';
import { useSession } from '../session.ts';
import type { ContactMethod, ContactMethodInput, ContactMethodType, NotificationRule } from '../types.ts';

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
      {user ? (
        <>
          <NotificationSettings />
          <section className="card" aria-labelledby="my-feed">
            <h2 id="my-feed" className="form-title">My on-call calendar</h2>
            <p className="muted small">Every shift you have on any schedule, as an iCalendar feed for your calendar app.</p>
            <CalendarFeedBox load={api.myFeed} rotate={api.rotateMyFeed} name="my-feed" />
          </section>
          <ChangePasswordForm />
        </>
      ) : <p className="muted">This session belongs to an API token, which has no password, contact methods or calendar.</p>}
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

/** Whether the server offers POST …/contact-methods/{id}/test (looked up once, in its OpenAPI document). */
let testRoute: Promise<boolean> | null = null;
function hasTestRoute(): Promise<boolean> {
  testRoute ??= api.openApiPaths().then(
    (doc) => Object.entries(doc.paths).some(([path, ops]) => /\/contact-methods\/\{[^}]+\}\/test$/.test(path) && typeof ops === 'object' && ops !== null && 'post' in ops),
    () => false,
  );
  return testRoute;
}

const URGENCY_TEXT = { high: 'High urgency', low: 'Low urgency' } as const;

/** My contact methods and the rules saying which are used, and when, after I am paged. */
function NotificationSettings() {
  const methods = useResource('contact-methods', async () => (await api.listContactMethods()).contact_methods);
  const rules = useResource('notification-rules', () => api.listNotificationRules());
  const canTest = useResource('contact-test-route', hasTestRoute);
  const reloadBoth = async () => {
    await Promise.all([methods.reload(), rules.reload()]);
  };
  return (
    <>
      <section className="card" aria-labelledby="contact-methods">
        <h2 id="contact-methods" className="form-title">Contact methods</h2>
        <p className="muted small">Where Firewatch can reach you when you are paged.</p>
        {methods.error && <p className="error" role="alert">{methods.error}</p>}
        {methods.loading && <p className="muted" aria-busy="true">Loading…</p>}
        {methods.data?.length === 0 && <p className="muted">None yet: pages go to your account email and the in-app inbox.</p>}
        {methods.data && methods.data.length > 0 && (
          <ul className="plain-list contact-list">
            {methods.data.map((method) => (
              <ContactMethodItem key={method.id} method={method} canTest={canTest.data === true} onDeleted={reloadBoth} />
            ))}
          </ul>
        )}
        <NewContactMethodForm onCreated={methods.reload} />
      </section>
      <section className="card" aria-labelledby="notification-rules">
        <h2 id="notification-rules" className="form-title">Notification rules</h2>
        <p className="muted small">When you are paged, each rule notifies you through one contact method, at once or after a delay unless the incident was acknowledged by then.</p>
        {rules.error && <p className="error" role="alert">{rules.error}</p>}
        {rules.loading && <p className="muted" aria-busy="true">Loading…</p>}
        {rules.data && (
          <div className="rules">
            {(['high', 'low'] as const).map((urgency) => (
              <RulesFor key={urgency} urgency={urgency} rules={rules.data!.notification_rules.filter((r) => r.urgency === urgency)} usesDefaults={rules.data!.defaults[urgency]} onChanged={rules.reload} />
            ))}
          </div>
        )}
        {methods.data && methods.data.length > 0 && <NewRuleForm methods={methods.data} onCreated={rules.reload} />}
      </section>
    </>
  );
}

const TEST_POLL_MS = 1000;
const TEST_WAIT_MS = 30_000;

/** Follows a test notification until it was delivered or gave up (or half a minute passed); a sentence for each state. */
async function followTest(id: string, show: (text: string, ok: boolean | null) => void): Promise<void> {
  const deadline = Date.now() + TEST_WAIT_MS;
  for (;;) {
    const { notification: n } = await api.getNotification(id);
    if (n.status === 'sent') return show('Test delivered.', true);
    if (n.status === 'dead') return show(`The test could not be delivered: ${n.last_error ?? 'failed'}.`, false);
    if (n.status === 'cancelled') return show('The test was cancelled.', false);
    if (n.status === 'failed') show(`Attempt ${n.attempts} failed (${n.last_error ?? 'error'}); retrying…`, null);
    if (Date.now() > deadline) return show('The test is still being sent; its result will show in your inbox.', null);
    await new Promise((resolve) => setTimeout(resolve, TEST_POLL_MS));
  }
}

function ContactMethodItem(props: { method: ContactMethod; canTest: boolean; onDeleted: () => Promise<void> }) {
  const { method } = props;
  const { busy, error, run } = useAction();
  const [tested, setTested] = useState<{ text: string; ok: boolean | null } | null>(null);
  return (
    <li className="contact-item" data-type={method.type}>
      <div className="contact-main">
        <strong className="contact-label">{method.label}</strong>
        <span className="badge type">{channelName(method.type)}</span>
        {method.address && <span className="contact-address">{method.address}</span>}
        {method.secret && <span className="muted small">secret {method.secret}</span>}
      </div>
      <div className="actions">
        {props.canTest && (
          <button type="button" className="button small" disabled={busy} onClick={() => void run(async () => {
            setTested({ text: 'Sending a test…', ok: null });
            const { notification_id: id } = await api.testContactMethod(method.id);
            await followTest(id, (text, ok) => setTested({ text, ok }));
          })}>{busy ? 'Testing…' : 'Send test'}</button>
        )}
        <button type="button" className="button small danger" disabled={busy} onClick={() => {
          if (window.confirm(`Delete ${method.label}? Rules that use it are deleted too.`)) void run(async () => {
            await api.deleteContactMethod(method.id);
            await props.onDeleted();
          });
        }}>Delete</button>
      </div>
      {tested && <p className={`${tested.ok === false ? 'error' : tested.ok ? 'confirmation' : 'notice'} small`} role="status">{tested.text}</p>}
      {error && <p className="error" role="alert">{error}</p>}
    </li>
  );
}

function NewContactMethodForm(props: { onCreated: () => Promise<void> }) {
  const [type, setType] = useState<ContactMethodType>('email');
  const [label, setLabel] = useState('');
  const [address, setAddress] = useState('');
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const { busy, error, setError, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!label.trim()) return setError('Give the contact method a label, such as "work email".');
    if (type !== 'in_app' && !address.trim()) return setError(type === 'email' ? 'Enter an email address.' : 'Enter the webhook URL.');
    const input: ContactMethodInput = type === 'in_app' ? { type, label: label.trim() } : { type, label: label.trim(), address: address.trim() };
    await run(async () => {
      const { contact_method: created } = await api.createContactMethod(input);
      setSecret(created.type === 'webhook' && created.secret ? { label: created.label, value: created.secret } : null);
      setLabel('');
      setAddress('');
      await props.onCreated();
    });
  };

  return (
    <form className="inline-form add-contact" onSubmit={submit} aria-label="Add a contact method" noValidate>
      {secret && (
        <div className="notice secret-once" role="status">
          <p>Signing secret of <strong>{secret.label}</strong>. Copy it now: it is not shown again.</p>
          <div className="integration-url">
            <code data-testid="webhook-secret">{secret.value}</code>
            <CopyButton text={secret.value} label="Copy secret" />
          </div>
        </div>
      )}
      <div className="form-row">
        <label className="field">
          <span>Type</span>
          <select name="contact-type" value={type} onChange={(e) => setType(e.target.value as ContactMethodType)}>
            <option value="email">Email</option>
            <option value="webhook">Webhook</option>
            <option value="in_app">In-app</option>
          </select>
        </label>
        <label className="field">
          <span>Label</span>
          <input name="contact-label" value={label} onChange={(e) => setLabel(e.target.value)} maxLength={100} placeholder={type === 'email' ? 'work email' : type === 'webhook' ? 'pager bridge' : 'inbox'} />
        </label>
        {type !== 'in_app' && (
          <label className="field grow">
            <span>{type === 'email' ? 'Email address' : 'URL'}</span>
            <input name="contact-address" type={type === 'email' ? 'email' : 'url'} value={address} onChange={(e) => setAddress(e.target.value)} maxLength={2000} placeholder={type === 'email' ? 'ana@example.com' : 'https://hooks.example.com/firewatch'} />
          </label>
        )}
        <button type="submit" className="button" disabled={busy}>{busy ? 'Adding…' : 'Add contact method'}</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}

function RulesFor(props: { urgency: 'high' | 'low'; rules: NotificationRule[]; usesDefaults: boolean; onChanged: () => Promise<void> }) {
  const { busy, error, run } = useAction();
  const sorted = props.rules.toSorted((a, b) => a.delay_minutes - b.delay_minutes);
  return (
    <div className="rules-group" data-urgency={props.urgency}>
      <h3 className="subheading">{URGENCY_TEXT[props.urgency]}</h3>
      {props.usesDefaults || sorted.length === 0 ? (
        <p className="muted">No rules: your account email and an in-app notice, at once.</p>
      ) : (
        <ul className="plain-list">
          {sorted.map((rule) => (
            <li key={rule.id} className="rule-item">
              <span>
                {channelName(rule.contact_method.type)} <strong>{rule.contact_method.label}</strong> {rule.delay_minutes === 0 ? 'at once' : `after ${formatMinutes(rule.delay_minutes)}`}
              </span>
              <button type="button" className="button small ghost" disabled={busy} onClick={() => void run(async () => {
                await api.deleteNotificationRule(rule.id);
                await props.onChanged();
              })} aria-label={`Delete rule ${rule.contact_method.label} ${props.urgency}`}>Delete</button>
            </li>
          ))}
        </ul>
      )}
      {error && <p className="error" role="alert">{error}</p>}
    </div>
  );
}

function NewRuleForm(props: { methods: ContactMethod[]; onCreated: () => Promise<void> }) {
  const [urgency, setUrgency] = useState<'high' | 'low'>('high');
  const [method, setMethod] = useState(props.methods[0]?.id ?? '');
  const [delay, setDelay] = useState('0');
  const { busy, error, setError, run } = useAction();
  const chosen = props.methods.some((m) => m.id === method) ? method : props.methods[0]?.id ?? '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const minutes = Number(delay);
    if (!/^\d+$/.test(delay) || minutes > 1440) return setError('The delay must be 0 to 1440 minutes.');
    await run(async () => {
      await api.createNotificationRule({ urgency, contact_method: chosen, delay_minutes: minutes });
      await props.onCreated();
    });
  };
  return (
    <form className="inline-form add-rule" onSubmit={submit} aria-label="Add a notification rule" noValidate>
      <div className="form-row">
        <label className="field">
          <span>For</span>
          <select name="rule-urgency" value={urgency} onChange={(e) => setUrgency(e.target.value as 'high' | 'low')}>
            <option value="high">high urgency</option>
            <option value="low">low urgency</option>
          </select>
        </label>
        <label className="field">
          <span>Notify by</span>
          <select name="rule-method" value={chosen} onChange={(e) => setMethod(e.target.value)}>
            {props.methods.map((m) => <option key={m.id} value={m.id}>{m.label} ({channelName(m.type)})</option>)}
          </select>
        </label>
        <label className="field">
          <span>After (minutes)</span>
          <input name="rule-delay" type="number" inputMode="numeric" min={0} max={1440} value={delay} onChange={(e) => setDelay(e.target.value)} className="short" />
        </label>
        <button type="submit" className="button" disabled={busy || !chosen}>{busy ? 'Adding…' : 'Add rule'}</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}
