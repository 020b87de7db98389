import { createTestDatabase } from '../../../../test/support/test-database';
import { START_OF_LOG } from '../event-store.port';
import { describeEventStoreContract } from '../testing';
import { PostgresEventStore } from './postgres-event-store';

describeEventStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase(20);
  const store = new PostgresEventStore(database.pool);
  await store.migrate();
  return { store, streamPrefix: '', close: () => database.drop() };
});

describe('PostgresEventStore snapshot rule', () => {
  it('keeps global order when transaction ids cross a power of ten (numeric, not text, order)', async () => {
    const database = await createTestDatabase(5);
    try {
      const store = new PostgresEventStore(database.pool);
      await store.migrate();
      // Two committed events whose transaction ids straddle the largest power of ten below the current id
      // ("99999" > "100000" as text). Written with explicit ids: burning real ids up to a boundary took minutes
      // on a long-lived server.
      const current = BigInt((await database.pool.query('SELECT pg_current_xact_id()::text AS x')).rows[0].x);
      const boundary = 10n ** BigInt(current.toString().length - 1);
      const insert = (stream: string, transactionId: bigint, n: number) =>
        database.pool.query(
          `INSERT INTO events (transaction_id, stream_id, stream_revision, event_id, type, data)
           VALUES ($1::text::xid8, $2, 0, gen_random_uuid(), 'Ordered', $3)`,
          [transactionId.toString(), stream, { n }],
        );
      await insert('Order-2', boundary, 2);
      await insert('Order-1', boundary - 1n, 1);
      const events = (await store.readAll({ maxCount: 10 })).filter((e) => e.type === 'Ordered');
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
      const afterFirst = await store.readAll({ after: events[0].position, maxCount: 1 });
      expect((afterFirst[0].data as { n: number }).n).toBe(2);
      expect(await store.headPosition()).toBe(events[1].position);
    } finally {
      await database.drop();
    }
  });

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

describe('PostgresEventStore windows filtered by stream', () => {
  it('returns only the chosen streams, yet advances past the whole window', async () => {
    const database = await createTestDatabase(5);
    try {
      const store = new PostgresEventStore(database.pool);
      await store.migrate();
      const event = (n: number) => [{ id: crypto.randomUUID(), type: 'Numbered', data: { n } }];
      await store.append('Patient-1', event(1));
      await store.append('Observation-1', event(2));
      // "_" and "%" are LIKE wildcards: a prefix must match them literally.
      await store.append('PatientXIdentity-1', event(3));
      await store.append('Patient_Identity-1', event(4));
      await store.append('Patient-2', event(5));
      await store.append('Observation-2', event(6));
      const numbers = (events: { data: unknown }[]) => events.map((e) => (e.data as { n: number }).n);
      const all = await store.readAll();

      const first = await store.readWindow({
        after: START_OF_LOG,
        maxCount: 4,
        streamPrefixes: ['Patient-', 'Patient_Identity-'],
      });
      expect(numbers(first.events)).toEqual([1, 4]);
      expect(first.scanned).toBe(4);
      expect(first.lastPosition).toBe(all[3].position);
      expect(first.events[0]).toEqual(all[0]);

      const second = await store.readWindow({
        after: first.lastPosition,
        maxCount: 4,
        streamPrefixes: ['Patient-', 'Patient_Identity-'],
      });
      expect(numbers(second.events)).toEqual([5]);
      expect(second.scanned).toBe(2);
      expect(second.lastPosition).toBe(all[5].position);

      const end = await store.readWindow({ after: second.lastPosition, maxCount: 4, streamPrefixes: ['P'] });
      expect(end).toEqual({ events: [], lastPosition: second.lastPosition, scanned: 0 });

      const unfiltered = await store.readWindow({ after: START_OF_LOG, maxCount: 10 });
      expect(numbers(unfiltered.events)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await database.drop();
    }
  });
});
