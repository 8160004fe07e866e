import { z } from 'zod';
import { UNATTACHED_FILE_TTL_MS } from '../chat/chat.files-gc.ts';
import type { ChatService } from '../chat/chat.types.ts';
import { AppError, badRequest, notFound } from '../errors.ts';
import type { FeatureContext } from '../features/module.ts';
import { renderChartPng } from '../graphs/render.ts';
import type { DataSources, Series } from '../telemetry/metrics/datasource.types.ts';
import type { CommandDefinition } from './command.types.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const RANGE = /^(\d{1,5})(s|m|h|d|w)$/;
export const MAX_RANGE_SECONDS = 90 * 86_400;
const ALERTS_QUERY = 'alerts';
/** Alert activity is counted in about this many buckets over the range. */
const ALERT_BUCKETS = 120;
const MAX_ALERT_ROWS = 50_000;

/** `1h` → 3600; null when the word is not a range. */
export function parseRange(word: string): number | null {
  const m = RANGE.exec(word.toLowerCase());
  if (!m) return null;
  return Number(m[1]) * UNITS[m[2]];
}

const NICE_STEPS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/**
 * The incident's or service's own alert activity: alerts firing (open at each step) and new alerts
 * (first seen in the step), from the alerts table, so /graph works with no data source at all.
 */
export async function alertActivity(ctx: FeatureContext, scope: { incidentId?: string; serviceId?: string }, from: number, to: number): Promise<{ series: Series[]; step: number }> {
  const step = NICE_STEPS.find((s) => (to - from) / s <= ALERT_BUCKETS) ?? 86_400;
  const fromIso = new Date(from * 1000).toISOString();
  const toIso = new Date(to * 1000).toISOString();
  let q = ctx.db.selectFrom('alerts').select(['first_seen_at', 'resolved_at'])
    .where('first_seen_at', '<=', toIso)
    .where((eb) => eb.or([eb('resolved_at', 'is', null), eb('resolved_at', '>=', fromIso)]));
  if (scope.incidentId) q = q.where('incident_id', '=', scope.incidentId);
  if (scope.serviceId) q = q.where('service_id', '=', scope.serviceId);
  const rows = await q.limit(MAX_ALERT_ROWS).execute();
  const start = Math.floor(from / step) * step;
  const firing: [number, number][] = [];
  const fresh: [number, number][] = [];
  const spans = rows.map((r) => ({ first: Date.parse(r.first_seen_at) / 1000, resolved: r.resolved_at ? Date.parse(r.resolved_at) / 1000 : Infinity }));
  for (let t = start; t <= to; t += step) {
    const bucketEnd = t + step;
    let open = 0;
    let created = 0;
    for (const s of spans) {
      if (s.first < bucketEnd && s.resolved > t) open++;
      if (s.first >= t && s.first < bucketEnd) created++;
    }
    firing.push([t, open]);
    fresh.push([t, created]);
  }
  return {
    step,
    series: [
      { labels: { __name__: 'alerts_firing' }, points: firing },
      { labels: { __name__: 'alerts_new', step: `${step}s` }, points: fresh },
    ],
  };
}

const graphArgs = z.object({
  query: z.string().trim().min(1, 'give a query, e.g. `/graph alerts 6h` or `/graph rate(http_requests_total[5m]) 1h`').max(4000),
  range: z.number().int().min(60, 'the range is at least 1m').max(MAX_RANGE_SECONDS, 'the range is at most 90d'),
  datasource: z.string().max(200).nullable(),
  unit: z.string().max(40).nullable(),
  step: z.number().int().min(1).max(86_400).nullable(),
  service: z.string().max(200).nullable(),
  incident: z.number().int().positive().max(2 ** 31).nullable(),
  title: z.string().max(200).nullable(),
});

const flag = (flags: Record<string, string | true>, name: string) => (typeof flags[name] === 'string' ? (flags[name] as string) : null);

