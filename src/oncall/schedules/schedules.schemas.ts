import { z } from 'zod';
import { isKnownTimeZone } from '../schedule/zone.ts';

/**
 * Schedules over the API and in `firewatch apply` files: members are user emails on the way in and
 * {id, email, name} on the way out. zod only; the web UI and the CLI derive their types here.
 */
export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

/** Longest window the render endpoint answers for: a calendar quarter and a bit. */
export const MAX_RENDER_DAYS = 93;
/** Longest override or shift swap. */
export const MAX_OVERRIDE_DAYS = 90;

export const scheduleNameSchema = z.string().trim().min(1).max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/, 'letters, digits, dot, dash, underscore and space; starting with a letter or digit');
export const timeZoneSchema = z.string().min(1).max(64).refine(isKnownTimeZone, 'not a known IANA time zone (like Europe/Berlin or UTC)');
const emailIn = z.email().max(320).transform((e) => e.toLowerCase());

/**
 * An instant with Z or an offset, stored as UTC ISO text with milliseconds (it sorts as text).
 * YAML 1.1 readers turn unquoted timestamps into dates; those are taken as they are.
 */
export const instantSchema = z.preprocess(
  (value) => (value instanceof Date ? value.toISOString() : value),
  z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString()),
);

/** A layer's start or end: local 'YYYY-MM-DDTHH:MM[:SS]' in the schedule's zone, or an instant; the schedule algebra checks it. */
const layerTimeSchema = z.preprocess((value) => (value instanceof Date ? value.toISOString() : value), z.string().trim().min(1).max(40));

export const restrictionSchema = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
  from: z.string().regex(/^\d{2}:\d{2}$/, 'HH:MM'),
  to: z.string().regex(/^\d{2}:\d{2}$/, 'HH:MM'),
});

export const layerInSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  start: layerTimeSchema,
  end: layerTimeSchema.nullable().optional(),
  /** RRULE body for the hand-offs, like FREQ=WEEKLY or FREQ=DAILY;INTERVAL=2. */
  rotation: z.string().trim().min(1).max(500),
  members: z.array(emailIn).max(200),
  members_per_turn: z.union([z.number().int().min(1).max(200), z.literal('all')]).optional(),
  restrictions: z.array(restrictionSchema).max(50).optional(),
});
export type LayerIn = z.infer<typeof layerInSchema>;

export const scheduleCreateSchema = z.strictObject({
  name: scheduleNameSchema,
  description: z.string().max(2000).optional(),
  time_zone: timeZoneSchema,
  layers: z.array(layerInSchema).max(20).default([]),
});

export const schedulePatchSchema = z.strictObject({
  name: scheduleNameSchema.optional(),
  description: z.string().max(2000).optional(),
  time_zone: timeZoneSchema.optional(),
  layers: z.array(layerInSchema).max(20).optional(),
});

export const overrideCreateSchema = z.strictObject({
  user: emailIn,
  /** Only this person is replaced (if on call); absent or null = whoever is on call. */
  replaces: emailIn.nullable().optional(),
  start: instantSchema,
  end: instantSchema,
  reason: z.string().trim().max(500).optional(),
});

export const swapCreateSchema = z.strictObject({
  start: instantSchema,
  end: instantSchema,
  note: z.string().trim().max(500).optional(),
});

/** The `schedules` kind of `firewatch apply -f`; overrides are identified by name within their schedule. */
export const scheduleDocumentSchema = z.strictObject({
  name: scheduleNameSchema,
  description: z.string().max(2000).optional(),
  time_zone: timeZoneSchema,
  layers: z.array(layerInSchema).max(20).default([]),
  overrides: z.array(z.strictObject({
    name: z.string().trim().min(1).max(100),
    user: emailIn,
    replaces: emailIn.nullable().optional(),
    start: instantSchema,
    end: instantSchema,
    reason: z.string().trim().max(500).optional(),
  }).refine((o) => o.end > o.start, { message: 'end must be after start', path: ['end'] })).default([]),
}).superRefine((s, ctx) => {
  const seen = new Set<string>();
  s.overrides.forEach((o, i) => {
    if (seen.has(o.name)) ctx.addIssue({ code: 'custom', path: ['overrides', i, 'name'], message: `duplicate override ${o.name}` });
    seen.add(o.name);
  });
});
export type ScheduleDocument = z.infer<typeof scheduleDocumentSchema>;

// Responses

export const memberSchema = z.object({ id: z.string(), email: z.string(), name: z.string() });

export const layerSchema = z.object({
  name: z.string(),
  start: z.string(),
  end: z.string().nullable(),
  rotation: z.string(),
  members: z.array(memberSchema),
  members_per_turn: z.union([z.number(), z.literal('all')]),
  restrictions: z.array(restrictionSchema),
});

export const scheduleSchema = z.object({
  id: z.string(), name: z.string(), description: z.string(), time_zone: z.string(), layers: z.array(layerSchema),
  created_at: z.string(), updated_at: z.string(),
});

/** Where an entry of the final schedule comes from: a layer (by name), an override (by id), or nowhere (a gap). */
export const entrySourceSchema = z.object({ type: z.enum(['layer', 'override', 'gap']), layer: z.string().optional(), id: z.string().optional() });

export const entrySchema = z.object({ start: z.string(), end: z.string(), members: z.array(memberSchema), source: entrySourceSchema });
export const gapSchema = z.object({ start: z.string(), end: z.string() });
export const scheduleRefSchema = z.object({ id: z.string(), name: z.string(), time_zone: z.string() });

export const renderSchema = z.object({
  schedule: scheduleRefSchema,
  from: z.string(),
  to: z.string(),
  final: z.array(entrySchema),
  layers: z.array(z.object({ name: z.string(), entries: z.array(entrySchema) })),
  overrides: z.array(entrySchema),
  gaps: z.array(gapSchema),
});

export const overrideSchema = z.object({
  id: z.string(), name: z.string().nullable(), user: memberSchema, replaces: memberSchema.nullable(),
  start: z.string(), end: z.string(), reason: z.string(), created_by: z.string(), created_at: z.string(),
});

export const swapSchema = z.object({
  id: z.string(), requester: memberSchema, taker: memberSchema.nullable(), override_id: z.string().nullable(),
  start: z.string(), end: z.string(), status: z.enum(['open', 'taken', 'cancelled']), note: z.string(), created_at: z.string(), updated_at: z.string(),
});

export const oncallSchema = z.object({
  at: z.string(),
  schedules: z.array(z.object({
    schedule: scheduleRefSchema,
    members: z.array(memberSchema),
    /** When this holds until; null when nothing changes in the next 90 days. */
    until: z.string().nullable(),
    source: entrySourceSchema,
    /** Stretches with nobody on call in the next 7 days. */
    gaps: z.array(gapSchema),
    /** What needs attention: nobody on call now, gaps ahead, a schedule that cannot be rendered. */
    problems: z.array(z.string()),
  })),
});

export const feedSchema = z.object({ url: z.string().nullable(), created_at: z.string().nullable() });
