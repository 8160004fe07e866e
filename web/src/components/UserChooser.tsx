import type { User } from '../types.ts';
import { moveItem } from './OrderedItem.tsx';

/**
 * Picks people: the chosen ones as removable chips (in order, which matters for rotations), and a select
 * to add one more. `ordered` adds up/down buttons.
 */
export function UserChooser(props: {
  users: User[];
  value: string[];
  onChange: (emails: string[]) => void;
  label: string;
  name?: string;
  ordered?: boolean;
  /** Allow the same person twice (rotations may list someone twice). */
  repeats?: boolean;
}) {
  const { users, value, onChange } = props;
  const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
  const addable = props.repeats ? users : users.filter((u) => !value.includes(u.email.toLowerCase()));
  const move = (index: number, by: number) => onChange(moveItem(value, index, by));
  return (
    <div className="chooser">
      {value.length > 0 && (
        <ol className={`chips${props.ordered ? ' ordered' : ''}`} aria-label={props.label}>
          {value.map((email, index) => (
            <li key={`${email}-${index}`} className="chip">
              <span className="chip-text">{byEmail.get(email)?.name ?? email}</span>
              {props.ordered && (
                <>
                  <button type="button" className="chip-button" disabled={index === 0} onClick={() => move(index, -1)} aria-label={`Move ${email} up`}>↑</button>
                  <button type="button" className="chip-button" disabled={index === value.length - 1} onClick={() => move(index, 1)} aria-label={`Move ${email} down`}>↓</button>
                </>
              )}
              <button type="button" className="chip-button" onClick={() => onChange(value.filter((_, i) => i !== index))} aria-label={`Remove ${email}`}>×</button>
            </li>
          ))}
        </ol>
      )}
      <select
        name={props.name}
        aria-label={`${props.label}: add a person`}
        value=""
        onChange={(event) => {
          if (event.target.value) onChange([...value, event.target.value]);
        }}
      >
        <option value="">{value.length === 0 ? 'Choose a person…' : 'Add another person…'}</option>
        {addable.map((user) => (
          <option key={user.id} value={user.email.toLowerCase()}>{user.name} ({user.email})</option>
        ))}
      </select>
    </div>
  );
}
