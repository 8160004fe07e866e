import { EventEmitter } from 'node:events';

/** What live views need to know after a commit. Published only after the transaction commits. */
export type LiveEvent =
  | { type: 'incident.changed'; incident: { id: string; number: number; status: string; title: string; urgency: string; service_id: string; updated_at: string }; reason: string }
  | { type: 'timeline.appended'; incident_number: number; entry_id: string; entry_type: string };

export interface EventBus {
  publish(event: LiveEvent): void;
  subscribe(listener: (event: LiveEvent) => void): () => void;
  listenerCount(): number;
}

/** In-process fan-out to live subscribers (SSE streams). */
export function createEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(event) {
      emitter.emit('event', event);
    },
    subscribe(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    listenerCount: () => emitter.listenerCount('event'),
  };
}
