import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { AppError } from '../errors.ts';
import type { EventBus, LiveEvent } from '../events/event-bus.ts';
import type { FeatureLog } from '../features/module.ts';
import type { Principal } from '../users/users.service.ts';
import type { ChatServiceImpl } from './chat.service.ts';
import type { ChatMessage } from './chat.types.ts';

/** A socket buffering more than this is too slow to follow: it is closed and reconnects with after_seq. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** Catch-up pauses while a socket has this much unsent. */
const CATCH_UP_BUFFERED = 1024 * 1024;
const HEARTBEAT_MS = 30_000;
const BATCH = 500;
const MAX_SUBSCRIPTIONS = 100;

interface Client {
  ws: WebSocket;
  principal: Principal;
  key: string;
  alive: boolean;
  subs: Map<string, Sub>;
}

interface Sub {
  client: Client;
  room: Room;
  /** The last version sent to this socket. */
  lastSent: number;
  /** Backlog still being read: live frames wait in the queue. */
  queue: { version: number; frame: Buffer }[] | null;
}

interface Room {
  name: string;
  id: string;
  incidentNumber: number | null;
  /** The last version fetched for this room (shared by every socket in it). */
  cursor: number;
  subs: Set<Sub>;
  fetching: boolean;
  again: boolean;
  summaryTimer: NodeJS.Timeout | null;
  presenceTimer: NodeJS.Timeout | null;
}

const frameOf = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const TEXT_FRAME = { binary: false } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(client: Client, frame: Buffer): boolean {
  const { ws } = client;
  if (ws.readyState !== ws.OPEN) return false;
  if (ws.bufferedAmount > MAX_BUFFERED) {
    // Too far behind: drop it rather than buffer without bound; the client resumes from its last seq.
    ws.close(1013, 'too slow: reconnect with after_seq');
    setTimeout(() => ws.terminate(), 1000).unref();
    return false;
  }
  ws.send(frame, TEXT_FRAME);
  return true;
}

/** Origins a session-authenticated socket may come from: the public URL's, or the Host it connected to. */
function sameOrigin(request: FastifyRequest, publicUrl: string): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  const allowed = new Set<string>();
  try {
    allowed.add(new URL(publicUrl).origin);
  } catch {
    // An invalid public URL allows only the Host's origin.
  }
  if (request.headers.host) {
    allowed.add(`http://${request.headers.host}`);
    allowed.add(`https://${request.headers.host}`);
  }
  return allowed.has(origin);
}

/**
 * The live war room over WebSocket: one database read per channel per change (not per socket), one
 * serialisation per message, backlog first on subscribe, presence and incident summaries.
 */
