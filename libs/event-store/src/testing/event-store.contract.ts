import { randomUUID } from 'node:crypto';
import { canonicalJson, parseFhirJson, stringifyFhirJson } from '@fa/fhir';
import { EventStore, RecordedEvent, START_OF_LOG, WrongExpectedRevisionError } from '../event-store.port';

export interface EventStoreContractHarness {
  store: EventStore;
  /** Unique prefix so the suite can share a store with other tests. */
  streamPrefix: string;
  close(): Promise<void>;
}

const event = (type = 'Happened', data: unknown = {}) => ({
  id: randomUUID(),
  type,
  data,
  metadata: { by: 'contract' },
});

/**
 * A catch-up reader as the projection runner is one: reads windows after its position and, at the head,
 * sleeps on waitForAppend. Collects the events of one stream prefix until `count` arrive or time runs out.
 */
function collectUntil(store: EventStore, count: number, timeoutMs: number, streamPrefix: string) {
  const seen: RecordedEvent[] = [];
  let stopped = false;
  const deadline = Date.now() + timeoutMs;
  const finished = (async () => {
    let after = START_OF_LOG;
    while (!stopped && seen.length < count && Date.now() < deadline) {
      const window = await store.readAll({ after, maxCount: 500, streamPrefixes: [streamPrefix] });
      seen.push(...window.events);
      after = window.lastPosition;
      if (window.scanned === 0) await store.waitForAppend(100);
    }
  })();
  return {
    seen,
    finished,
    stop: async () => {
      stopped = true;
      await finished;
    },
  };
}

/**
 * The behaviour every EventStore adapter must show. Adapters call this from their own *.int-spec.ts with a
 * harness on a real server.
 */