/** `/graph <query> [range]`: renders the query's range to a PNG, stores it, and posts it with a link to the live view. */
export function graphCommand(ctx: FeatureContext, deps: { chat: ChatService; datasources: DataSources }): CommandDefinition<typeof graphArgs> {
  const { publicUrl } = ctx.config;
  return {
    name: 'graph', aliases: ['chart'],
    summary: 'Snapshot a time series as an image in the channel, linked to its live view. `alerts` graphs the incident\'s own alert activity.',
    usage: '/graph <query|alerts> [range] [--datasource NAME] [--unit U] [--step 60s] [--service S] [--incident N]',
    examples: ['/graph alerts 6h', '/graph rate(http_requests_total[5m]) 1h', '/graph "sum by (instance) (rate(node_cpu_seconds_total{mode!=\\"idle\\"}[5m]))" 3h --unit cores', '/graph up 30m --datasource staging'],
    effect: 'read', role: 'viewer',
    parse: (a) => {
      const words = [...a.positional];
      let range = 3600;
      const last = words.at(-1);
      if (words.length > 1 && last && parseRange(last) !== null) {
        range = parseRange(last)!;
        words.pop();
      }
      const rangeFlag = flag(a.flags, 'range');
      if (rangeFlag !== null) {
        const r = parseRange(rangeFlag);
        if (r === null) throw badRequest('invalid_arguments', `--range takes a duration like 30m, 6h or 7d, got "${rangeFlag}"`);
        range = r;
      }
      const stepFlag = flag(a.flags, 'step');
      const step = stepFlag === null ? null : parseRange(stepFlag);
      if (stepFlag !== null && step === null) throw badRequest('invalid_arguments', `--step takes a duration like 30s or 5m, got "${stepFlag}"`);
      const incidentFlag = flag(a.flags, 'incident');
      return {
        query: words.join(' '), range, step,
        datasource: flag(a.flags, 'datasource'), unit: flag(a.flags, 'unit'), service: flag(a.flags, 'service'), title: flag(a.flags, 'title'),
        incident: incidentFlag === null ? null : Number(incidentFlag.replace(/^#/, '')),
      };
    },
    args: graphArgs,
    async run(input, c) {
      const to = Math.floor(c.now.getTime() / 1000);
      const from = to - input.range;
      const rangeText = formatRange(input.range);
      let series: Series[];
      let title: string;
      let link: string;
      let unit = input.unit ?? undefined;
      let source: string | null = null;
      if (input.query.toLowerCase() === ALERTS_QUERY) {
        const number = input.incident ?? (input.service ? null : c.incidentNumber);
        if (number !== null) {
          const incident = await ctx.incidentsRepo.findIncidentByNumber(number);
          if (!incident) throw notFound('incident', `incident ${number} not found`);
          ({ series } = await alertActivity(ctx, { incidentId: incident.id }, from, to));
          title = `Alerts of #${number} ${incident.title}`;
          link = `${publicUrl}/incidents/${number}`;
        } else if (input.service) {
          const service = await ctx.servicesRepo.findByName(input.service);
          if (!service) throw notFound('service', `no service ${input.service}`);
          ({ series } = await alertActivity(ctx, { serviceId: service.id }, from, to));
          title = `Alerts of ${service.name}`;
          link = `${publicUrl}/services/${encodeURIComponent(service.name)}/dashboard`;
        } else {
          throw badRequest('invalid_arguments', '`/graph alerts` graphs an incident\'s alerts: use it in an incident channel, or add --incident N or --service NAME');
        }
        unit ??= 'alerts';
      } else {
        let result;
        try {
          const ds = await deps.datasources.metrics(input.datasource);
          source = ds.name;
          result = await ds.queryRange(input.query, { start: from, end: to, ...(input.step ? { step: input.step } : {}) });
        } catch (error) {
          if (error instanceof AppError) throw error;
          throw new AppError('datasource_error', 502, `the data source${source ? ` ${source}` : ''} failed: ${(error as Error).message}`);
        }
        series = result.series;
        title = input.query;
        link = `${publicUrl}/explore?${new URLSearchParams({ datasource: source!, query: input.query, from: String(from), to: String(to) })}`;
      }
      if (input.title) title = input.title;
      let png: Buffer;
      try {
        png = await renderChartPng({ title: `${title}${source ? ` (${source})` : ''}`, series, from, to, unit });
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw new AppError('render_failed', 500, `the chart could not be drawn: ${(error as Error).message}`);
      }
      const file = await deps.chat.storeFile({
        name: `graph-${new Date(to * 1000).toISOString().replace(/[:.]/g, '-')}.png`, contentType: 'image/png', data: png, link,
        alt: `${title}, last ${rangeText}${source ? `, from ${source}` : ''}`, uploadedBy: c.principal.userId,
      });
      const points = series.reduce((n, s) => n + s.points.length, 0);
      const empty = series.length === 0 ? ' (no data in this range)' : '';
      const url = `${publicUrl}/api/v1/files/${file.id}`;
      // Outside a channel no message shows the image, so the file sweep deletes it after its TTL: say so.
      const expires = c.channel === null ? new Date(c.now.getTime() + UNATTACHED_FILE_TTL_MS).toISOString() : null;
      return {
        text: `📈 \`${truncate(input.query, 200)}\`, last ${rangeText}${source ? ` from ${source}` : ''}${empty}: [open the live view](${link})` +
          (expires ? `\nImage: ${url} (kept for ${UNATTACHED_FILE_TTL_MS / 3_600_000} hours, until ${expires}, as it is in no channel; run it with a channel to keep it there)` : ''),
        visibility: 'channel',
        files: [file],
        data: { file, url, expires_at: expires, link, from, to, datasource: source, series: series.length, points },
      };
    },
  };
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function formatRange(seconds: number): string {
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
