import { useSyncExternalStore } from 'react';
import type { ServerFrame } from './types.ts';

/**
 * One shared WebSocket to /api/v1/ws for the signed-in app. Views subscribe to channels with
 * `subscribeChannel(name, afterSeq, listener)`; after a drop the socket reconnects with backoff and
 * resubscribes every channel after the last seq its view has seen (the view reports it through
 * `lastSeq`), so the server replays exactly what was missed. Views dedupe by message id.
 */

export type SocketStatus = 'idle' | 'connecting' | 'open' | 'reconnecting';

interface Subscription {
  channel: string;
  lastSeq: () => number;
  listener: (frame: ServerFrame) => void;
}

const PING_MS = 25_000;
const MAX_BACKOFF_MS = 10_000;

let socket: WebSocket | null = null;
let status: SocketStatus = 'idle';
let attempts = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let pingTimer: ReturnType<typeof setInterval> | undefined;
const subscriptions = new Set<Subscription>();
const statusListeners = new Set<() => void>();

function setStatus(next: SocketStatus): void {
  if (status === next) return;
  status = next;
  statusListeners.forEach((listener) => listener());
}

function sendFrame(frame: unknown): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function subscribeFrame(subscription: Subscription): void {
  sendFrame({ type: 'subscribe', channel: subscription.channel, after_seq: subscription.lastSeq() });
}

function dispatch(frame: ServerFrame): void {
  const channel = frame.type === 'message' ? frame.message.channel : 'channel' in frame ? frame.channel : undefined;
  for (const subscription of subscriptions) {
    if (channel === undefined || subscription.channel === channel) subscription.listener(frame);
  }
}

function connect(): void {
  clearTimeout(retryTimer);
  setStatus(attempts === 0 ? 'connecting' : 'reconnecting');
  const url = new URL('/api/v1/ws', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener('open', () => {
    if (socket !== ws) return;
    attempts = 0;
    setStatus('open');
    for (const subscription of subscriptions) subscribeFrame(subscription);
    clearInterval(pingTimer);
    pingTimer = setInterval(() => sendFrame({ type: 'ping' }), PING_MS);
  });
  ws.addEventListener('message', (event) => {
    if (socket !== ws || typeof event.data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(event.data) as ServerFrame;
    } catch {
      return; // a malformed frame is skipped; seq gaps are filled by the views
    }
    if (frame && typeof frame === 'object' && typeof frame.type === 'string') dispatch(frame);
  });
  ws.addEventListener('close', () => {
    if (socket !== ws) return;
    socket = null;
    clearInterval(pingTimer);
    if (subscriptions.size === 0) {
      setStatus('idle');
      attempts = 0;
      return;
    }
    scheduleReconnect();
  });
  // An error is always followed by close, which reconnects.
  ws.addEventListener('error', () => {});
}

function scheduleReconnect(): void {
  attempts++;
  setStatus('reconnecting');
  const delay = Math.min(MAX_BACKOFF_MS, 300 * 2 ** Math.min(attempts - 1, 6)) * (0.75 + Math.random() * 0.5);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => {
    if (!socket && subscriptions.size > 0) connect();
  }, delay);
}

// Coming back online or to the tab: reconnect at once rather than waiting out the backoff.
function reconnectNow(): void {
  if (!socket && subscriptions.size > 0) {
    attempts = Math.max(attempts, 1);
    connect();
  }
}
window.addEventListener('online', reconnectNow);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') reconnectNow();
});
// Going offline: the socket may linger half-open for a long time; close it so the status tells the truth.
window.addEventListener('offline', () => {
  if (socket) {
    const ws = socket;
    socket = null;
    clearInterval(pingTimer);
    ws.close();
    scheduleReconnect();
  }
});

/**
 * Follows one channel. `lastSeq` answers the highest seq the caller has (read at every (re)subscribe).
 * Returns the unsubscribe function.
 */
export function subscribeChannel(channel: string, lastSeq: () => number, listener: (frame: ServerFrame) => void): () => void {
  const subscription: Subscription = { channel, lastSeq, listener };
  subscriptions.add(subscription);
  if (!socket) connect();
  else subscribeFrame(subscription);
  return () => {
    subscriptions.delete(subscription);
    if (![...subscriptions].some((other) => other.channel === channel)) sendFrame({ type: 'unsubscribe', channel });
    if (subscriptions.size === 0 && socket) {
      const ws = socket;
      socket = null;
      clearInterval(pingTimer);
      clearTimeout(retryTimer);
      ws.close();
      attempts = 0;
      setStatus('idle');
    }
  };
}

/** Sends a frame on the shared socket when it is open (typing indicators, pings); dropped otherwise. */
export function sendOnSocket(frame: unknown): void {
  sendFrame(frame);
}

export function useSocketStatus(): SocketStatus {
  return useSyncExternalStore((listener) => {
    statusListeners.add(listener);
    return () => statusListeners.delete(listener);
  }, () => status);
}
