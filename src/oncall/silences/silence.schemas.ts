import { z } from 'zod';
import { isMatcherField, isTimeZone, isWallClock, MATCHER_FIELDS, MATCHER_OPS, MAX_PATTERN_LENGTH, patternProblem, valueMatches, WEEKDAYS } from './silence.ts';

/** Silences: request, response and declarative-file shapes (zod only; the web UI derives its types here). */

export const silenceNameSchema = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._ -]*$/, 'letters, digits, dot, dash, underscore and space; starting with a letter or digit');

export const matcherSchema = z.strictObject({
  field: z.string().refine(isMatcherField, `one of ${MATCHER_FIELDS.join(', ')}, or details.<path>`),
  op: z.enum(MATCHER_OPS),
  value: z.string().max(1024),
}).superRefine((m, ctx) => {
  if (m.op !== '=~' && m.op !== '!~') return;
  const problem = m.value.length > MAX_PATTERN_LENGTH ? `a pattern may be at most ${MAX_PATTERN_LENGTH} characters` : patternProblem(m.value);
  if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
});

/** Whether a matcher fails to match the empty value, i.e. narrows what it matches. */
const excludesEmpty = (m: z.infer<typeof matcherSchema>) => {
  try {
    return !valueMatches(m.op, m.value, '');
  } catch {
    return true; // an invalid pattern is reported on the matcher itself
  }
};

export const matchersSchema = z.array(matcherSchema).min(1).max(50).superRefine((matchers, ctx) => {
  // As in Alertmanager: a silence whose every matcher also matches an empty value would silence everything.
  if (!matchers.some(excludesEmpty)) ctx.addIssue({ code: 'custom', message: 'at least one matcher must not match an empty value (this silence would match every alert)' });
});

const wallClock = z.string().refine((t) => isWallClock(t), 'HH:MM, 00:00–23:59');

export const recurrenceSchema = z.strictObject({
  time_zone: z.string().min(1).max(100).refine(isTimeZone, 'not a known IANA time zone (e.g. Europe/Berlin)'),
  windows: z.array(z.strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1).max(7).refine((d) => new Set(d).size === d.length, 'days repeat').optional(),
    from: wallClock,
    to: z.string().refine((t) => isWallClock(t, true), 'HH:MM, 00:00–24:00'),
  }).refine((w) => w.from !== w.to, { message: 'from and to are equal; use to: "24:00" with from: "00:00" for a whole day', path: ['to'] })).min(1).max(50),
});

/** ISO-8601 with an offset, normalised to UTC with milliseconds (YAML may hand over a Date). */
export const instantSchema = z.preprocess(
  (v) => (v instanceof Date ? v.toISOString() : v),
  z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString()),
);

const commentSchema = z.string().max(2000);

export const silenceCreateSchema = z.strictObject({
  name: silenceNameSchema.nullable().optional(),
  matchers: matchersSchema,
  /** Defaults to now. */
  starts_at: instantSchema.optional(),
  /** Null or absent only with a recurrence: a one-off silence must end. */
  ends_at: instantSchema.nullable().optional(),
  recurrence: recurrenceSchema.nullable().optional(),
  comment: commentSchema.default(''),
});

export const silencePatchSchema = z.strictObject({
  name: silenceNameSchema.nullable().optional(),
  matchers: matchersSchema.optional(),
  starts_at: instantSchema.optional(),
  ends_at: instantSchema.nullable().optional(),
  recurrence: recurrenceSchema.nullable().optional(),
  comment: commentSchema.optional(),
});

/** The `silences:` kind of the declarative file: named, so applying twice changes nothing. */
export const silenceDocumentSchema = z.strictObject({
  name: silenceNameSchema,
  matchers: matchersSchema,
  starts_at: instantSchema,
  ends_at: instantSchema.nullable().optional(),
  recurrence: recurrenceSchema.nullable().optional(),
  comment: commentSchema.default(''),
}).superRefine((s, ctx) => {
  if (!s.ends_at && !s.recurrence) ctx.addIssue({ code: 'custom', path: ['ends_at'], message: 'a silence without a recurrence needs ends_at' });
  if (s.ends_at && s.ends_at <= s.starts_at) ctx.addIssue({ code: 'custom', path: ['ends_at'], message: 'ends_at must be after starts_at' });
});
export type SilenceDocument = z.infer<typeof silenceDocumentSchema>;

export const SILENCE_STATES = ['active', 'pending', 'expired'] as const;

export const silenceOutSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  matchers: z.array(z.object({ field: z.string(), op: z.enum(MATCHER_OPS), value: z.string() })),
  starts_at: z.string(),
  ends_at: z.string().nullable(),
  recurrence: z.object({
    time_zone: z.string(),
    windows: z.array(z.object({ days: z.array(z.enum(WEEKDAYS)).optional(), from: z.string(), to: z.string() })),
  }).nullable(),
  comment: z.string(),
  /** `active`: silencing now; `pending`: will (again) later; `expired`: over. */
  status: z.enum(SILENCE_STATES),
  /** While active, when it stops; otherwise when it next starts. Null when neither applies. */
  next_change_at: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
