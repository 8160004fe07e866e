import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { FeatureLog } from '../features/module.ts';

/**
 * How long a stored file may wait for a message to show it. Uploads (`POST /api/v1/files`) are attached by
 * the next post, and `/graph` without a channel hands back a link to its PNG, so a few hours is plenty;
 * after that a file no message references is deleted.
 */
export const UNATTACHED_FILE_TTL_MS = 6 * 3_600_000;
/** How often each server sweeps (every process sweeps; deleting the same row twice is harmless). */
export const FILE_SWEEP_EVERY_MS = 30 * 60_000;
const PAGE = 500;
/** A file shown as an image in a block or attachment (`…/api/v1/files/{id}`), not only in `files`. */
const FILE_URL = /\/api\/v1\/files\/([\w-]{1,100})/g;

/**
 * The ids of every file some message shows: its `files` column (JSON descriptors, the usual way: posts,
 * command replies, graph and dashboard snapshots) and file URLs inside its blocks or attachments.
 * Deleted messages hold none (deleting one deletes its files unless another message shows them).
 */
async function referencedFileIds(db: Db): Promise<Set<string>> {
  const ids = new Set<string>();
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('chat_messages').select(['id', 'files', 'blocks', 'attachments'])
      .where('id', '>', after)
      .where((eb) => eb.or([eb('files', '<>', '[]'), eb('blocks', 'like', '%/api/v1/files/%'), eb('attachments', 'like', '%/api/v1/files/%')]))
      .orderBy('id').limit(PAGE).execute();
    for (const row of rows) {
      try {
        const files = JSON.parse(row.files) as unknown;
        if (Array.isArray(files)) for (const f of files) if (f && typeof (f as { id?: unknown }).id === 'string') ids.add((f as { id: string }).id);
      } catch {
        // A row that is not JSON shows no file; the guarded delete below still re-checks it.
      }
      for (const text of [row.blocks, row.attachments]) for (const m of text.matchAll(FILE_URL)) ids.add(m[1]);
    }
    if (rows.length < PAGE) return ids;
    after = rows.at(-1)!.id;
  }
}

/**
 * Deletes the `chat_files` rows older than `maxAgeMs` (by their `created_at`, from the injected clock)
 * that no message references: uploads never attached, `/graph` images made without a channel, snapshots
 * whose post failed. Returns how many were deleted.
 *
 * Each delete re-checks, in the same statement, that no message's `files` names the file, which narrows
 * the race with a post attaching an old upload at that moment to the statement itself; a post still in
 * its transaction then can lose the file (its message keeps the name, the file answers 404). That needs
 * an upload older than the TTL, attached during a sweep.
 */
export async function sweepUnattachedFiles(db: Db, now: Date, maxAgeMs = UNATTACHED_FILE_TTL_MS): Promise<number> {
  const cutoff = new Date(now.getTime() - maxAgeMs).toISOString();
  // Candidates first: a message posted after this read names a file the reference scan below then sees.
  const candidates: string[] = [];
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('chat_files').select('id').where('created_at', '<', cutoff).where('id', '>', after).orderBy('id').limit(PAGE).execute();
    candidates.push(...rows.map((r) => r.id));
    if (rows.length < PAGE) break;
    after = rows.at(-1)!.id;
  }
  if (candidates.length === 0) return 0;
  const referenced = await referencedFileIds(db);
  const orphans = candidates.filter((id) => !referenced.has(id));
  let deleted = 0;
  for (let i = 0; i < orphans.length; i += PAGE) {
    const result = await db.deleteFrom('chat_files')
      .where('id', 'in', orphans.slice(i, i + PAGE))
      .where('created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) => not(exists(
        selectFrom('chat_messages').select(sql<number>`1`.as('one'))
          .where('chat_messages.files', 'like', sql<string>`${'%"id":"'} || chat_files.id || ${'"%'}`),
      )))
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/**
 * Runs the sweep every FILE_SWEEP_EVERY_MS (first one a minute after start) until stopped; failures are
 * logged and the next run tries again. Timers are unref'd so they never hold the process open.
 */
export function startFileSweeper(deps: { db: Db; now: () => Date; log: FeatureLog; everyMs?: number }): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = () => {
    sweepUnattachedFiles(deps.db, deps.now())
      .then((deleted) => {
        if (deleted > 0) deps.log.info({ deleted }, 'deleted chat files no message shows');
      })
      .catch((error: unknown) => deps.log.error({ err: error }, 'chat file sweep failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, deps.everyMs ?? FILE_SWEEP_EVERY_MS).unref();
      });
  };
  timer = setTimeout(run, 60_000).unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
