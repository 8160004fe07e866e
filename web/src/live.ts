import { useEffect, useEffectEvent, useSyncExternalStore } from 'react';
import { api } from './api.ts';
import type { LiveEvent } from './types.ts';

/**
 * One shared Server-Sent Events connection to GET /api/v1/stream for the whole signed-in app.
 * Pages subscribe with `useLiveRefresh`; every (re)connect counts as a change, because events sent
 * while the connection was down are lost and the page must refetch what it shows.
 */

export type LiveStatus = 'off' | 'connecting' | 'live';
export type LiveSignal = LiveEvent | { type: 'connected' };

const RETRY_AFTER_REFUSAL_MS = 5000;
const EVENT_TYPES = ['incident.changed', 'timeline.appended'] as const;

let source: EventSource | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let status: LiveStatus = 'off';
const statusListeners = new Set<() => void>();
const signalListeners = new Set<(signal: LiveSignal) => void>();

function setStatus(next: LiveStatus): void {
  if (status === next) return;
  status = next;
  statusListeners.forEach((listener) => listener());
}

function emit(signal: LiveSignal): void {
  signalListeners.forEach((listener) => listener(signal));
}

function connect(): void {
  setStatus('connecting');
  const stream = new EventSource('/api/v1/stream');
  source = stream;
  stream.addEventListener('open', () => {
    setStatus('live');
    emit({ type: 'connected' });
  });
  for (const type of EVENT_TYPES) {
    stream.addEventListener(type, (message) => {
      try {
        emit(JSON.parse((message as MessageEvent<string>).data) as LiveEvent);
      } catch {
        // A malformed event is skipped; the next change or reconnect refetches anyway.
      }
    });
  }
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CONNECTING) {
      setStatus('connecting'); // the browser retries by itself
      return;
    }
    // The server refused the stream (e.g. 401): EventSource gives up, so check the session and retry later.
    stream.close();
    if (source !== stream) return;
    source = null;
    setStatus('connecting');
    api.checkSession().catch(() => {});
    retryTimer = setTimeout(() => {
      if (status !== 'off' && !source) connect();
    }, RETRY_AFTER_REFUSAL_MS);
  });
}

/** Opens the shared stream (after sign-in). */
export function startLive(): void {
  if (source || status !== 'off') return;
  connect();
}

/** Closes the stream (on sign-out). */
export function stopLive(): void {
  clearTimeout(retryTimer);
  source?.close();
  source = null;
  setStatus('off');
}

export function useLiveStatus(): LiveStatus {
  return useSyncExternalStore((listener) => {
    statusListeners.add(listener);
    return () => statusListeners.delete(listener);
  }, () => status);
}

/**
 * Calls `refresh` after live changes that `matters` selects (and after every reconnect), at most once
 * per `delayMs`: a burst of alerts becomes one refetch.
 */
export function useLiveRefresh(matters: (event: LiveEvent) => boolean, refresh: () => void, delayMs = 200): void {
  const isRelevant = useEffectEvent((signal: LiveSignal) => signal.type === 'connected' || matters(signal));
  const runRefresh = useEffectEvent(() => refresh());
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listener = (signal: LiveSignal) => {
      if (timer !== undefined || !isRelevant(signal)) return;
      timer = setTimeout(() => {
        timer = undefined;
        runRefresh();
      }, delayMs);
    };
    signalListeners.add(listener);
    return () => {
      signalListeners.delete(listener);
      clearTimeout(timer);
    };
  }, [delayMs]);
}
