import { randomUUID } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '@fa/testkit';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { CopyTargetMismatchError, copyEventLog, orderPreservingBatches } from './copy-event-log';
import { digestEventLog } from './log-digest';

async function openStore(): Promise<{ database: TestDatabase; store: PostgresEventStore }> {
  const database = await createTestDatabase(4);
  const store = new PostgresEventStore(database.pool);
  await store.migrate();
  return { database, store };
}

const event = (k: number) => ({
  id: randomUUID(),
  type: k % 3 === 0 ? 'Deleted' : 'Recorded',
  data: { k, nested: { b: [1, 2], a: 'x' } },
  metadata: { source: 's', k },
});

describe('copyEventLog between two PostgreSQL stores', () => {
  let source: Awaited<ReturnType<typeof openStore>>;
  let target: Awaited<ReturnType<typeof openStore>>;

  beforeAll(async () => {
    [source, target] = await Promise.all([openStore(), openStore()]);
    // Interleaved streams over several transactions: A0 B0 A1 | C0 A2 B1 | ...
    for (let round = 0; round < 30; round++) {
      await source.store.appendMany([
        { streamId: `A-${round % 4}`, events: [event(round * 3)] },
        { streamId: `B-${round % 7}`, events: [event(round * 3 + 1), event(round * 3 + 2)] },
      ]);
      await source.store.append(`A-${(round + 1) % 4}`, [event(1000 + round)]);
    }
  });
  afterAll(async () => {
    await Promise.all([source, target].map(async (s) => (await s.store.close(), await s.database.drop())));
  });

  it('copies in global order with revisions and record times, continues after an interruption, and digests equal', async () => {
    const before = await digestEventLog(source.store);
    expect(before.events).toBe(120);

    const first = await copyEventLog(source.store, target.store, { windowSize: 7, maxEvents: 50 });
    expect(first).toEqual({ alreadyCopied: 0, copied: 50 });
    expect((await digestEventLog(target.store)).sha256).not.toBe(before.sha256);

    const rest = await copyEventLog(source.store, target.store, { windowSize: 7 });
    expect(rest).toEqual({ alreadyCopied: 50, copied: 70 });
    expect(await digestEventLog(target.store)).toEqual(before);

    const [a, b] = await Promise.all(
      [source, target].map(async (s) => (await s.store.readAll({ maxCount: 1000 })).events),
    );
    expect(b.map((e) => [e.streamId, e.streamRevision, e.id, e.recordedAt])).toEqual(
      a.map((e) => [e.streamId, e.streamRevision, e.id, e.recordedAt]),
    );

    expect(await copyEventLog(source.store, target.store)).toEqual({ alreadyCopied: 120, copied: 0 });
  });

  it('refuses a target that is not an interrupted copy of the source', async () => {
    const other = await openStore();
    try {
      await other.store.append('Other-1', [event(1)]);
      await expect(copyEventLog(source.store, other.store)).rejects.toBeInstanceOf(CopyTargetMismatchError);
      expect((await other.store.readAll()).events).toHaveLength(1);
    } finally {
      await other.store.close();
      await other.database.drop();
    }
  });

  it('a digest sees a changed byte of metadata', async () => {
    const one = await openStore();
    const two = await openStore();
    try {
      const id = randomUUID();
      const recordedAt = new Date('2024-05-06T07:08:09.123Z');
      await one.store.append('X-1', [{ id, type: 'T', data: { a: 1 }, metadata: { m: 1 }, recordedAt }]);
      await two.store.append('X-1', [{ id, type: 'T', data: { a: 1 }, metadata: { m: 2 }, recordedAt }]);
      const [d1, d2] = await Promise.all([digestEventLog(one.store), digestEventLog(two.store)]);
      expect(d1.events).toBe(1);
      expect(d1.sha256).not.toBe(d2.sha256);
    } finally {
      await Promise.all([one, two].map(async (s) => (await s.store.close(), await s.database.drop())));
    }
  });
});

describe('orderPreservingBatches', () => {
  it('starts a new batch where a stream comes back, keeping each run of a stream together', () => {
    const e = (streamId: string, streamRevision: number) =>
      ({
        id: `${streamId}${streamRevision}`,
        type: 't',
        data: {},
        metadata: {},
        streamId,
        streamRevision,
      }) as never;
    const batches = orderPreservingBatches([e('A', 0), e('A', 1), e('B', 4), e('A', 2), e('C', 0)]);
    expect(
      batches.map((batch) => batch.map((r) => [r.streamId, r.expectedRevision, r.events.map((x) => x.id)])),
    ).toEqual([
      [
        ['A', 'no_stream', ['A0', 'A1']],
        ['B', 3, ['B4']],
      ],
      [
        ['A', 1, ['A2']],
        ['C', 'no_stream', ['C0']],
      ],
    ]);
  });
});
