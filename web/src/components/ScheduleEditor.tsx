import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { dateParam } from '../calendar.ts';
import { browserTimeZone } from '../format.ts';
import type { Layer, LayerInput, Restriction, Schedule, Weekday } from '../types.ts';
import { moveItem, OrderedItemHead } from './OrderedItem.tsx';
import { useAction } from './useAction.ts';
import { UserChooser } from './UserChooser.tsx';
import { useUsers } from './useUsers.ts';

const WEEKDAYS: { value: Weekday; label: string }[] = [
  { value: 'MO', label: 'Mon' }, { value: 'TU', label: 'Tue' }, { value: 'WE', label: 'Wed' }, { value: 'TH', label: 'Thu' },
  { value: 'FR', label: 'Fri' }, { value: 'SA', label: 'Sat' }, { value: 'SU', label: 'Sun' },
];
const PRESETS = { weekly: 'FREQ=WEEKLY', daily: 'FREQ=DAILY' } as const;
type Preset = keyof typeof PRESETS | 'custom';

const ZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
})();

interface LayerDraft {
  key: number;
  name: string;
  start: string;
  end: string;
  preset: Preset;
  rule: string;
  members: string[];
  perTurn: Layer['members_per_turn'];
  restrictions: Restriction[];
}

let nextKey = 1;

