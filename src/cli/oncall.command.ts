import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { oncallSchema, renderSchema } from '../oncall/schedules/schedules.schemas.ts';
import { ApiClient, CliError } from './client.ts';

type OnCall = z.infer<typeof oncallSchema>;
type Rendered = z.infer<typeof renderSchema>;

const table = (rows: string[][]): string => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
};

/** "2026-11-30 09:00 GMT+1": an instant on the schedule's wall clock, with the offset. */
export function formatInZone(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

const names = (members: { name: string; email: string }[]) => members.map((m) => m.name || m.email).join(', ');

/** `firewatch oncall [--schedule S] [--at TIME]`: who is on call on each schedule, and until when. */
export async function runOncallCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { schedule: { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } } });
  const q = new URLSearchParams();
  if (values.schedule) q.set('schedule', values.schedule);
  if (values.at) q.set('at', values.at);
  const res = await ApiClient.fromEnv().request<OnCall>('GET', `/api/v1/oncall${q.size ? `?${q}` : ''}`);
  if (values.json) {
    console.log(JSON.stringify(res, null, 2));
    return 0;
  }
  if (res.schedules.length === 0) {
    console.log('no schedules');
    return 0;
  }
  const rows = [['SCHEDULE', 'ON CALL', 'UNTIL', 'PROBLEMS'], ...res.schedules.map((s) => [
    s.schedule.name,
    s.members.length ? names(s.members) : '(nobody)',
    s.until ? formatInZone(s.until, s.schedule.time_zone) : '-',
    s.problems.length ? `${s.problems.length}: ${s.problems[0]}` : '',
  ])];
  console.log(table(rows));
  return 0;
}

/** `firewatch schedule render S [--from T] [--to T]`: the final schedule as a table, gaps marked. */
export async function runScheduleCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } });
  const name = positionals[0];
  if (sub !== 'render' || !name) throw new CliError('usage: firewatch schedule render SCHEDULE [--from TIME] [--to TIME] [--json]');
  const q = new URLSearchParams();
  if (values.from) q.set('from', values.from);
  if (values.to) q.set('to', values.to);
  const res = await ApiClient.fromEnv().request<Rendered>('GET', `/api/v1/schedules/${encodeURIComponent(name)}/render${q.size ? `?${q}` : ''}`);
  if (values.json) {
    console.log(JSON.stringify(res, null, 2));
    return 0;
  }
  const zone = res.schedule.time_zone;
  const rows = [['START', 'END', 'ON CALL', 'FROM'], ...res.final.map((e) => [
    formatInZone(e.start, zone),
    formatInZone(e.end, zone),
    e.members.length ? names(e.members) : '** GAP: nobody **',
    e.source.type === 'layer' ? `layer ${e.source.layer}` : e.source.type === 'override' ? 'override' : '',
  ])];
  console.log(`${res.schedule.name} (${zone}), ${formatInZone(res.from, zone)} to ${formatInZone(res.to, zone)}`);
  console.log(table(rows));
  if (res.gaps.length) console.log(`${res.gaps.length} gap(s) with nobody on call`);
  return 0;
}
