import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';
import { eventually, readDeadLetters, startKafkaMock } from '@fa/testkit';

const observation = (id: string, text = 'x') =>
  JSON.stringify({ resourceType: 'Observation', id, status: 'final', code: { text } });

const recordedIds = async (harness: AggregatorHarness, source: string) =>
  (
    await harness.database.pool.query<{ id: string }>(
      `SELECT metadata->>'sourceId' AS id FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = $1 ORDER BY 1`,
      [source],
    )
  ).rows.map((r) => r.id);

describe('Kafka ingestion of hostile input: one bad message never stalls its partition', () => {
  let kafkaMock: Awaited<ReturnType<typeof startKafkaMock>>;
  let kafka: Kafka;
  let harness: AggregatorHarness;
  let consuming: Promise<unknown> | undefined;
  /** Each test may run alone (jest -t): the consumer starts with the first test that publishes. */
  const ensureConsumer = () => (consuming ??= harness.startKafkaConsumer('consumer-poison'));

  beforeAll(async () => {
    // One partition: every message below is behind the bad ones, so a stall would show.
    kafkaMock = await startKafkaMock({ topics: ['poison', 'poison.dlq'], partitions: 1 });
    kafka = new Kafka({ clientId: 'test', brokers: kafkaMock.brokers, logLevel: logLevel.NOTHING });
    harness = await startAggregator({
      kafka: { brokers: kafkaMock.brokers, topics: new Map([['poison', 'lab-p']]), groupId: 'poison' },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await kafkaMock?.stop();
  });

  it('a message PostgreSQL refuses for good (a constraint violation) is found in its batch and dead-lettered; the rest is recorded', async () => {
    // A real constraint in the real database refuses one resource, as 22P05 or 54000 would refuse content.
    await harness.database.pool.query(
      `ALTER TABLE events ADD CONSTRAINT no_poison CHECK (data->'resource'->'code'->>'text' IS DISTINCT FROM 'refused')`,
    );
    const producer = kafka.producer();
    await producer.connect();
    const ids = Array.from({ length: 30 }, (_, i) => `ok-${String(i).padStart(2, '0')}`);
    // Published before the consumer starts, so they arrive as one batch with the poison in the middle.
    await producer.send({
      topic: 'poison',
      messages: [
        ...ids.slice(0, 15).map((id) => ({ key: `Observation/${id}`, value: observation(id) })),
        { key: 'Observation/poison', value: observation('poison', 'refused') },
        ...ids.slice(15).map((id) => ({ key: `Observation/${id}`, value: observation(id) })),
      ],
    });
    await ensureConsumer();
    expect(
      await eventually(
        () => recordedIds(harness, 'lab-p'),
        (r) => r.length >= ids.length,
      ),
    ).toEqual(ids);
    // Later messages on the same partition are consumed too.
    await producer.send({
      topic: 'poison',
      messages: [{ key: 'Observation/later', value: observation('later') }],
    });
    await producer.disconnect();
    expect(
      await eventually(
        () => recordedIds(harness, 'lab-p'),
        (r) => r.includes('later'),
      ),
    ).toContain('later');
    const deadLetters = await readDeadLetters(kafka, 'poison.dlq', 1);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0].value?.toString()).toBe(observation('poison', 'refused'));
    expect(deadLetters[0].headers).toMatchObject({
      'dlq-code': 'store-rejected',
      'dlq-reason': expect.stringContaining('PostgreSQL error 23514'),
      'dlq-original-offset': '15',
    });
    const rejections = await harness.database.pool.query(
      `SELECT data->>'code' AS code, data->'origin'->'kafka'->>'offset' AS "offset" FROM events WHERE stream_id = 'IngestionRejected-lab-p'`,
    );
    expect(rejections.rows).toEqual([{ code: 'store-rejected', offset: '15' }]);
    const metrics = await harness.http().get('/metrics');
    expect(metrics.text).toMatch(/fhir_ingest_rejected_total\{code="store-rejected"\} 1/);
    await harness.database.pool.query(`ALTER TABLE events DROP CONSTRAINT no_poison`);
  });

  it('a NUL-byte, an invalid-UTF-8 and an array message among good ones: the good recorded, the three dead-lettered with codes and original bytes, the partition not stalled', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const nul = JSON.stringify({ resourceType: 'Patient', id: 'nul', name: [{ family: 'Smi\u0000th' }] });
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"resourceType":"Patient","id":"utf","name":[{"family":"'),
      Buffer.from([0xc3, 0x28, 0xa0]),
      Buffer.from('"}]}'),
    ]);
    const [sent] = await producer.send({
      topic: 'poison',
      messages: [
        { key: 'Observation/h-1', value: observation('h-1') },
        { key: 'Patient/nul', value: nul },
        { key: 'Observation/h-2', value: observation('h-2') },
        { key: 'Patient/utf', value: invalidUtf8 },
        { key: 'Observation/h-3', value: observation('h-3') },
        { key: 'array', value: '[1,2,3]' },
        { key: 'Observation/h-4', value: observation('h-4') },
      ],
    });
    await producer.disconnect();
    await ensureConsumer();
    const good = ['h-1', 'h-2', 'h-3', 'h-4'];
    expect(
      await eventually(
        async () => (await recordedIds(harness, 'lab-p')).filter((id) => id.startsWith('h-')),
        (ids) => ids.length >= good.length,
      ),
    ).toEqual(good);
    const base = Number(sent.baseOffset);
    const deadLetters = await readDeadLetters(
      kafka,
      'poison.dlq',
      3,
      (d) => Number(d.headers['dlq-original-offset']) >= base,
    );
    expect(deadLetters.map((d) => d.headers['dlq-code'])).toEqual([
      'nul-character',
      'invalid-utf8',
      'not-a-resource',
    ]);
    expect(deadLetters[0].value?.toString()).toBe(nul);
    expect(deadLetters[0].headers['dlq-reason']).toBe(
      'the string at name[0].family holds a NUL character (U+0000) at character 3',
    );
    expect(deadLetters[1].value?.equals(invalidUtf8)).toBe(true);
    expect(deadLetters[1].headers['dlq-reason']).toMatch(/^not valid UTF-8/);
    expect(deadLetters[2].value?.toString()).toBe('[1,2,3]');
    expect(deadLetters[2].headers['dlq-reason']).toBe('not a FHIR resource: a JSON array');
    // Nothing of the bad messages was recorded, not even with replacement characters.
    const patients = await harness.database.pool.query(
      `SELECT count(*) AS n FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'sourceResourceType' = 'Patient'`,
    );
    expect(Number(patients.rows[0].n)).toBe(0);
    const rejections = await harness.database.pool.query<{ code: string; offset: string }>(
      `SELECT data->>'code' AS code, data->'origin'->'kafka'->>'offset' AS "offset" FROM events
        WHERE stream_id = 'IngestionRejected-lab-p' AND (data->'origin'->'kafka'->>'offset')::bigint >= $1
        ORDER BY global_position`,
      [base],
    );
    expect(rejections.rows).toEqual([
      { code: 'nul-character', offset: String(base + 1) },
      { code: 'invalid-utf8', offset: String(base + 3) },
      { code: 'not-a-resource', offset: String(base + 5) },
    ]);
  });

  it('fuzz: 80 seeded hostile messages (random bytes, truncated JSON, deep nesting, NUL, wrong types, huge strings, values over their type limit, too many elements) among good ones: each recorded or dead-lettered with its code, nothing else lost', async () => {
    /** What must become of the message: recorded, dead-lettered with this code, or either (never nothing). */
    type Kind = { value: Buffer; expect: string };
    let serial = 0;
    const good = () => {
      const id = `fz-${serial++}`;
      return { id, text: observation(id) };
    };
    const kinds: fc.Arbitrary<Kind> = fc.oneof(
      fc.constant(null).map(() => ({ value: Buffer.from(good().text), expect: 'recorded' })),
      fc
        .uint8Array({ minLength: 1, maxLength: 300 })
        .map((bytes) => ({ value: Buffer.concat([Buffer.from([0xff]), bytes]), expect: 'invalid-utf8' })),
      fc.nat().map((n) => {
        const text = good().text;
        return { value: Buffer.from(text.slice(0, 1 + (n % (text.length - 1)))), expect: 'not-json' };
      }),
      fc.integer({ min: 100, max: 5000 }).map((depth) => ({
        value: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`),
        expect: 'not-a-resource',
      })),
      fc.integer({ min: 70, max: 400 }).map((depth) => ({
        value: Buffer.from(
          `{"resourceType":"Observation","id":"deep","a":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
        ),
        expect: 'too-deep',
      })),
      fc.string({ maxLength: 20 }).map((s) => ({
        value: Buffer.from(
          JSON.stringify({ resourceType: 'Patient', id: 'n', name: [{ family: `${s}\u0000${s}` }] }),
        ),
        expect: 'nul-character',
      })),
      fc.constant(null).map(() => ({
        value: Buffer.from('{"resourceType":"Patient","id":"s","gender":"\\udc00"}'),
        expect: 'lone-surrogate',
      })),
      fc.anything().map((resourceType) => ({
        value: Buffer.from(
          JSON.stringify({
            resourceType: typeof resourceType === 'string' ? 5 : (resourceType ?? 5),
            id: 'w',
          }) ?? '{}',
        ),
        expect: 'unknown-resource-type',
      })),
      fc.anything().map((wrong) => {
        const { id } = good();
        return {
          value: Buffer.from(
            JSON.stringify({
              resourceType: 'Observation',
              id,
              status: wrong,
              code: wrong,
              subject: wrong,
              valueQuantity: wrong,
              meta: { tag: wrong },
            }) ?? '{}',
          ),
          expect: 'recorded-or-dead-letter',
        };
      }),
      fc.integer({ min: 65, max: 300 }).map((length) => ({
        value: Buffer.from(JSON.stringify({ resourceType: 'Patient', id: 'i'.repeat(length) })),
        expect: 'too-long',
      })),
      fc.integer({ min: 1025, max: 5000 }).map((length) => ({
        value: Buffer.from(
          JSON.stringify({ resourceType: 'Observation', id: 'c', status: 'f'.repeat(length) }),
        ),
        expect: 'too-long',
      })),
      fc.integer({ min: 100_001, max: 120_000 }).map((count) => ({
        value: Buffer.from(
          JSON.stringify({ resourceType: 'Observation', id: 'm', extension: Array(count).fill(1) }),
        ),
        expect: 'too-many-elements',
      })),
      fc.integer({ min: 100_000, max: 400_000 }).map((size) => {
        const { id } = good();
        return { value: Buffer.from(observation(id, 'x'.repeat(size))), expect: 'recorded' };
      }),
    );
    const batch = fc.sample(kinds, { seed: 22, numRuns: 80 });
    // The seeded sample covers the kinds (and so stays a test of all of them).
    expect(new Set(batch.map((k) => k.expect)).size).toBeGreaterThanOrEqual(8);
    expect([...new Set(batch.map((k) => k.expect))]).toEqual(
      expect.arrayContaining(['too-deep', 'too-long', 'too-many-elements', 'nul-character']),
    );
    const sentinel = good();
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({
      topic: 'poison',
      messages: [
        ...batch.map((kind) => ({ value: kind.value })),
        { key: `Observation/${sentinel.id}`, value: sentinel.text },
      ],
    });
    await producer.disconnect();
    await ensureConsumer();
    const base = Number(sent.baseOffset);
    const last = base + batch.length;

    const recordedOffsets = async () =>
      new Set(
        (
          await harness.database.pool.query<{ offset: string }>(
            `SELECT DISTINCT metadata->'origin'->'kafka'->>'offset' AS "offset" FROM events
              WHERE type = 'ResourceVersionRecorded' AND (metadata->'origin'->'kafka'->>'offset')::bigint >= $1`,
            [base],
          )
        ).rows.map((r) => Number(r.offset)),
      );
    // The sentinel, published after every hostile message on the same partition, is recorded: nothing stalled.
    await eventually(recordedOffsets, (offsets) => offsets.has(last), 60_000);
    // Dead letters are published after the chunk's append: wait for every one that must come.
    const mustDeadLetter = batch.filter(
      (k) => k.expect !== 'recorded' && k.expect !== 'recorded-or-dead-letter',
    );
    const deadLetters = await readDeadLetters(
      kafka,
      'poison.dlq',
      mustDeadLetter.length,
      (d) => Number(d.headers['dlq-original-offset']) >= base,
    );
    const recorded = await recordedOffsets();
    const codeAt = new Map(
      deadLetters.map((d) => [Number(d.headers['dlq-original-offset']), d.headers['dlq-code']]),
    );
    const unaccounted: number[] = [];
    batch.forEach((kind, i) => {
      const offset = base + i;
      const code = codeAt.get(offset);
      if (kind.expect === 'recorded')
        expect({ offset, recorded: recorded.has(offset), code }).toEqual({
          offset,
          recorded: true,
          code: undefined,
        });
      else if (kind.expect === 'recorded-or-dead-letter') {
        if (!recorded.has(offset) && code === undefined) unaccounted.push(offset);
      } else expect({ offset, code }).toEqual({ offset, code: kind.expect });
    });
    expect(unaccounted).toEqual([]);
    // Every dead letter carries the original bytes and a reason.
    for (const d of deadLetters) {
      const offset = Number(d.headers['dlq-original-offset']);
      expect(d.value?.equals(batch[offset - base].value)).toBe(true);
      expect(d.headers['dlq-reason'].length).toBeGreaterThan(0);
    }
  }, 120_000);
});