/** A layer start or end as a datetime-local value in the schedule's zone (instants are converted). */
function wallTime(value: string | null, zone: string): string {
  if (!value) return '';
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return value.slice(0, 16);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function presetOf(rule: string): Preset {
  const normal = rule.trim().toUpperCase().replace(/^RRULE:/, '');
  return normal === PRESETS.weekly ? 'weekly' : normal === PRESETS.daily ? 'daily' : 'custom';
}

function draftOf(layer: Layer, zone: string): LayerDraft {
  return {
    key: nextKey++,
    name: layer.name,
    start: wallTime(layer.start, zone),
    end: wallTime(layer.end, zone),
    preset: presetOf(layer.rotation),
    rule: layer.rotation,
    members: layer.members.map((m) => m.email.toLowerCase()),
    perTurn: layer.members_per_turn,
    restrictions: layer.restrictions,
  };
}

function blankLayer(index: number): LayerDraft {
  const monday = new Date();
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return {
    key: nextKey++, name: `Layer ${index + 1}`, start: `${dateParam(monday)}T09:00`, end: '',
    preset: 'weekly', rule: PRESETS.weekly, members: [], perTurn: 1, restrictions: [],
  };
}

/**
 * A schedule's name, zone and layers as a form (YAML via `firewatch apply` is the main path; this keeps
 * small changes quick). Layers are listed bottom to top: a higher layer wins where it covers.
 */
export function ScheduleEditor(props: { schedule: Schedule | null; onCancel: () => void; onSaved: (schedule: Schedule) => Promise<void> }) {
  const { schedule } = props;
  const { users, error: usersError } = useUsers();
  const [name, setName] = useState(schedule?.name ?? '');
  const [description, setDescription] = useState(schedule?.description ?? '');
  const [zone, setZone] = useState(schedule?.time_zone ?? browserTimeZone);
  const [layers, setLayers] = useState<LayerDraft[]>(() => (schedule ? schedule.layers.map((l) => draftOf(l, schedule.time_zone)) : [blankLayer(0)]));
  const { busy, error, setError, run } = useAction();
  const [problems, setProblems] = useState<string[]>([]);

  const update = (key: number, change: Partial<LayerDraft>) => setLayers(layers.map((l) => (l.key === key ? { ...l, ...change } : l)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblems([]);
    if (!name.trim()) return setError('Give the schedule a name.');
    if (!zone.trim()) return setError('Choose the time zone the schedule hands off in.');
    const unnamed = layers.findIndex((l) => !l.name.trim());
    if (unnamed >= 0) return setError(`Layer ${unnamed + 1} needs a name.`);
    const unstarted = layers.findIndex((l) => !l.start);
    if (unstarted >= 0) return setError(`Layer ${unstarted + 1} needs a start (its first hand-off).`);
    const input = {
      name: name.trim(),
      description: description.trim(),
      time_zone: zone.trim(),
      layers: layers.map((l): LayerInput => ({
        name: l.name.trim(),
        start: l.start,
        end: l.end || null,
        rotation: l.preset === 'custom' ? l.rule.trim() : PRESETS[l.preset],
        members: l.members,
        members_per_turn: l.perTurn,
        restrictions: l.restrictions,
      })),
    };
    await run(async () => {
      try {
        const saved = schedule ? (await api.updateSchedule(schedule.name, input)).schedule : (await api.createSchedule(input)).schedule;
        await props.onSaved(saved);
      } catch (failure) {
        const details = (failure as { details?: { problems?: unknown } }).details;
        if (details && Array.isArray(details.problems)) setProblems(details.problems.filter((p): p is string => typeof p === 'string'));
        throw failure;
      }
    });
  };

  return (
    <form className="card schedule-editor" onSubmit={submit} aria-label={schedule ? `Edit ${schedule.name}` : 'New schedule'} noValidate>
      <h2 className="form-title">{schedule ? 'Edit schedule' : 'New schedule'}</h2>
      {usersError && <p className="error" role="alert">{usersError}</p>}
      <div className="form-row">
        <label className="field grow">
          <span>Name</span>
          <input name="schedule-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} placeholder="checkout-primary" />
        </label>
        <label className="field grow">
          <span>Time zone <span className="muted small">(hand-offs and restrictions)</span></span>
          <input name="schedule-zone" list="time-zones" value={zone} onChange={(e) => setZone(e.target.value)} maxLength={64} placeholder="Europe/Berlin" />
          <datalist id="time-zones">{ZONES.map((z) => <option key={z} value={z} />)}</datalist>
        </label>
      </div>
      <label className="field">
        <span>Description <span className="muted small">(optional)</span></span>
        <input name="schedule-description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
      </label>

      <h3 className="subheading">Layers <span className="muted small">(bottom to top: a higher layer wins where it covers)</span></h3>
      {layers.length === 0 && <p className="muted">No layers: nobody is ever on call except by override.</p>}
      <ol className="layer-editor-list">
        {layers.map((layer, index) => (
          <li key={layer.key} className="level-editor layer-editor" data-layer={index + 1}>
            <OrderedItemHead
              title={`Layer ${index + 1}`}
              index={index}
              count={layers.length}
              labels={{ up: `Move layer ${index + 1} down the stack`, down: `Move layer ${index + 1} up the stack`, remove: 'Remove layer' }}
              onMove={(by) => setLayers(moveItem(layers, index, by))}
              onRemove={() => setLayers(layers.filter((l) => l.key !== layer.key))}
            />
            <div className="form-row">
              <label className="field grow">
                <span>Name</span>
                <input name={`layer-${index + 1}-name`} value={layer.name} onChange={(e) => update(layer.key, { name: e.target.value })} maxLength={100} />
              </label>
              <label className="field">
                <span>First hand-off <span className="muted small">({zone || 'schedule zone'})</span></span>
                <input name={`layer-${index + 1}-start`} type="datetime-local" value={layer.start} onChange={(e) => update(layer.key, { start: e.target.value })} />
              </label>
              <label className="field">
                <span>Ends <span className="muted small">(optional, {zone || 'schedule zone'})</span></span>
                <input name={`layer-${index + 1}-end`} type="datetime-local" value={layer.end} onChange={(e) => update(layer.key, { end: e.target.value })} />
              </label>
            </div>
            <div className="form-row">
              <label className="field">
                <span>Hands off</span>
                <select name={`layer-${index + 1}-rotation`} value={layer.preset} onChange={(e) => {
                  const preset = e.target.value as Preset;
                  update(layer.key, { preset, rule: preset === 'custom' ? layer.rule : PRESETS[preset] });
                }}>
                  <option value="weekly">weekly</option>
                  <option value="daily">daily</option>
                  <option value="custom">custom (RRULE)</option>
                </select>
              </label>
              {layer.preset === 'custom' && (
                <label className="field grow">
                  <span>RRULE</span>
                  <input name={`layer-${index + 1}-rrule`} value={layer.rule} onChange={(e) => update(layer.key, { rule: e.target.value })} maxLength={500} placeholder="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO" spellCheck={false} />
                </label>
              )}
            </div>
            <div className="field">
              <span>Members, in rotation order</span>
              <UserChooser users={users} value={layer.members} onChange={(members) => update(layer.key, { members })} label={`Layer ${index + 1} members`} name={`layer-${index + 1}-member`} ordered repeats />
            </div>
            <RestrictionsEditor layer={index + 1} value={layer.restrictions} onChange={(restrictions) => update(layer.key, { restrictions })} />
          </li>
        ))}
      </ol>
      <button type="button" className="button" onClick={() => setLayers([...layers, blankLayer(layers.length)])}>Add layer</button>

      {error && <p className="error" role="alert">{error}</p>}
      {problems.length > 0 && <ul className="error problems">{problems.map((p) => <li key={p}>{p}</li>)}</ul>}
      <div className="actions form-actions">
        <button type="submit" className="button primary" disabled={busy}>{busy ? 'Saving…' : schedule ? 'Save schedule' : 'Create schedule'}</button>
        <button type="button" className="button ghost" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}

/** When a layer covers: no restrictions = always; otherwise only inside these daily windows (in the schedule's zone). */
function RestrictionsEditor(props: { layer: number; value: Restriction[]; onChange: (value: Restriction[]) => void }) {
  const { value, onChange } = props;
  const set = (index: number, change: Partial<Restriction>) => onChange(value.map((r, i) => (i === index ? { ...r, ...change } : r)));
  const toggleDay = (index: number, day: Weekday) => {
    const days = value[index].days ?? [];
    const next = days.includes(day) ? days.filter((d) => d !== day) : WEEKDAYS.map((w) => w.value).filter((w) => w === day || days.includes(w));
    set(index, { days: next.length > 0 ? next : undefined });
  };
  return (
    <div className="field restrictions">
      <span>Covers {value.length === 0 ? <span className="muted">all the time</span> : 'only'}</span>
      {value.map((restriction, index) => (
        <div key={index} className="restriction">
          <div className="day-toggles" role="group" aria-label={`Layer ${props.layer} restriction ${index + 1} days`}>
            {WEEKDAYS.map((day) => (
              <button key={day.value} type="button" className="day-toggle" aria-pressed={restriction.days?.includes(day.value) ?? false} onClick={() => toggleDay(index, day.value)}>
                {day.label}
              </button>
            ))}
          </div>
          <label className="inline-field">from <input type="time" value={restriction.from} onChange={(e) => set(index, { from: e.target.value })} aria-label="From" /></label>
          <label className="inline-field">to <input type="time" value={restriction.to === '24:00' ? '00:00' : restriction.to} onChange={(e) => set(index, { to: e.target.value })} aria-label="To" /></label>
          <button type="button" className="button small ghost" onClick={() => onChange(value.filter((_, i) => i !== index))}>Remove</button>
          {!restriction.days && <span className="muted small">every day</span>}
        </div>
      ))}
      <div className="actions">
        <button type="button" className="button small" onClick={() => onChange([...value, { days: ['MO', 'TU', 'WE', 'TH', 'FR'], from: '09:00', to: '17:00' }])}>Add weekday 09–17</button>
        <button type="button" className="button small" onClick={() => onChange([...value, { from: '00:00', to: '00:00' }])}>Add window</button>
      </div>
    </div>
  );
}
