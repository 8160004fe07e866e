// Shapes of the Firewatch REST API as the UI reads them, derived from the server's own zod schemas
// (the same ones that filter responses and describe GET /api/v1/openapi.json). Types only: nothing
// from the server is bundled into the browser.
import type { z } from 'zod';
import type { alertSchema, incidentDetailSchema, incidentPageSchema, incidentSchema, timelineEntrySchema } from '../../src/incidents/incident.schemas.ts';
import type { contactMethodCreateSchema, contactMethodOutSchema, notificationRuleOutSchema } from '../../src/oncall/contacts/contact.schemas.ts';
// The escalation schemas live in the routes file for now; a type-only import bundles nothing of it.
import type { escalationStateSchema, notificationSchema } from '../../src/oncall/escalation/escalation.schemas.ts';
import type { policyCreateSchema, policyOutSchema } from '../../src/oncall/policies/policy.schemas.ts';
import type {
  entrySchema, feedSchema, layerInSchema, layerSchema, memberSchema, oncallSchema, overrideCreateSchema, overrideSchema, renderSchema, restrictionSchema,
  scheduleCreateSchema, scheduleSchema, swapCreateSchema, swapSchema,
} from '../../src/oncall/schedules/schedules.schemas.ts';
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
export type ServiceOnCallPatch = Partial<Pick<Service, 'escalation_policy' | 'ack_timeout_seconds' | 'renotify_on_new_alerts'>>;

export type EscalationState = z.infer<typeof escalationStateSchema>;
export type NotificationRecord = z.infer<typeof notificationSchema>;
export type NotificationStatus = NotificationRecord['status'];

export type EscalationPolicy = z.infer<typeof policyOutSchema>;
export type PolicyInput = z.input<typeof policyCreateSchema>;
export type PolicyTargetInput = PolicyInput['levels'][number]['targets'][number];

export type ContactMethod = z.infer<typeof contactMethodOutSchema>;
export type ContactMethodInput = z.input<typeof contactMethodCreateSchema>;
export type ContactMethodType = ContactMethod['type'];
export type NotificationRule = z.infer<typeof notificationRuleOutSchema>;

export type Member = z.infer<typeof memberSchema>;
export type Schedule = z.infer<typeof scheduleSchema>;
export type Layer = z.infer<typeof layerSchema>;
export type LayerInput = z.input<typeof layerInSchema>;
export type Restriction = z.infer<typeof restrictionSchema>;
export type Weekday = NonNullable<Restriction['days']>[number];
export type ScheduleInput = z.input<typeof scheduleCreateSchema>;
export type RenderedSchedule = z.infer<typeof renderSchema>;
export type ScheduleEntry = z.infer<typeof entrySchema>;
export type OnCallOverview = z.infer<typeof oncallSchema>;
export type Override = z.infer<typeof overrideSchema>;
export type OverrideInput = z.input<typeof overrideCreateSchema>;
export type Swap = z.infer<typeof swapSchema>;
export type SwapInput = z.input<typeof swapCreateSchema>;
export type CalendarFeed = z.infer<typeof feedSchema>;

export interface IncidentFilters {
  status: string;
  service: string;
  urgency: string;
}
