import { useEffect, useState } from 'react';
import { formatDateTime, formatRelative } from '../format.ts';

// One clock for every <Time>, ticking every 15 s so "2 minutes ago" stays true.
const subscribers = new Set<(value: number) => void>();
setInterval(() => {
  const now = Date.now();
  subscribers.forEach((subscriber) => subscriber(now));
}, 15_000);

function useNow(): number {
  const [value, setValue] = useState(() => Date.now());
  useEffect(() => {
    subscribers.add(setValue);
    return () => {
      subscribers.delete(setValue);
    };
  }, []);
  return value;
}

/** A time shown relative ("3 minutes ago") or absolute, with the other form as its tooltip. */
export function Time(props: { value: string | null | undefined; absolute?: boolean }) {
  const current = useNow();
  if (!props.value) return <span className="muted">—</span>;
  const exact = formatDateTime(props.value);
  const ago = formatRelative(props.value, current);
  return (
    <time dateTime={props.value} title={props.absolute ? ago : exact}>
      {props.absolute ? exact : ago}
    </time>
  );
}
