import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { EventBus, LiveEvent } from './event-bus.ts';

const CHANNEL = 'firewatch_live';

/**
 * With several Firewatch processes on one PostgreSQL, a change committed by one must reach the live views
 * served by the others. Each process sends its events with NOTIFY and LISTENs for everyone else's.
 * Delivery is best effort (a view refetches on reconnect); it never affects what is committed.
 */
export function relayThroughPostgres(bus: EventBus, databaseUrl: string, log: { warn: (obj: object, msg: string) => void }) {
  const origin = randomUUID();
  const sender = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  sender.on('error', () => {});
  let listener: pg.Client | undefined;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('error', (error) => {
      log.warn({ err: error }, 'live relay connection lost; reconnecting');
      listener = undefined;
      void client.end().catch(() => {});
      if (!stopped) retryTimer = setTimeout(() => void connect(), 1000);
    });
    client.on('notification', (message) => {
      if (!message.payload) return;
      try {
        const { from, event } = JSON.parse(message.payload) as { from: string; event: LiveEvent };
        if (from !== origin) localPublish(event);
      } catch {
        // A malformed payload from an unknown sender is ignored.
      }
    });
    listener = client;
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      // Stopped while connecting: close now, or this connection would keep the process alive.
      if (stopped) await client.end().catch(() => {});
    } catch (error) {
      listener = undefined;
      log.warn({ err: error }, 'live relay cannot listen; retrying');
      void client.end().catch(() => {});
      if (!stopped) retryTimer = setTimeout(() => void connect(), 1000);
    }
  };

  const localPublish = bus.publish.bind(bus);
  bus.publish = (event) => {
    localPublish(event);
    sender.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify({ from: origin, event })]).catch((error: unknown) => {
      log.warn({ err: error }, 'live relay could not notify');
    });
  };

  void connect();
  return async () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    await listener?.end().catch(() => {});
    await sender.end().catch(() => {});
  };
}