export function describeEventStoreContract(
  adapterName: string,
  open: () => Promise<EventStoreContractHarness>,
): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let harness: EventStoreContractHarness;
    let store: EventStore;
    let n = 0;
    const stream = () => `${harness.streamPrefix}Thing-${++n}`;

    beforeAll(async () => {
      harness = await open();
      store = harness.store;
    });
    afterAll(() => harness.close());

    it('appends and reads a stream in revision order, both directions', async () => {
      const id = stream();
      const first = await store.append(id, [event('A'), event('B')], 'no_stream');
      expect(first).toEqual({ streamId: id, nextExpectedRevision: 1, written: 2 });
      await store.append(id, [event('C')], 1);
      const forwards = await store.readStream(id);
      expect(forwards.map((e) => [e.type, e.streamRevision])).toEqual([
        ['A', 0],
        ['B', 1],
        ['C', 2],
      ]);
      expect(forwards[0].metadata).toEqual({ by: 'contract' });
      const backwards = await store.readStream(id, { direction: 'backwards', maxCount: 2 });
      expect(backwards.map((e) => e.type)).toEqual(['C', 'B']);
      expect(await store.readStream(stream())).toEqual([]);
    });

    it('keeps the record time a copied event brings, and its metadata as given', async () => {
      const id = stream();
      const recordedAt = new Date('2020-02-03T04:05:06.789Z');
      await store.append(id, [{ ...event('Copied'), recordedAt }], 'no_stream');
      await store.append(id, [event('Fresh')], 0);
      const [copied, fresh] = await store.readStream(id);
      expect(copied.recordedAt).toEqual(recordedAt);
      expect(copied.metadata).toEqual({ by: 'contract' });
      expect(Math.abs(fresh.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
    });

    it('keeps decimals in event data as written', async () => {
      const id = stream();
      // Keys in canonical order: a store may reorder them (jsonb does), never rewrite a number.
      const text = '{"list":[0.10,2],"valueQuantity":{"value":1.50}}';
      await store.append(id, [{ ...event('Decimal'), data: parseFhirJson(text) }]);
      const [read] = await store.readStream(id);
      expect(canonicalJson(read.data)).toBe(text);
      expect(stringifyFhirJson(read.data)).toContain('1.50');
    });

    it('enforces every kind of expected revision with a typed error', async () => {
      const id = stream();
      await expect(store.append(id, [event()], 'stream_exists')).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      await expect(store.append(id, [event()], 0)).rejects.toMatchObject({
        actual: 'no_stream',
        expected: 0,
      });
      await store.append(id, [event()], 'no_stream');
      await expect(store.append(id, [event()], 'no_stream')).rejects.toMatchObject({
        name: 'WrongExpectedRevisionError',
        streamId: id,
        actual: 0,
      });
      await expect(store.append(id, [event()], 5)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      await store.append(id, [event()], 'stream_exists');
      await store.append(id, [event()], 'any');
      expect((await store.readStream(id)).length).toBe(3);
    });

    it('writes nothing new when an append is retried with the same event ids', async () => {
      const id = stream();
      const events = [event('A'), event('B')];
      await store.append(id, events, 'no_stream');
      const retry = await store.append(id, events, 'no_stream');
      expect(retry).toEqual({ streamId: id, nextExpectedRevision: 1, written: 0 });
      const partlyNew = await store.append(id, [events[1], event('C')], 'any');
      expect(partlyNew.written).toBe(1);
      expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    it('appends to many streams atomically: one failed expectation writes nothing', async () => {
      const a = stream();
      const b = stream();
      await store.append(b, [event()], 'no_stream');
      await expect(
        store.appendMany([
          { streamId: a, events: [event()], expectedRevision: 'no_stream' },
          { streamId: b, events: [event()], expectedRevision: 'no_stream' },
        ]),
      ).rejects.toMatchObject({ streamId: b });
      expect(await store.readStream(a)).toEqual([]);
      const results = await store.appendMany([
        { streamId: a, events: [event(), event()], expectedRevision: 'no_stream' },
        { streamId: b, events: [event()], expectedRevision: 0 },
      ]);
      expect(results.map((r) => [r.nextExpectedRevision, r.written])).toEqual([
        [1, 2],
        [1, 1],
      ]);
      const last = await store.readLastEvents([a, b, stream()]);
      expect([...last.keys()].sort()).toEqual([a, b].sort());
      expect(last.get(a)!.streamRevision).toBe(1);
    });

    it('reads the global log after a position, in a total order it can compare', async () => {
      const head = await store.headPosition();
      const id = stream();
      await store.append(id, [event('A'), event('B'), event('C')]);
      const after = await store.readAll({ after: head, maxCount: 10_000 });
      const mine = after.events.filter((e) => e.streamId === id);
      expect(mine.map((e) => e.type)).toEqual(['A', 'B', 'C']);
      const asBigInts = (e: RecordedEvent) => e.logOrder.map(BigInt);
      for (let i = 1; i < after.events.length; i++) {
        const [previous, current] = [after.events[i - 1], after.events[i]];
        expect(store.comparePositions(previous.position, current.position)).toBeLessThan(0);
        // logOrder sorts the same way, and its second part alone tells events apart.
        const [[a1, a2], [b1, b2]] = [asBigInts(previous), asBigInts(current)];
        expect(a1 < b1 || (a1 === b1 && a2 < b2)).toBe(true);
      }
      expect(new Set(after.events.map((e) => e.logOrder[1])).size).toBe(after.events.length);
      expect(after.lastPosition).toBe(after.events[after.events.length - 1].position);
      expect(store.comparePositions(await store.headPosition(), after.lastPosition)).toBe(0);
      expect(store.comparePositions(head, after.lastPosition)).toBeLessThan(0);
      expect(await store.countAfter(head)).toBe(after.scanned);
      const page = await store.readAll({ after: mine[0].position, maxCount: 1 });
      expect(page.events[0].id).toBe(mine[1].id);
      expect(page.scanned).toBe(1);
      const end = await store.readAll({ after: after.lastPosition });
      expect(end).toEqual({ events: [], lastPosition: after.lastPosition, scanned: 0 });
    });

    it('filters windows by stream prefix on the server, yet advances past the whole window', async () => {
      const head = await store.headPosition();
      const p = `${harness.streamPrefix}Filter${++n}`;
      const numbered = (k: number) => [event('Numbered', { k })];
      await store.append(`${p}Patient-1`, numbered(1));
      await store.append(`${p}Observation-1`, numbered(2));
      // "_" and "%" are LIKE wildcards in SQL: a prefix must match them literally.
      await store.append(`${p}PatientXIdentity-1`, numbered(3));
      await store.append(`${p}Patient_Identity-1`, numbered(4));
      await store.append(`${p}Patient-2`, numbered(5));
      await store.append(`${p}Observation-2`, numbered(6));
      const ks = (events: RecordedEvent[]) => events.map((e) => (e.data as { k: number }).k);
      const all = (await store.readAll({ after: head })).events;
      expect(ks(all)).toEqual([1, 2, 3, 4, 5, 6]);
      const prefixes = [`${p}Patient-`, `${p}Patient_Identity-`];

      const first = await store.readAll({ after: head, maxCount: 4, streamPrefixes: prefixes });
      expect(ks(first.events)).toEqual([1, 4]);
      expect(first.scanned).toBe(4);
      expect(first.lastPosition).toBe(all[3].position);
      expect(first.events[0]).toEqual(all[0]);

      const second = await store.readAll({
        after: first.lastPosition,
        maxCount: 4,
        streamPrefixes: prefixes,
      });
      expect(ks(second.events)).toEqual([5]);
      expect(second.scanned).toBe(2);
      expect(second.lastPosition).toBe(all[5].position);

      const end = await store.readAll({ after: second.lastPosition, maxCount: 4, streamPrefixes: [p] });
      expect(end).toEqual({ events: [], lastPosition: second.lastPosition, scanned: 0 });
    });

    it('wakes a waiting reader when events are appended, and times out otherwise', async () => {
      const idle = Date.now();
      await store.waitForAppend(200);
      expect(Date.now() - idle).toBeLessThan(2_000);
      const waiting = store.waitForAppend(30_000);
      await store.append(stream(), [event('Wake')]);
      const woken = Date.now();
      await waiting;
      expect(Date.now() - woken).toBeLessThan(5_000);
    });

    it('8 concurrent appenders, 10,000 events into overlapping streams: a running reader sees each committed event once and each stream in order', async () => {
      const prefix = `${harness.streamPrefix}Concurrent-${randomUUID()}-`;
      const streams = Array.from({ length: 40 }, (_, i) => `${prefix}${i}`);
      const total = 10_000;
      const subscriber = collectUntil(store, total, 100_000, prefix);
      let remaining = total;
      const appender = async (worker: number) => {
        let written = 0;
        let random = worker * 7919 + 1;
        const next = () => (random = (random * 48271) % 2147483647);
        while (remaining > 0) {
          const size = Math.min(remaining, 1 + (next() % 25));
          remaining -= size;
          const batch: { streamId: string; events: ReturnType<typeof event>[] }[] = [];
          for (let i = 0; i < size; i++) {
            const streamId = streams[next() % streams.length];
            let request = batch.find((r) => r.streamId === streamId);
            if (!request) batch.push((request = { streamId, events: [] }));
            request.events.push(event('Counted', { worker, sequence: written++ }));
          }
          await store.appendMany(batch.map((r) => ({ ...r, expectedRevision: 'any' as const })));
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, worker) => appender(worker)));
      await subscriber.finished;
      await subscriber.stop();

      const ids = subscriber.seen.map((e) => e.id);
      expect(ids.length).toBe(total);
      expect(new Set(ids).size).toBe(total);
      const revisionsByStream = new Map<string, number[]>();
      for (const e of subscriber.seen) {
        const list = revisionsByStream.get(e.streamId) ?? [];
        list.push(e.streamRevision);
        revisionsByStream.set(e.streamId, list);
      }
      for (const [streamId, revisions] of revisionsByStream) {
        expect(revisions).toEqual(revisions.map((_, i) => i));
        expect((await store.readStream(streamId)).length).toBe(revisions.length);
      }
    });
  });
}
