import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { moveItem, OrderedItemHead } from '../components/OrderedItem.tsx';
import { useAction } from '../components/useAction.ts';
import { useResource } from '../components/useResource.ts';
import { useUsers } from '../components/useUsers.ts';
import { formatMinutes } from '../format.ts';
import { Link, navigate } from '../router.tsx';
import { can, useSession } from '../session.ts';
import type { EscalationPolicy, PolicyInput, PolicyTargetInput, User } from '../types.ts';

const MAX_LEVELS = 20;
const MAX_REPEAT = 9;

/** GET /api/v1/schedules' names for target pickers; an empty list while that API is missing. */
function useScheduleNames(): string[] {
  const schedules = useResource('schedule-names', async () => (await api.listSchedules()).schedules.map((s) => s.name));
  return schedules.data ?? [];
}

export function EscalationPoliciesPage() {
  const { session } = useSession();
  const isAdmin = can(session, 'admin');
  const policies = useResource('policies', async () => (await api.listPolicies()).escalation_policies);
  return (
    <section>
      <div className="page-head">
        <h1>Escalation policies</h1>
        {isAdmin && <Link to="/new-escalation-policy" className="button primary">New policy</Link>}
      </div>
      <p className="muted">Who is paged when an incident opens, and who next if nobody acknowledges in time. A service escalates through one policy; set it on the <Link to="/services">services page</Link>.</p>
      {policies.error && <p className="error" role="alert">{policies.error}</p>}
      {policies.loading && <p className="muted" aria-busy="true">Loading policies…</p>}
      {policies.data?.length === 0 && (
        <div className="empty-state"><p>No escalation policies yet: nobody is paged for any incident. {isAdmin ? 'Create one, then give it to a service.' : 'An administrator can create them.'}</p></div>
      )}
      <ul className="card-list">
        {policies.data?.map((policy) => (
          <li key={policy.id} className="card policy-card">
            <div className="service-head">
              <h2><Link to={`/escalation-policies/${encodeURIComponent(policy.name)}`}>{policy.name}</Link></h2>
              <span className="muted small">{policy.services.length === 0 ? 'no services' : `used by ${policy.services.join(', ')}`}</span>
            </div>
            {policy.description && <p className="muted">{policy.description}</p>}
            <LevelsSummary policy={policy} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function targetName(target: EscalationPolicy['levels'][number]['targets'][number]): string {
  if (target.type === 'user') return target.name ?? target.email ?? 'deleted user';
  return target.name ? `schedule ${target.name}` : 'deleted schedule';
}

/** The levels read out: "1. Ana, Ben — all at once — wait 5 min". */
function LevelsSummary(props: { policy: EscalationPolicy }) {
  const { policy } = props;
  return (
    <>
      <ol className="levels-summary">
        {policy.levels.map((level, index) => (
          <li key={index} className="level-summary" data-level={index + 1}>
            <span className="level-number">Level {index + 1}</span>
            <span className="level-targets">{level.targets.map(targetName).join(', ')}</span>
            <span className="muted small">
              {level.strategy === 'round_robin' ? 'one at a time, in turn' : 'all at once'} · escalates after {formatMinutes(level.delay_minutes)}
            </span>
          </li>
        ))}
      </ol>
      <p className="muted small">{policy.repeat === 0 ? 'Runs through the levels once.' : `Repeats ${policy.repeat} more time${policy.repeat === 1 ? '' : 's'} if nobody acknowledges.`}</p>
    </>
  );
}

export function EscalationPolicyPage(props: { name: string | null }) {
  const { session } = useSession();
  const isAdmin = can(session, 'admin');
  const policy = useResource(`policy:${props.name ?? ''}`, async () => (props.name ? (await api.getPolicy(props.name)).escalation_policy : null));
  const [editing, setEditing] = useState(props.name === null);

  if (policy.error && !policy.data) {
    return (
      <section>
        <p className="breadcrumb"><Link to="/escalation-policies">← Escalation policies</Link></p>
        <p className="error" role="alert">{policy.error}</p>
      </section>
    );
  }
  if (policy.loading) return <p className="muted" aria-busy="true">Loading policy…</p>;
  const current = policy.data ?? null;

  return (
    <section>
      <p className="breadcrumb"><Link to="/escalation-policies">← Escalation policies</Link></p>
      <div className="page-head">
        <h1>{current ? current.name : 'New escalation policy'}</h1>
        {current && isAdmin && !editing && <button type="button" className="button" onClick={() => setEditing(true)}>Edit</button>}
      </div>
      {current && !editing && (
        <div className="card">
          {current.description && <p>{current.description}</p>}
          <LevelsSummary policy={current} />
          <p><strong>Services:</strong> {current.services.length === 0 ? <span className="muted">none uses this policy yet</span> : current.services.map((name, i) => (
            <span key={name}>{i > 0 && ', '}<Link to="/services">{name}</Link></span>
          ))}</p>
        </div>
      )}
      {editing && isAdmin && (
        <PolicyEditor
          policy={current}
          onCancel={() => (current ? setEditing(false) : navigate('/escalation-policies'))}
          onSaved={async (saved) => {
            setEditing(false);
            if (!current || saved.name !== current.name) navigate(`/escalation-policies/${encodeURIComponent(saved.name)}`, { replace: true });
            else policy.setData(saved);
          }}
        />
      )}
      {editing && !isAdmin && <p className="notice">Only administrators can change escalation policies.</p>}
    </section>
  );
}

interface LevelDraft {
  key: number;
  delay: string;
  strategy: 'all' | 'round_robin';
  targets: PolicyTargetInput[];
}

let nextKey = 1;

function draftsOf(policy: EscalationPolicy | null): LevelDraft[] {
  if (!policy) return [{ key: nextKey++, delay: '30', strategy: 'all', targets: [] }];
  return policy.levels.map((level) => ({
    key: nextKey++,
    delay: String(level.delay_minutes),
    strategy: level.strategy,
    // A deleted user or schedule cannot be saved back; the editor drops it (and says so).
    targets: level.targets.flatMap((t): PolicyTargetInput[] => (t.type === 'user' ? (t.email ? [{ type: 'user', email: t.email }] : []) : t.name ? [{ type: 'schedule', name: t.name }] : [])),
  }));
}

function PolicyEditor(props: { policy: EscalationPolicy | null; onCancel: () => void; onSaved: (policy: EscalationPolicy) => Promise<void> }) {
  const { policy } = props;
  const { users, error: usersError } = useUsers();
  const schedules = useScheduleNames();
  const [name, setName] = useState(policy?.name ?? '');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [repeat, setRepeat] = useState(policy?.repeat ?? 0);
  const [levels, setLevels] = useState<LevelDraft[]>(() => draftsOf(policy));
  const { busy, error, setError, run } = useAction();
  const dropped = policy ? policy.levels.some((l) => l.targets.some((t) => (t.type === 'user' ? !t.email : !t.name))) : false;

  const update = (key: number, change: Partial<LevelDraft>) => setLevels(levels.map((l) => (l.key === key ? { ...l, ...change } : l)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) return setError('Give the policy a name.');
    const empty = levels.findIndex((l) => l.targets.length === 0);
    if (empty >= 0) return setError(`Level ${empty + 1} has nobody to page: add a person or a schedule.`);
    const badDelay = levels.findIndex((l) => !/^\d+$/.test(l.delay) || Number(l.delay) < 1 || Number(l.delay) > 1440);
    if (badDelay >= 0) return setError(`Level ${badDelay + 1}: the delay must be 1 to 1440 minutes.`);
    const input: PolicyInput = {
      name: name.trim(),
      description: description.trim(),
      repeat,
      levels: levels.map((l) => ({ delay_minutes: Number(l.delay), strategy: l.strategy, targets: l.targets })),
    };
    await run(async () => {
      const saved = policy ? (await api.updatePolicy(policy.name, input)).escalation_policy : (await api.createPolicy(input)).escalation_policy;
      await props.onSaved(saved);
    });
  };

  const remove = async () => {
    if (!policy || !window.confirm(`Delete the escalation policy ${policy.name}?`)) return;
    await run(async () => {
      await api.deletePolicy(policy.name);
      navigate('/escalation-policies');
    });
  };

  return (
    <form className="card policy-editor" onSubmit={submit} aria-label="Escalation policy" noValidate>
      {usersError && <p className="error" role="alert">{usersError}</p>}
      {dropped && <p className="notice">Some targets no longer exist (a deleted user or schedule); saving removes them.</p>}
      <div className="form-row">
        <label className="field grow">
          <span>Name</span>
          <input name="policy-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="checkout-primary" />
        </label>
        <label className="field">
          <span>Repeat</span>
          <select name="policy-repeat" value={repeat} onChange={(e) => setRepeat(Number(e.target.value))}>
            {Array.from({ length: MAX_REPEAT + 1 }, (_, n) => (
              <option key={n} value={n}>{n === 0 ? 'once through' : `${n} more time${n === 1 ? '' : 's'}`}</option>
            ))}
          </select>
        </label>
      </div>
      <label className="field">
        <span>Description <span className="muted small">(optional)</span></span>
        <input name="policy-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
      </label>

      <ol className="level-editor-list">
        {levels.map((level, index) => (
          <li key={level.key} className="level-editor" data-level={index + 1}>
            <OrderedItemHead
              title={`Level ${index + 1}`}
              index={index}
              count={levels.length}
              labels={{ up: `Move level ${index + 1} up`, down: `Move level ${index + 1} down`, remove: 'Remove level' }}
              canRemove={levels.length > 1}
              onMove={(by) => setLevels(moveItem(levels, index, by))}
              onRemove={() => setLevels(levels.filter((l) => l.key !== level.key))}
            />
            <TargetChooser users={users} schedules={schedules} value={level.targets} onChange={(targets) => update(level.key, { targets })} level={index + 1} />
            <div className="form-row">
              <label className="field">
                <span>Notify</span>
                <select name={`level-${index + 1}-strategy`} value={level.strategy} onChange={(e) => update(level.key, { strategy: e.target.value as LevelDraft['strategy'] })}>
                  <option value="all">everyone at once</option>
                  <option value="round_robin">one at a time, in turn (round robin)</option>
                </select>
              </label>
              <label className="field">
                <span>Escalate after (minutes)</span>
                <input name={`level-${index + 1}-delay`} type="number" inputMode="numeric" min={1} max={1440} value={level.delay} onChange={(e) => update(level.key, { delay: e.target.value })} className="short" />
              </label>
            </div>
          </li>
        ))}
      </ol>
      <button type="button" className="button" disabled={levels.length >= MAX_LEVELS} onClick={() => setLevels([...levels, { key: nextKey++, delay: '30', strategy: 'all', targets: [] }])}>
        Add level
      </button>

      {error && <p className="error" role="alert">{error}</p>}
      <div className="actions form-actions">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Saving…' : policy ? 'Save policy' : 'Create policy'}</button>
        <button type="button" className="button ghost" onClick={props.onCancel}>Cancel</button>
        {policy && <button type="button" className="button danger" disabled={busy} onClick={() => void remove()}>Delete policy</button>}
      </div>
    </form>
  );
}

/** A level's targets in order: people and schedules as chips, with pickers to add either. */
function TargetChooser(props: { users: User[]; schedules: string[]; value: PolicyTargetInput[]; onChange: (targets: PolicyTargetInput[]) => void; level: number }) {
  const { users, schedules, value, onChange } = props;
  const names = new Map(users.map((u) => [u.email.toLowerCase(), u.name]));
  const has = (t: PolicyTargetInput) => value.some((v) => (v.type === 'user' && t.type === 'user' ? v.email === t.email : v.type === 'schedule' && t.type === 'schedule' ? v.name === t.name : false));
  return (
    <div className="field">
      <span>Page</span>
      {value.length > 0 && (
        <ol className="chips" aria-label={`Level ${props.level} targets`}>
          {value.map((target, index) => {
            const label = target.type === 'user' ? names.get(target.email.toLowerCase()) ?? target.email : `Schedule: ${target.name}`;
            return (
              <li key={`${target.type}:${target.type === 'user' ? target.email : target.name}`} className={`chip chip-${target.type}`}>
                <span className="chip-text">{label}</span>
                <button type="button" className="chip-button" onClick={() => onChange(value.filter((_, i) => i !== index))} aria-label={`Remove ${label}`}>×</button>
              </li>
            );
          })}
        </ol>
      )}
      <div className="form-row tight">
        <select name={`level-${props.level}-add-user`} aria-label={`Level ${props.level}: add a person`} value="" onChange={(e) => e.target.value && onChange([...value, { type: 'user', email: e.target.value }])}>
          <option value="">Add a person…</option>
          {users.filter((u) => !has({ type: 'user', email: u.email.toLowerCase() })).map((u) => (
            <option key={u.id} value={u.email.toLowerCase()}>{u.name} ({u.email})</option>
          ))}
        </select>
        <select name={`level-${props.level}-add-schedule`} aria-label={`Level ${props.level}: add a schedule`} value="" onChange={(e) => e.target.value && onChange([...value, { type: 'schedule', name: e.target.value }])}>
          <option value="">{schedules.length === 0 ? 'No schedules' : 'Add a schedule (whoever is on call)…'}</option>
          {schedules.filter((n) => !has({ type: 'schedule', name: n })).map((n) => (
            <option key={n} value={n}>{n}</option>
          ))}
        </select>
      </div>
    </div>
  );
}
