// Shapes of the Firewatch REST API as the UI reads them, derived from the server's own zod schemas
// (the same ones that filter responses and describe GET /api/v1/openapi.json). Types only: nothing
// from the server is bundled into the browser.
import type { z } from 'zod';
import type { alertSchema, incidentDetailSchema, incidentPageSchema, incidentSchema, timelineEntrySchema } from '../../src/incidents/incident.schemas.ts';
import type { integrationSchema, serviceSchema } from '../../src/services/service.schemas.ts';
import type { roleSchema, sessionSchema, userSchema } from '../../src/users/user.schemas.ts';

export type { LiveEvent } from '../../src/events/live-event.ts';

export type Role = z.infer<typeof roleSchema>;
export type User = z.infer<typeof userSchema>;
export type Session = z.infer<typeof sessionSchema>;
export type Incident = z.infer<typeof incidentSchema>;
export type IncidentStatus = Incident['status'];
export type Urgency = Incident['urgency'];
export type IncidentPage = z.infer<typeof incidentPageSchema>;
export type Alert = z.infer<typeof alertSchema>;
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;
export type IncidentDetail = z.infer<typeof incidentDetailSchema>;
export type Integration = z.infer<typeof integrationSchema>;
export type IntegrationType = Integration['type'];
export type Service = z.infer<typeof serviceSchema>;

export interface IncidentFilters {
  status: string;
  service: string;
  urgency: string;
}
