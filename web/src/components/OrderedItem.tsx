/** A copy of `items` with the one at `index` moved `by` places (−1 earlier, +1 later). */
export function moveItem<T>(items: readonly T[], index: number, by: number): T[] {
  const next = [...items];
  const [item] = next.splice(index, 1);
  next.splice(index + by, 0, item);
  return next;
}

/** The head of one item in an ordered editor (a policy's level, a schedule's layer): its title, move up/down, remove. */
export function OrderedItemHead(props: {
  title: string;
  index: number;
  count: number;
  labels: { up: string; down: string; remove: string };
  canRemove?: boolean;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  return (
    <div className="level-editor-head">
      <strong>{props.title}</strong>
      <div className="actions">
        <button type="button" className="button small" disabled={props.index === 0} onClick={() => props.onMove(-1)} aria-label={props.labels.up}>↑</button>
        <button type="button" className="button small" disabled={props.index === props.count - 1} onClick={() => props.onMove(1)} aria-label={props.labels.down}>↓</button>
        <button type="button" className="button small" disabled={props.canRemove === false} onClick={props.onRemove}>{props.labels.remove}</button>
      </div>
    </div>
  );
}
