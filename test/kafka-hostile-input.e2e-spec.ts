import { Kafka, logLevel } from 'kafkajs';
import { AggregatorHarness, startAggregator } from './support/aggregator-harness';
import { eventually } from './support/eventually';
import { startKafkaMock } from './support/kafka-mock';

interface DeadLetter {
  value: Buffer | null;
  headers: Record<string, string>;
}

const observation = (id: string, text = 'x') =>
  JSON.stringify({ resourceType: 'Observation', id, status: 'final', code: { text } });

const recordedIds = async (harness: AggregatorHarness, source: string) =>
  (
    await harness.database.pool.query<{ id: string }>(
      `SELECT metadata->>'sourceId' AS id FROM events WHERE type = 'ResourceVersionRecorded' AND metadata->>'source' = $1 ORDER BY 1`,
      [source],
    )
  ).rows.map((r) => r.id);

async function readDeadLetters(kafka: Kafka, topic: string, atLeast: number): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ groupId: `dlq-reader-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const deadLetters: DeadLetter[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      deadLetters.push({
        value: message.value,
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
    },
  });
  await eventually(
    async () => deadLetters.length,
    (n) => n >= atLeast,
    30_000,
  );
  // A moment more, so a dead letter too many would be seen.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await consumer.disconnect();
  return deadLetters;
}

describe('Kafka ingestion of hostile input: one bad message never stalls its partition', () => {
  let kafkaMock: Awaited<ReturnType<typeof startKafkaMock>>;
  let kafka: Kafka;
  let harness: AggregatorHarness;

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
    await harness.startKafkaConsumer('consumer-poison');
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
    await producer.send({
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
    const good = ['h-1', 'h-2', 'h-3', 'h-4'];
    expect(
      await eventually(
        async () => (await recordedIds(harness, 'lab-p')).filter((id) => id.startsWith('h-')),
        (ids) => ids.length >= good.length,
      ),
    ).toEqual(good);
    const deadLetters = (await readDeadLetters(kafka, 'poison.dlq', 4)).filter(
      (d) => d.headers['dlq-code'] !== 'store-rejected',
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
    const rejections = await harness.database.pool.query<{ code: string }>(
      `SELECT data->>'code' AS code FROM events WHERE stream_id = 'IngestionRejected-lab-p' ORDER BY global_position`,
    );
    expect(rejections.rows.map((r) => r.code)).toEqual([
      'store-rejected',
      'nul-character',
      'invalid-utf8',
      'not-a-resource',
    ]);
  });
});
