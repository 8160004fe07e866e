import { fromJson, toJson } from '../db/codec.ts';
import type { Db, Tx } from '../db/database.ts';
import type { ApplyKind } from '../config-as-code/apply-kind.ts';
import type { ApplyReport } from '../config-as-code/config-document.ts';
import { badRequest, conflict } from '../errors.ts';
import { newId, newIntegrationKey } from '../ids.ts';
import type { SecretBox } from '../security/secret-box.ts';
import type { ChannelDocument } from './chat.document.ts';
import { hookKeyHash } from './chat.service.ts';

type Outbound = NonNullable<ChannelDocument['outbound']>;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** `channels:` of `firewatch apply -f`: team channels with topic, followed services, incoming hooks, Slack mirror and outbound webhooks. */
export function createChannelsKind(deps: { db: Db; secrets: SecretBox; onChange: () => void }): ApplyKind<'channels'> {
  const { db, secrets } = deps;
  return {
    key: 'channels',
    async apply(tx: Tx, items: ChannelDocument[] | undefined, report: ApplyReport, now: string) {
      if (!items || items.length === 0) return;
      const serviceNames = new Set((await tx.selectFrom('services').select('name').execute()).map((s) => s.name));
      for (const doc of items) {
        for (const s of doc.services ?? []) {
          if (!serviceNames.has(s)) throw badRequest('unknown_service', `channel ${doc.name} follows service ${s}, which does not exist`);
        }
        const hookNames = new Set<string>();
        for (const h of doc.hooks) {
          if (hookNames.has(h.name)) throw badRequest('duplicate_hook', `channel ${doc.name} has two hooks named ${h.name}`);
          hookNames.add(h.name);
        }
        const label = `channel/${doc.name}`;
        let row = await tx.selectFrom('chat_channels').selectAll().where('name', '=', doc.name).executeTakeFirst();
        let changed = false;
        const services = toJson((doc.services ?? []).toSorted());
        const outbound: Outbound = doc.outbound ?? [];
        if (!row) {
          row = {
            id: newId(), name: doc.name, kind: 'team', topic: doc.topic ?? '', incident_id: null, incident_number: null, services,
            slack_channel: doc.slack_channel ?? null, outbound_encrypted: outbound.length > 0 ? secrets.encrypt(toJson(outbound)) : null,
            last_seq: 0, created_at: now, updated_at: now,
          };
          await tx.insertInto('chat_channels').values(row).execute();
          report.created.push(label);
        } else {
          if (row.kind === 'incident') throw badRequest('reserved_channel_name', `${doc.name} is an incident channel`);
          const current: Outbound = row.outbound_encrypted ? fromJson<Outbound>(secrets.decrypt(row.outbound_encrypted), []) : [];
          const patch: Record<string, unknown> = {};
          if ((doc.topic ?? '') !== row.topic) patch.topic = doc.topic ?? '';
          if (services !== row.services) patch.services = services;
          if ((doc.slack_channel ?? null) !== row.slack_channel) patch.slack_channel = doc.slack_channel ?? null;
          if (!sameJson(current, outbound)) patch.outbound_encrypted = outbound.length > 0 ? secrets.encrypt(toJson(outbound)) : null;
          if (Object.keys(patch).length > 0) {
            await tx.updateTable('chat_channels').set({ ...patch, updated_at: now }).where('id', '=', row.id).execute();
            changed = true;
          }
        }
        // Hooks: listed ones kept (a new key given replaces the old), missing keys generated, unlisted ones removed.
        const existing = await tx.selectFrom('chat_hooks').selectAll().where('channel_id', '=', row.id).execute();
        const byName = new Map(existing.map((h) => [h.name, h]));
        for (const h of existing) {
          if (!hookNames.has(h.name)) {
            await tx.deleteFrom('chat_hooks').where('id', '=', h.id).execute();
            changed = true;
          }
        }
        for (const h of doc.hooks) {
          const old = byName.get(h.name);
          if (old && (!h.key || hookKeyHash(h.key) === old.key_hash)) continue;
          const key = h.key ?? newIntegrationKey();
          const clash = await tx.selectFrom('chat_hooks').select('id').where('key_hash', '=', hookKeyHash(key)).executeTakeFirst();
          if (clash && clash.id !== old?.id) throw conflict('hook_key_in_use', `the key of hook ${h.name} on ${doc.name} is used by another hook`);
          if (old) {
            await tx.updateTable('chat_hooks').set({ key_hash: hookKeyHash(key), key_encrypted: secrets.encrypt(key) }).where('id', '=', old.id).execute();
          } else {
            await tx.insertInto('chat_hooks').values({ id: newId(), channel_id: row.id, name: h.name, key_hash: hookKeyHash(key), key_encrypted: secrets.encrypt(key), created_at: now }).execute();
          }
          changed = true;
        }
        if (!report.created.includes(label)) (changed ? report.updated : report.unchanged).push(label);
      }
      deps.onChange();
    },
    async export() {
      const channels = await db.selectFrom('chat_channels').selectAll().where('kind', '=', 'team').orderBy('name').execute();
      const hooks = await db.selectFrom('chat_hooks').selectAll().orderBy('name').execute();
      return channels.map((c): ChannelDocument => {
        const out: ChannelDocument = { name: c.name, hooks: hooks.filter((h) => h.channel_id === c.id).map((h) => ({ name: h.name, key: secrets.decrypt(h.key_encrypted) })) };
        if (c.topic) out.topic = c.topic;
        const services = fromJson<string[]>(c.services, []);
        if (services.length > 0) out.services = services;
        if (c.slack_channel) out.slack_channel = c.slack_channel;
        if (c.outbound_encrypted) out.outbound = fromJson<Outbound>(secrets.decrypt(c.outbound_encrypted), []);
        return out;
      });
    },
  };
}
