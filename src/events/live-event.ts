/** What live views receive (SSE `GET /api/v1/stream`) after a change commits. Shared with the web UI. */
export type LiveEvent =
  | {
    type: 'incident.changed';
    incident: { id: string; number: number; status: 'triggered' | 'acknowledged' | 'resolved'; title: string; urgency: 'high' | 'low'; service_id: string; updated_at: string };
    reason: string;
  }
  | { type: 'timeline.appended'; incident_number: number; entry_id: string; entry_type: string }
  /** A chat message was created, edited or deleted: `seq` is its version_seq (ids only; readers fetch from the database). */
  | { type: 'chat.message'; channel: string; seq: number };
