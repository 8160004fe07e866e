import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestDatabase, DIALECTS } from '../../test/helpers.ts';
import { isReady, migrateDown, migrateToLatest, openDatabase } from './database.ts';
import { migrationNames } from './migrations.ts';

for (const dialect of DIALECTS) {
  describe(`migrations (${dialect})`, () => {
    test('step up, down to nothing, and up again; readiness follows', async () => {
      const database = await createTestDatabase(dialect);
      const handle = openDatabase(database.url);
      try {
        assert.equal(await isReady(handle.db), false);
        assert.deepEqual(await migrateToLatest(handle.db), migrationNames);
        assert.equal(await isReady(handle.db), true);
        assert.deepEqual(await migrateToLatest(handle.db), [], 'a second run applies nothing');
        for (let i = 0; i < migrationNames.length; i++) await migrateDown(handle.db);
        assert.equal(await isReady(handle.db), false);
        assert.deepEqual(await migrateToLatest(handle.db), migrationNames);
        assert.equal(await isReady(handle.db), true);
      } finally {
        await handle.close();
        await database.destroy();
      }
    });
  });
}