export function createChatHub(deps: { chat: ChatServiceImpl; bus: EventBus; log: FeatureLog; publicUrl: string }) {
  const { chat, log } = deps;
  const clients = new Set<Client>();
  const rooms = new Map<string, Room>();
  const opening = new Map<string, Promise<Room>>();
  let heartbeat: NodeJS.Timeout | null = null;

  function startHeartbeat() {
    if (heartbeat) return;
    heartbeat = setInterval(() => {
      for (const c of clients) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        try {
          c.ws.ping();
        } catch {
          c.ws.terminate();
        }
      }
    }, HEARTBEAT_MS);
    heartbeat.unref();
  }

  async function openRoom(name: string): Promise<Room> {
    const existing = rooms.get(name);
    if (existing) return existing;
    let pending = opening.get(name);
    if (!pending) {
      pending = (async () => {
        const row = await chat.channelByName(name);
        const room: Room = {
          name, id: row.id, incidentNumber: row.incident_number === null ? null : Number(row.incident_number), cursor: Number(row.last_seq),
          subs: new Set(), fetching: false, again: false, summaryTimer: null, presenceTimer: null,
        };
        rooms.set(name, room);
        return room;
      })().finally(() => opening.delete(name));
      opening.set(name, pending);
    }
    return pending;
  }

  function closeRoomIfEmpty(room: Room) {
    if (room.subs.size > 0) return;
    rooms.delete(room.name);
    if (room.summaryTimer) clearTimeout(room.summaryTimer);
    if (room.presenceTimer) clearTimeout(room.presenceTimer);
  }

  function deliver(room: Room, version: number, frame: Buffer) {
    for (const sub of room.subs) {
      if (sub.queue) {
        sub.queue.push({ version, frame });
      } else if (version > sub.lastSent) {
        sub.lastSent = version;
        send(sub.client, frame);
      }
    }
  }

  /** Reads what the room has not fetched yet, once for all its sockets; coalesces bursts. */
  async function pump(room: Room) {
    if (room.fetching) {
      room.again = true;
      return;
    }
    room.fetching = true;
    try {
      for (;;) {
        room.again = false;
        const messages = await chat.changesSince(room.id, room.name, room.cursor, BATCH);
        for (const m of messages) {
          if (m.version_seq <= room.cursor) continue;
          room.cursor = m.version_seq;
          deliver(room, m.version_seq, frameOf({ type: 'message', message: m }));
        }
        if (messages.length < BATCH && !room.again) break;
      }
    } catch (error) {
      log.error({ err: error, channel: room.name }, 'chat live fetch failed');
    } finally {
      room.fetching = false;
    }
  }

  function users(room: Room): { id: string; name: string }[] {
    const seen = new Map<string, { id: string; name: string }>();
    for (const sub of room.subs) seen.set(sub.client.key, { id: sub.client.key, name: sub.client.principal.name });
    return [...seen.values()].toSorted((a, b) => a.name.localeCompare(b.name));
  }

  function schedulePresence(room: Room) {
    if (room.presenceTimer) return;
    room.presenceTimer = setTimeout(() => {
      room.presenceTimer = null;
      const frame = frameOf({ type: 'presence', channel: room.name, users: users(room) });
      for (const sub of room.subs) send(sub.client, frame);
    }, 50);
    room.presenceTimer.unref();
  }

  function scheduleSummary(room: Room) {
    if (room.summaryTimer || room.subs.size === 0) return;
    room.summaryTimer = setTimeout(() => {
      room.summaryTimer = null;
      chat.summary(room.name).then((summary) => {
        if (!summary) return;
        const frame = frameOf({ type: 'summary', channel: room.name, summary });
        for (const sub of room.subs) send(sub.client, frame);
      }).catch((error: unknown) => log.error({ err: error, channel: room.name }, 'chat summary failed'));
    }, 200);
    room.summaryTimer.unref();
  }

  const unsubscribeBus = deps.bus.subscribe((event: LiveEvent) => {
    if (event.type === 'chat.message') {
      const room = rooms.get(event.channel);
      if (room && event.seq > room.cursor) void pump(room);
    } else if (event.type === 'incident.changed' || event.type === 'timeline.appended') {
      const number = event.type === 'incident.changed' ? event.incident.number : event.incident_number;
      const room = rooms.get(`incident-${number}`);
      if (room) scheduleSummary(room);
    }
  });

  chat.setEphemeralSink((channel: string, userId: string, message: ChatMessage) => {
    const room = rooms.get(channel);
    if (!room) return;
    const frame = frameOf({ type: 'ephemeral', channel, message });
    for (const sub of room.subs) if (sub.client.key === userId) send(sub.client, frame);
  });

  function errorFrame(client: Client, code: string, message: string) {
    send(client, frameOf({ type: 'error', code, message }));
  }

  function unsubscribe(client: Client, channel: string) {
    const sub = client.subs.get(channel);
    if (!sub) return;
    client.subs.delete(channel);
    sub.room.subs.delete(sub);
    schedulePresence(sub.room);
    closeRoomIfEmpty(sub.room);
  }

  async function subscribe(client: Client, channel: string, afterSeq: number | undefined) {
    unsubscribe(client, channel);
    if (client.subs.size >= MAX_SUBSCRIPTIONS) {
      errorFrame(client, 'too_many_subscriptions', `at most ${MAX_SUBSCRIPTIONS} channels per connection`);
      return;
    }
    let room: Room;
    try {
      room = await openRoom(channel);
    } catch (error) {
      if (error instanceof AppError) errorFrame(client, error.code, error.message);
      else throw error;
      return;
    }
    if (client.ws.readyState !== client.ws.OPEN) {
      closeRoomIfEmpty(room);
      return;
    }
    // A cursor from the future (another server's database, a typo) would hide every new message: clamp it.
    let start = afterSeq;
    if (start !== undefined && start > room.cursor) start = Math.min(start, Number((await chat.channelByName(channel)).last_seq));
    if (client.subs.has(channel) || client.ws.readyState !== client.ws.OPEN) {
      closeRoomIfEmpty(room);
      return;
    }
    const sub: Sub = { client, room, lastSent: start ?? room.cursor, queue: start === undefined ? null : [] };
    client.subs.set(channel, sub);
    room.subs.add(sub);
    schedulePresence(room);
    send(client, frameOf({ type: 'subscribed', channel, last_seq: room.cursor }));
    if (start === undefined) return;
    // Backlog first, in version order; live frames wait in the queue meanwhile.
    for (;;) {
      if (client.subs.get(channel) !== sub || client.ws.readyState !== client.ws.OPEN) return;
      const messages = await chat.changesSince(room.id, room.name, sub.lastSent, BATCH);
      if (client.subs.get(channel) !== sub) return;
      for (const m of messages) {
        sub.lastSent = m.version_seq;
        send(client, frameOf({ type: 'message', message: m }));
      }
      if (messages.length < BATCH) break;
      while (client.ws.bufferedAmount > CATCH_UP_BUFFERED && client.ws.readyState === client.ws.OPEN) await sleep(10);
    }
    for (const q of sub.queue ?? []) {
      if (q.version > sub.lastSent) {
        sub.lastSent = q.version;
        send(client, q.frame);
      }
    }
    sub.queue = null;
  }

  async function handle(client: Client, raw: string) {
    let msg: { type?: unknown; channel?: unknown; after_seq?: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      errorFrame(client, 'invalid_json', 'send JSON messages');
      return;
    }
    if (!msg || typeof msg !== 'object') {
      errorFrame(client, 'invalid_message', 'send a JSON object with a type');
      return;
    }
    if (msg.type === 'ping') {
      send(client, frameOf({ type: 'pong' }));
      return;
    }
    if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') {
      errorFrame(client, 'unknown_type', 'type is subscribe, unsubscribe or ping');
      return;
    }
    if (typeof msg.channel !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,79}$/.test(msg.channel)) {
      errorFrame(client, 'invalid_channel', 'channel must be a channel name');
      return;
    }
    if (msg.type === 'unsubscribe') {
      unsubscribe(client, msg.channel);
      return;
    }
    const after = msg.after_seq;
    if (after !== undefined && after !== null && (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)) {
      errorFrame(client, 'invalid_after_seq', 'after_seq must be a non-negative integer');
      return;
    }
    await subscribe(client, msg.channel, typeof after === 'number' ? after : undefined);
  }

  function accept(ws: WebSocket, principal: Principal) {
    const client: Client = { ws, principal, key: principal.userId ?? principal.id, alive: true, subs: new Map() };
    clients.add(client);
    startHeartbeat();
    // Messages of one socket are handled in order (a subscribe's backlog before the next command).
    let chain: Promise<void> = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        errorFrame(client, 'invalid_message', 'send text frames');
        return;
      }
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      chain = chain.then(() => handle(client, text)).catch((error: unknown) => {
        log.error({ err: error }, 'chat socket message failed');
        errorFrame(client, 'internal_error', 'internal error');
      });
    });
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('error', (error) => {
      log.warn({ err: error }, 'chat socket error');
      ws.terminate();
    });
    ws.on('close', () => {
      clients.delete(client);
      for (const channel of client.subs.keys()) unsubscribe(client, channel);
    });
  }

  return {
    accept,
    onlineIn(channel: string): { id: string; name: string }[] {
      const room = rooms.get(channel);
      return room ? users(room) : [];
    },
    clientCount: () => clients.size,

    async register(api: FastifyInstance) {
      if (!api.hasDecorator('websocketServer')) await api.register(websocket, { options: { maxPayload: 64 * 1024 } });
      api.get('/api/v1/ws', {
        websocket: true,
        config: { auth: 'viewer' },
        // The app's auth hook ran first (401 before any upgrade); a session cookie must also come from our own origin.
        onRequest: async (request) => {
          const principal = request.principal;
          if (principal?.kind === 'session' && !sameOrigin(request, deps.publicUrl)) {
            throw new AppError('cross_origin', 403, 'the WebSocket must be opened from the Firewatch origin');
          }
        },
        // A refused upgrade answered over the raw socket: end it, so no half-open connection lingers (or holds up shutdown).
        onResponse: async (request, reply) => {
          const socket = request.raw.socket;
          if (reply.statusCode >= 400 && request.headers.upgrade && socket && !socket.destroyed) {
            socket.end();
            setTimeout(() => socket.destroy(), 1000).unref();
          }
        },
      }, (socket, request) => {
        if (!request.principal) {
          socket.close(1008, 'authentication required');
          return;
        }
        accept(socket, request.principal);
      });
    },

    close() {
      unsubscribeBus();
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      for (const c of clients) c.ws.terminate();
      clients.clear();
      for (const room of rooms.values()) {
        if (room.summaryTimer) clearTimeout(room.summaryTimer);
        if (room.presenceTimer) clearTimeout(room.presenceTimer);
      }
      rooms.clear();
    },
  };
}

export type ChatHub = ReturnType<typeof createChatHub>;
