import { parseFhirJson, stringifyFhirJson } from '@fa/fhir';
import { openDatabase } from '@fa/platform';
import { createTestDatabase } from '@fa/testkit';
import { START_OF_LOG } from '../event-store.port';
import { describeEventStoreContract } from '../testing';
import { PostgresEventStore } from './postgres-event-store';

describeEventStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase(20);
  const store = new PostgresEventStore(database.pool);
  await store.migrate();
  return {
    store,
    streamPrefix: '',
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
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
      const events = (await store.readAll({ maxCount: 10 })).events.filter((e) => e.type === 'Ordered');
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
      const afterFirst = await store.readAll({ after: events[0].position, maxCount: 1 });
      expect((afterFirst.events[0].data as { n: number }).n).toBe(2);
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
      expect((await store.readAll()).events).toEqual([]);
      // Committed, not yet visible: the head says how far a reader must get to have seen it.
      expect(await store.countAfter(START_OF_LOG)).toBe(0);
      await slow.query('COMMIT');
      slow.release();
      expect((await store.readAll()).events.map((e) => e.type)).toEqual(['Slow', 'Fast']);
      expect(await store.countAfter(START_OF_LOG)).toBe(2);
    } finally {
      await database.drop();
    }
  });
});

describe('PostgresEventStore and decimals', () => {
  it('gives back every decimal as written: COPY of the lossless text, jsonb numeric, lossless type parser', async () => {
    const database = await createTestDatabase(2);
    // The service's own pool (openDatabase), not the test's: its type parsers are what is under test.
    const service = await openDatabase({ databaseUrl: database.url, dataDir: '' }, 2);
    try {
      const store = new PostgresEventStore(service.pool);
      await store.migrate();
      const written = '{"a":1.50,"b":[100.0,0.00,-0.50,12345678901234567890.5,66.899999999999991,1.5,42]}';
      await store.append('Decimal-1', [
        { id: '00000000-0000-4000-8000-000000000001', type: 'Written', data: parseFhirJson(written) },
      ]);
      const [event] = await store.readStream('Decimal-1');
      expect(stringifyFhirJson(event.data)).toBe(written);
      expect((event.data as { b: unknown[] }).b.slice(-2)).toEqual([1.5, 42]);
      // PostgreSQL writes exponents positionally (numeric): the value and its digits stay, the notation goes.
      await store.append('Decimal-2', [
        {
          id: '00000000-0000-4000-8000-000000000002',
          type: 'Written',
          data: parseFhirJson('{"e":[1E-3,1.50e1]}'),
        },
      ]);
      const [exponents] = await store.readStream('Decimal-2');
      expect(stringifyFhirJson(exponents.data)).toBe('{"e":[0.001,15.0]}');
    } finally {
      await service.close();
      await database.drop();
    }
  });
});
