import { useEffect, useState } from 'react';
import { formatDateTime, formatDuration, formatRelative } from '../format.ts';

// One clock per tick interval, shared by every component on it: every 15 s keeps "2 minutes ago" true,
// every second drives countdowns. A clock stops when nobody listens.
const clocks = new Map<number, { subscribers: Set<(value: number) => void>; timer: ReturnType<typeof setInterval> }>();

function subscribe(intervalMs: number, subscriber: (value: number) => void): () => void {
  let clock = clocks.get(intervalMs);
  if (!clock) {
    const subscribers = new Set<(value: number) => void>();
    const timer = setInterval(() => {
      const now = Date.now();
      subscribers.forEach((s) => s(now));
    }, intervalMs);
    clock = { subscribers, timer };
    clocks.set(intervalMs, clock);
  }
  clock.subscribers.add(subscriber);
  return () => {
    clock.subscribers.delete(subscriber);
    if (clock.subscribers.size === 0) {
      clearInterval(clock.timer);
      clocks.delete(intervalMs);
    }
  };
}

/** The current time, re-rendering every `intervalMs`. */
export function useNow(intervalMs = 15_000): number {
  const [value, setValue] = useState(() => Date.now());
  useEffect(() => subscribe(intervalMs, setValue), [intervalMs]);
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

/** A live countdown to `value` ("in 4 min 05 s"), or `overdue` once it has passed. */
export function Countdown(props: { value: string; overdue?: string }) {
  const now = useNow(1000);
  const left = new Date(props.value).getTime() - now;
  return (
    <time className="countdown" dateTime={props.value} title={formatDateTime(props.value)}>
      {left > 0 ? `in ${formatDuration(left)}` : (props.overdue ?? 'due now')}
    </time>
  );
}
