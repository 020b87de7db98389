import { createTestDatabase } from '../../../../test/support/test-database';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { PostgresEventStore } from './postgres-event-store';

describeEventStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase(20);
  const store = new PostgresEventStore(database.pool);
  await store.migrate();
  return { store, streamPrefix: '', close: () => database.drop() };
});

describe('PostgresEventStore snapshot rule', () => {
  it('holds readers back behind a slow transaction instead of skipping its event', async () => {
    const database = await createTestDatabase(5);
    try {
      const store = new PostgresEventStore(database.pool);
      await store.migrate();
      const slow = await database.pool.connect();
      await slow.query('BEGIN');
      // Takes the lower global position, then commits last: a reader ordering by position alone would skip it.
      await slow.query(
        `INSERT INTO events (stream_id, stream_revision, event_id, type, data) VALUES ('Slow-1', 0, gen_random_uuid(), 'Slow', '{}')`,
      );
      await store.append('Fast-1', [{ id: crypto.randomUUID(), type: 'Fast', data: {} }]);
      expect(await store.readAll()).toEqual([]);
      await slow.query('COMMIT');
      slow.release();
      expect((await store.readAll()).map((e) => e.type)).toEqual(['Slow', 'Fast']);
    } finally {
      await database.drop();
    }
  });
});
