import { fromJson, toJson } from '../db/codec.ts';
import type { Tx } from '../db/database.ts';
import { newId } from '../ids.ts';
import type { LayerSpec } from '../oncall/schedule/schedule.ts';
import { layersOf, type OverrideRow, type ScheduleRepo } from '../oncall/schedules/schedules.repo.ts';
import type { LayerIn, ScheduleDocument } from '../oncall/schedules/schedules.schemas.ts';
import { assertValidLayers, layerMemberRefs, layerSpecOf, resolveEmails } from '../oncall/schedules/schedules.service.ts';
import type { ApplyReport } from './config-document.ts';

/** Who created overrides declared in a file. */
const CONFIG_ACTOR = 'config';

/**
 * Creates or updates the declared schedules and their named overrides inside the apply transaction.
 * Layers are replaced as a whole; overrides made in the UI or API (without a name) are left alone, and
 * like every other kind nothing is deleted. Members must be users already, or be declared in the same file.
 */
export async function applySchedules(tx: Tx, schedules: ScheduleDocument[], report: ApplyReport, now: string, repo: ScheduleRepo): Promise<void> {
  for (const [si, s] of schedules.entries()) {
    const prefix = `schedules.${si}.`;
    const overrideRefs = s.overrides.flatMap((o, oi) => [
      { path: `${prefix}overrides.${oi}.user`, email: o.user },
      ...(o.replaces ? [{ path: `${prefix}overrides.${oi}.replaces`, email: o.replaces }] : []),
    ]);
    const ids = await resolveEmails(repo, [...layerMemberRefs(s.layers, prefix), ...overrideRefs], tx);
    const layers = s.layers.map((l) => layerSpecOf(l, ids));
    assertValidLayers(s.time_zone, layers, `schedule ${s.name}: `);

    const label = `schedule/${s.name}`;
    let schedule = await repo.findByName(s.name, tx);
    if (!schedule) {
      schedule = { id: newId(), name: s.name, description: s.description ?? '', time_zone: s.time_zone, layers: toJson(layers), created_at: now, updated_at: now };
      await repo.insert(schedule, tx);
      report.created.push(label);
    } else {
      const patch = {
        description: s.description ?? schedule.description,
        time_zone: s.time_zone,
        layers: toJson(layers),
      };
      const same = patch.description === schedule.description && patch.time_zone === schedule.time_zone
        && toJson(fromJson<LayerSpec[]>(schedule.layers, [])) === patch.layers;
      if (same) {
        report.unchanged.push(label);
      } else {
        await repo.update(schedule.id, { ...patch, updated_at: now }, tx);
        report.updated.push(label);
      }
    }

    const existing = new Map((await repo.namedOverrides(schedule.id, tx)).map((o) => [o.name!, o]));
    for (const o of s.overrides) {
      const overrideLabel = `${label}/override/${o.name}`;
      const wanted = {
        user_id: ids.get(o.user)!,
        replaces_user_id: o.replaces ? ids.get(o.replaces)! : null,
        starts_at: o.start,
        ends_at: o.end,
      };
      const current = existing.get(o.name);
      if (!current) {
        const row: OverrideRow = { id: newId(), schedule_id: schedule.id, name: o.name, ...wanted, reason: o.reason ?? '', created_by: CONFIG_ACTOR, created_at: now };
        await repo.insertOverride(row, tx);
        report.created.push(overrideLabel);
        continue;
      }
      const reason = o.reason ?? current.reason;
      const same = current.user_id === wanted.user_id && current.replaces_user_id === wanted.replaces_user_id
        && current.starts_at === wanted.starts_at && current.ends_at === wanted.ends_at && current.reason === reason;
      if (same) {
        report.unchanged.push(overrideLabel);
      } else {
        await repo.updateOverride(current.id, { ...wanted, reason }, tx);
        report.updated.push(overrideLabel);
      }
    }
  }
}

/** The schedules and their named overrides as `apply` takes them: emails, not ids. */
export async function exportSchedules(repo: ScheduleRepo): Promise<ScheduleDocument[]> {
  const schedules = await repo.list();
  const result: ScheduleDocument[] = [];
  for (const schedule of schedules) {
    const layers = layersOf(schedule);
    const overrides = await repo.namedOverrides(schedule.id);
    const users = await repo.usersByIds([...layers.flatMap((l) => l.members), ...overrides.flatMap((o) => [o.user_id, o.replaces_user_id ?? o.user_id])]);
    const email = new Map(users.map((u) => [u.id, u.email]));
    result.push({
      name: schedule.name,
      description: schedule.description,
      time_zone: schedule.time_zone,
      layers: layers.map((l): LayerIn => ({
        name: l.name,
        start: l.start,
        ...(l.end ? { end: l.end } : {}),
        rotation: l.rotation,
        // A deleted user cannot be written by email; the layer goes on without them.
        members: l.members.flatMap((id) => (email.has(id) ? [email.get(id)!] : [])),
        ...(l.members_per_turn !== undefined ? { members_per_turn: l.members_per_turn } : {}),
        ...(l.restrictions?.length ? { restrictions: l.restrictions.map((r) => ({ ...(r.days ? { days: r.days } : {}), from: r.from, to: r.to })) } : {}),
      })),
      overrides: overrides.map((o) => ({
        name: o.name!,
        user: email.get(o.user_id)!,
        ...(o.replaces_user_id && email.has(o.replaces_user_id) ? { replaces: email.get(o.replaces_user_id)! } : {}),
        start: o.starts_at,
        end: o.ends_at,
        ...(o.reason ? { reason: o.reason } : {}),
      })),
    });
  }
  return result;
}
