import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register } from 'prom-client';
import { generateClientKeyPair, type ClientKeyPair } from '@fa/access';
import { BulkSyncRunner, readClientKey, storeSink } from '@fa/bulk-sync';
import { MAX_LINE_BYTES } from '@fa/ingestion';
import { CommandBus } from '@nestjs/cqrs';
import { Kafka, logLevel } from 'kafkajs';
import {
  BulkDataServer,
  BulkDataServerFaults,
  eventually,
  ndjsonFolder,
  readDeadLetters,
  startBulkDataServer,
  startKafkaMock,
} from '@fa/testkit';
import { AggregatorHarness, FIXTURES, runCli, startAggregator } from './support/aggregator-harness';

const SAMPLE = path.join(FIXTURES, 'synthea-2-patients');
const CLIENT_ID = 'aggregator-puller';

/** Current versions per type of one source, as source ids (sorted). */
async function heldBySource(harness: AggregatorHarness, source: string): Promise<Map<string, string[]>> {
  const rows = await harness.database.pool.query<{ type: string; ids: string[] }>(
    `SELECT resource_type AS type, array_agg(lineage->>'sourceId' ORDER BY lineage->>'sourceId') AS ids
       FROM fhir_store.resource_versions WHERE recorded_to IS NULL AND NOT deleted AND lineage->>'source' = $1
      GROUP BY resource_type`,
    [source],
  );
  return new Map(rows.rows.map((r) => [r.type, r.ids]));
}

function idsPerType(data: Map<string, string[]>): Map<string, string[]> {
  return new Map(
    [...data].map(([type, lines]) => [type, lines.map((l) => (JSON.parse(l) as { id: string }).id).sort()]),
  );
}

/**
 * Each cut file was fetched twice: the second time with Range from the end of a whole line (206), or whole (200)
 * when the cut came before the client had taken a line (a stream's queued bytes are lost with the socket). At
 * least one resumed by Range. Returns the ranged requests.
 */
function expectResumedAtLineEnds(s: BulkDataServer, names: string[]) {
  const resumed = s.requests.filter((r) => r.range);
  for (const name of names) {
    const fetches = s.requests.filter((r) => r.path.endsWith(`/${name}.ndjson`));
    expect(fetches.map((r) => r.status)).toEqual([200, fetches[1]?.range ? 206 : 200]);
  }
  expect(resumed.length).toBeGreaterThan(0);
  for (const r of resumed) {
    const file = [...s.files].find(([url]) => url.endsWith(r.path))![1];
    const start = Number(/^bytes=(\d+)-$/.exec(r.range!)![1]);
    expect(start).toBeGreaterThan(0);
    expect(file[start - 1]).toBe(0x0a);
  }
  return resumed;
}

async function streamEvents(harness: AggregatorHarness, source: string) {
  const rows = await harness.database.pool.query<{ type: string; data: Record<string, unknown> }>(
    `SELECT type, data FROM events WHERE stream_id = $1 ORDER BY stream_revision`,
    [`BulkSync-${source}`],
  );
  return rows.rows;
}

describe('bulk-sync: pulling a Bulk Data server into a running instance (real HTTP, PostgreSQL, Kafka)', () => {
  let harness: AggregatorHarness;
  let kafkaMock: Awaited<ReturnType<typeof startKafkaMock>>;
  let keys: ClientKeyPair;
  let dir: string;
  let keyFile: string;
  const servers: BulkDataServer[] = [];
  const data = ndjsonFolder(SAMPLE);
  let consuming: Promise<unknown> | undefined;
  /** Each test may run alone (jest -t): the consumer starts with the first test that publishes. */
  const ensureConsumer = () => (consuming ??= harness.startKafkaConsumer('bulk-consumer'));

  const server = async (faults: BulkDataServerFaults, extra: { tokenLifetimeSeconds?: number } = {}) => {
    const s = await startBulkDataServer({
      data,
      clientId: CLIENT_ID,
      jwks: keys.publicJwks as never,
      faults,
      splitAt: 40,
      ...extra,
    });
    servers.push(s);
    return s;
  };
  const sync = (
    s: BulkDataServer,
    source: string,
    args: string[] = [],
    onSpawn?: (c: ChildProcess) => void,
  ) =>
    runCli(
      [
        'bulk-sync',
        '--url',
        s.base,
        '--client-id',
        CLIENT_ID,
        '--key',
        keyFile,
        '--source',
        source,
        '--poll',
        '0.2',
        ...args,
      ],
      harness.database.url,
      { onSpawn },
    );

  const toKafka = () => ['--to', 'kafka', '--topic', 'bulk', '--brokers', kafkaMock.brokers.join(',')];

  beforeAll(async () => {
    kafkaMock = await startKafkaMock({ topics: ['bulk', 'bulk.dlq'], partitions: 4 });
    harness = await startAggregator({
      kafka: { brokers: kafkaMock.brokers, topics: new Map([['bulk', undefined]]), groupId: 'bulk-sync' },
    });
    keys = await generateClientKeyPair('ES384');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-bulk-sync-'));
    keyFile = path.join(dir, 'private-key.jwk.json');
    await fs.writeFile(keyFile, JSON.stringify(keys));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await harness?.close();
    await kafkaMock?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('a server with 429s, a download dropped mid-file, gzip, relative URLs, application/ndjson and a token revoked', () => {
    let s: BulkDataServer;
    let firstTransactionTime: string;

    it('holds the same resources per type as the files, each version naming its export, file and line', async () => {
      s = await server({
        kickOff429: 1,
        status429: 1,
        pollsBeforeComplete: 2,
        dropMidFile: ['ExplanationOfBenefit', 'Observation'],
        gzip: true,
        relativeUrls: true,
        contentType: 'application/ndjson',
        revokeTokensAfterKickOff: true,
      });
      const result = await sync(s, 'payer-a');
      const events = await streamEvents(harness, 'payer-a');
      firstTransactionTime = String(events.at(-1)?.data.transactionTime);
      expect(result.stderr).not.toMatch(/^error/m);
      expect(result.code).toBe(0);
      expect(await heldBySource(harness, 'payer-a')).toEqual(idsPerType(data));
      const total = [...data.values()].reduce((n, l) => n + l.length, 0);
      expect(result.stdout).toMatch(new RegExp(`${total} resources in`));
      expect(result.stdout).toMatch(/Observation\s+2\s+60\s+60\s+60\s+0\s+0/);
      expect(result.stdout).toContain('completeness: ok');

      // The faults were met: 429 then 202 at kick-off, a 429 while polling, a 401 after the revocation, the
      // dropped files resumed with Range (206), the first downloads gzipped.
      const kickOffs = s.requests.filter((r) => r.path.endsWith('/$export')).map((r) => r.status);
      expect(kickOffs).toEqual([429, 202]);
      expect(s.requests.filter((r) => r.path.startsWith('/status/')).map((r) => r.status)).toEqual(
        expect.arrayContaining([401, 202, 429, 200]),
      );
      // Each cut file was fetched again: with Range from its last whole line, or whole when the cut came before
      // the client had taken a line (a gzip stream's pending output is lost with the socket).
      const resumed = expectResumedAtLineEnds(s, [
        'ExplanationOfBenefit-1',
        'ExplanationOfBenefit-2',
        'Observation-1',
        'Observation-2',
      ]);
      // A range means the identity bytes: the resumed requests refuse gzip.
      expect(resumed.every((r) => !/gzip/.test(r.acceptEncoding ?? ''))).toBe(true);
      expect(resumed.every((r) => /^bytes=\d+-$/.test(r.range!) && r.range !== 'bytes=0-')).toBe(true);
      expect(
        s.requests
          .filter((r) => r.path.startsWith('/files/') && !r.range)
          .every((r) => /gzip/.test(r.acceptEncoding ?? '')),
      ).toBe(true);

      // Two tokens (one after the 401), each from an ES384 assertion with our kid, a new jti, exp ≤ 5 min.
      expect(s.assertions.length).toBeGreaterThanOrEqual(2);
      expect(new Set(s.assertions.map((a) => a.jti)).size).toBe(s.assertions.length);
      for (const a of s.assertions) {
        expect(a).toMatchObject({ kid: keys.privateJwk.kid, alg: 'ES384' });
        expect(a.lifetimeSeconds).toBeLessThanOrEqual(300);
      }

      // Lineage: every version names the export, and its file's line holds that very resource.
      expect(events.map((e) => e.type)).toEqual(['BulkSyncStarted', 'BulkSyncCompleted']);
      const completed = events[1].data as { statusUrl: string; transactionTime: string };
      const lineage = await harness.database.pool.query<{
        type: string;
        source_id: string;
        bulk: { server: string; statusUrl: string; transactionTime: string; fileUrl: string; line: number };
      }>(
        `SELECT resource_type AS type, lineage->>'sourceId' AS source_id, lineage->'origin'->'bulk' AS bulk
           FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-a'`,
      );
      expect(lineage.rows).toHaveLength(total);
      for (const row of lineage.rows) {
        expect(row.bulk).toMatchObject({
          server: s.base,
          statusUrl: completed.statusUrl,
          transactionTime: firstTransactionTime,
        });
        const line = s.files.get(row.bulk.fileUrl)!.toString('utf8').split('\n')[row.bulk.line - 1];
        expect((JSON.parse(line) as { id: string }).id).toBe(row.source_id);
      }
    });

    it('a second run with --since auto sends the last transactionTime as _since and records only what changed', async () => {
      const updated = (await fs.readFile(path.join(FIXTURES, 'sample-update', 'Patient.ndjson'), 'utf8'))
        .split('\n')
        .filter(Boolean);
      const before = await harness.database.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-a'`,
      );
      s.put('Patient', updated);
      const gone = (JSON.parse(data.get('Encounter')![0]) as { id: string }).id;
      s.remove('Encounter', gone);
      const result = await sync(s, 'payer-a', ['--since', 'auto']);
      expect(result.code).toBe(0);
      const kickOffs = s.requests.filter((r) => r.path.endsWith('/$export') && r.status === 202);
      expect(kickOffs.at(-1)!.query._since).toBe(firstTransactionTime);
      expect(result.stdout).toMatch(new RegExp(`_since ${firstTransactionTime.replace(/[.]/g, '\\.')}`));
      expect(result.stdout).toMatch(/Patient\s+1\s+1\s+1\s+1\s+0\s+0/);
      const after = await harness.database.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-a'`,
      );
      // The new Patient version and the Encounter's deletion (from the manifest's `deleted` Bundles).
      expect(Number(after.rows[0].n)).toBe(Number(before.rows[0].n) + 2);
      expect(result.stdout).toMatch(/deleted\s+1\s+1\s+1\s+1\s+0\s+0/);
      const encounter = await harness.database.pool.query<{ deleted: boolean }>(
        `SELECT deleted FROM fhir_store.resource_versions WHERE resource_type = 'Encounter' AND recorded_to IS NULL
            AND lineage->>'source' = 'payer-a' AND lineage->>'sourceId' = $1`,
        [gone],
      );
      expect(encounter.rows).toEqual([{ deleted: true }]);
      const id = (JSON.parse(updated[0]) as { id: string }).id;
      const versions = await harness.database.pool.query<{ version_id: number; line: string }>(
        `SELECT version_id, resource->'address'->0->'line'->>0 AS line FROM fhir_store.resource_versions
          WHERE resource_type = 'Patient' AND lineage->>'source' = 'payer-a' AND lineage->>'sourceId' = $1 ORDER BY version_id`,
        [id],
      );
      expect(versions.rows.map((r) => r.version_id)).toEqual([1, 2]);
      expect(versions.rows[1].line).toBe(
        (JSON.parse(updated[0]) as { address: { line: string[] }[] }).address[0].line[0],
      );
    });
  });

  it('tolerates a manifest without counts and files served without a token (requiresAccessToken: false); renews a token before it expires', async () => {
    const s = await server(
      { omitCount: true, noFileToken: true, pollsBeforeComplete: 3, dropMidFile: ['Encounter'] },
      { tokenLifetimeSeconds: 2 },
    );
    const result = await sync(s, 'payer-b', ['--type', 'Patient,Encounter']);
    expect(result.code).toBe(0);
    expect(s.requests.find((r) => r.path.endsWith('/$export'))!.query._type).toBe('Patient,Encounter');
    const downloads = s.requests.filter((r) => r.path.startsWith('/files/'));
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((r) => r.authorization === undefined && r.status !== 401)).toBe(true);
    expect(result.stdout).toMatch(/Encounter\s+2\s+-\s+63\s+63/);
    // Without gzip the cut files resume with Range, right after their last whole line.
    expectResumedAtLineEnds(s, ['Encounter-1', 'Encounter-2']);
    // Tokens of 2 s over ~3 s of polling: renewed ahead of expiry, never refused.
    expect(s.assertions.length).toBeGreaterThanOrEqual(2);
    expect(s.requests.filter((r) => r.status === 401)).toEqual([]);
    const held = await heldBySource(harness, 'payer-b');
    expect(held).toEqual(
      new Map([...idsPerType(data)].filter(([t]) => t === 'Patient' || t === 'Encounter')),
    );
  });

  it('refuses a manifest without output with a clear message, and records the run as failed', async () => {
    const s = await server({ noOutput: true });
    const result = await sync(s, 'payer-c');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has no "output" array: it names no files/);
    expect((await streamEvents(harness, 'payer-c')).map((e) => e.type)).toEqual([
      'BulkSyncStarted',
      'BulkSyncFailed',
    ]);
    expect(await heldBySource(harness, 'payer-c')).toEqual(new Map());
  });

  it('completeness: a type below its manifest count, or dropping from the previous full export, warns (summary, metric, event)', async () => {
    const runner = harness.app.get(BulkSyncRunner);
    const key = await readClientKey(JSON.stringify(keys));
    const run = (s: BulkDataServer) =>
      runner.run({
        source: 'payer-d',
        url: s.base,
        clientId: CLIENT_ID,
        key,
        scope: 'system/*.rs',
        types: ['Patient', 'Encounter'],
        sink: storeSink(harness.app.get(CommandBus), 'payer-d', 'test'),
        pollMs: 100,
        signal: new AbortController().signal,
      });
    const first = await run(await server({}));
    expect(first.warnings).toEqual([]);
    const second = await run(await server({ shortFiles: { Encounter: 10 }, omitCount: false }));
    expect(second.warnings).toEqual([
      { resourceType: 'Encounter', kind: 'below-manifest-count', expected: 63, actual: 53 },
      { resourceType: 'Encounter', kind: 'drop-from-previous', expected: 63, actual: 53 },
    ]);
    const metric = await register.getSingleMetric('fhir_bulk_sync_completeness_warnings_total')!.get();
    expect(
      metric.values.filter((v) => v.labels.source === 'payer-d').map((v) => [v.labels.kind, v.value]),
    ).toEqual([
      ['below-manifest-count', 1],
      ['drop-from-previous', 1],
    ]);
    expect((await streamEvents(harness, 'payer-d')).map((e) => e.type)).toEqual([
      'BulkSyncStarted',
      'BulkSyncCompleted',
      'BulkSyncStarted',
      'BulkSyncCompleted',
      'BulkSyncCompletenessWarned',
    ]);
    // The CLI says so in its summary (the next full run of the same source, still short).
    const cli = await sync(await server({ shortFiles: { Encounter: 10 } }), 'payer-d', [
      '--type',
      'Patient,Encounter',
    ]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('WARNING completeness: Encounter: 53 received, the manifest counts 63');
    expect(cli.stdout).not.toContain('completeness: ok');
  });

  it('completeness of an incremental run: a type held for the source dropping beyond the threshold from the previous run warns (summary, event)', async () => {
    const s = await server({});
    const first = await sync(s, 'payer-h', ['--type', 'Encounter']);
    expect(first.code).toBe(0);
    for (const line of data.get('Encounter')!.slice(0, 10))
      s.remove('Encounter', (JSON.parse(line) as { id: string }).id);
    const second = await sync(s, 'payer-h', ['--type', 'Encounter', '--since', 'auto']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/deleted\s+1\s+10\s+10\s+10\s+0\s+0/);
    expect(second.stdout).toContain(
      'WARNING completeness: Encounter: 53 held for the source, 63 after the previous run',
    );
    const events = await streamEvents(harness, 'payer-h');
    expect(events.map((e) => e.type)).toEqual([
      'BulkSyncStarted',
      'BulkSyncCompleted',
      'BulkSyncStarted',
      'BulkSyncCompleted',
      'BulkSyncCompletenessWarned',
    ]);
    expect([events[1].data.held, events[3].data.held]).toEqual([{ Encounter: 63 }, { Encounter: 53 }]);
    expect(events[4].data.warnings).toEqual([
      { resourceType: 'Encounter', kind: 'held-drop-from-previous', expected: 63, actual: 53 },
    ]);
  });

  it('--to kafka publishes each resource keyed <Type>/<id>; the consumer records them with the export lineage', async () => {
    await ensureConsumer();
    const s = await server({});
    const result = await sync(s, 'payer-k', [...toKafka(), '--type', 'Patient,Immunization']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Immunization\s+2\s+97\s+97\s+97\s+0/);
    const expected = new Map([...idsPerType(data)].filter(([t]) => t === 'Patient' || t === 'Immunization'));
    const held = await eventually(
      () => heldBySource(harness, 'payer-k'),
      (h) => JSON.stringify([...h].sort()) === JSON.stringify([...expected].sort()),
      30_000,
    );
    expect(new Map([...held].sort())).toEqual(new Map([...expected].sort()));
    const origin = await harness.database.pool.query<{
      origin: { kafka: { key: string }; bulk: { fileUrl: string; line: number } };
    }>(
      `SELECT lineage->'origin' AS origin FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-k' AND resource_type = 'Patient'`,
    );
    for (const row of origin.rows) {
      expect(row.origin.kafka.key).toMatch(/^Patient\//);
      expect(row.origin.bulk.fileUrl).toContain('/files/');
      expect(row.origin.bulk.line).toBeGreaterThan(0);
    }
  });

  /** Lines 3 to 7 of the Patient file (after its 2 Patients): none can be recorded as a Patient. */
  const badPatientLines: { bytes: Buffer; code: string }[] = [
    { bytes: Buffer.from('this is not JSON'), code: 'not-json' },
    { bytes: Buffer.from('{"id":"no-type","active":true}'), code: 'missing-resource-type' },
    {
      bytes: Buffer.from('{"resourceType":"Observation","id":"stray","status":"final","code":{"text":"x"}}'),
      code: 'unexpected-resource-type',
    },
    { bytes: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), code: 'invalid-utf8' },
    { bytes: Buffer.alloc(MAX_LINE_BYTES + 1, 0x61), code: 'too-large' },
  ];
  const patientFileUrl = (s: BulkDataServer) =>
    [...s.files.keys()].find((u) => u.endsWith('/Patient-1.ndjson'))!;

  it('--to kafka dead-letters the lines that are not resources to <topic>.dlq with their bytes, codes and export lineage, counted as rejected', async () => {
    await ensureConsumer();
    const s = await server({ extraLines: { Patient: badPatientLines.map((l) => l.bytes) } });
    const result = await sync(s, 'payer-kr', [...toKafka(), '--type', 'Patient']);
    expect(result.stderr).not.toMatch(/^error/m);
    expect(result.code).toBe(0);
    // files, expected, received, published, rejected
    expect(result.stdout).toMatch(/Patient\s+1\s+7\s+7\s+2\s+5/);
    const kafka = new Kafka({ brokers: kafkaMock.brokers, logLevel: logLevel.NOTHING });
    const deadLetters = await readDeadLetters(kafka, 'bulk.dlq', 5, (d) => d.headers.source === 'payer-kr');
    const fileUrl = patientFileUrl(s);
    const byLine = new Map(
      deadLetters.map((d) => [(JSON.parse(d.headers['bulk-export']) as { line: number }).line, d]),
    );
    expect([...byLine.keys()].sort()).toEqual([3, 4, 5, 6, 7]);
    badPatientLines.forEach(({ bytes, code }, i) => {
      const d = byLine.get(i + 3)!;
      expect(d.headers['dlq-code']).toBe(code);
      expect(d.headers['dlq-reason'].length).toBeGreaterThan(0);
      expect(d.headers['correlation-id']).toBe(`${fileUrl}:${i + 3}`);
      expect(JSON.parse(d.headers['bulk-export'])).toMatchObject({ server: s.base, fileUrl, line: i + 3 });
      // The bytes as they came; a line over the limit was never held, its file URL and line say where it is.
      if (code === 'too-large') expect(d.value).toBeNull();
      else expect(d.value).toEqual(bytes);
    });
    // The two Patients went through the topic and were recorded; nothing of the bad lines was.
    const held = await eventually(
      () => heldBySource(harness, 'payer-kr'),
      (h) => (h.get('Patient') ?? []).length === 2,
      30_000,
    );
    expect(held).toEqual(new Map([['Patient', idsPerType(data).get('Patient')]]));
  });

  it('--to store records the same lines as IngestionRejected, each naming the export file and line', async () => {
    const s = await server({ extraLines: { Patient: badPatientLines.map((l) => l.bytes) } });
    const result = await sync(s, 'payer-sr', ['--type', 'Patient']);
    expect(result.code).toBe(0);
    // files, expected, received, recorded, unchanged, rejected
    expect(result.stdout).toMatch(/Patient\s+1\s+7\s+7\s+2\s+0\s+5/);
    const rejected = await harness.database.pool.query<{
      code: string;
      bulk: { fileUrl: string; line: number; statusUrl: string };
    }>(
      `SELECT data->>'code' AS code, data->'origin'->'bulk' AS bulk FROM events
        WHERE type = 'IngestionRejected' AND data->>'source' = 'payer-sr' ORDER BY (data->'origin'->'bulk'->>'line')::int`,
    );
    const fileUrl = patientFileUrl(s);
    expect(rejected.rows.map((r) => [r.code, r.bulk.fileUrl, r.bulk.line])).toEqual(
      badPatientLines.map(({ code }, i) => [code, fileUrl, i + 3]),
    );
    expect(await heldBySource(harness, 'payer-sr')).toEqual(
      new Map([['Patient', idsPerType(data).get('Patient')]]),
    );
  });

  it('Ctrl-C cancels the export at the server (DELETE on the status URL) and records the run as cancelled', async () => {
    const s = await server({ pollsBeforeComplete: 1000 });
    const result = await sync(s, 'payer-e', [], (child) => {
      const timer = setInterval(() => {
        if (s.requests.some((r) => r.path.startsWith('/status/') && r.status === 202)) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 50);
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/cancelled: the export .* was deleted at the server \(202\)/);
    expect(s.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([202]);
    expect((await streamEvents(harness, 'payer-e')).map((e) => e.type)).toEqual([
      'BulkSyncStarted',
      'BulkSyncCancelled',
    ]);
  });

  it('--every syncs again at each interval with the last transactionTime as _since, until Ctrl-C', async () => {
    const s = await server({});
    const result = await sync(
      s,
      'payer-g',
      ['--every', '1s', '--since', 'auto', '--type', 'Patient'],
      (child) => {
        let out = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.split('completeness:').length - 1 === 2) child.kill('SIGINT');
        });
      },
    );
    expect(result.code).toBe(130);
    const kickOffs = s.requests.filter((r) => r.path.endsWith('/$export'));
    expect(kickOffs).toHaveLength(2);
    const completed = (await streamEvents(harness, 'payer-g')).filter((e) => e.type === 'BulkSyncCompleted');
    expect(completed).toHaveLength(2);
    expect(kickOffs[0].query._since).toBeUndefined();
    expect(kickOffs[1].query._since).toBe(completed[0].data.transactionTime);
    expect(result.stdout).toMatch(/Patient\s+1\s+2\s+2\s+2\s+0\s+0/);
  });

  it('a kill -9 mid-run, then a rerun: every resource held exactly once, nothing missed', async () => {
    const s = await server({ stall: ['Observation'] });
    const killed = await sync(s, 'payer-f', ['--parallel', '1', '--batch-size', '20'], (child) => {
      const timer = setInterval(() => {
        if (s.requests.some((r) => r.path.includes('/Observation-'))) {
          clearInterval(timer);
          setTimeout(() => child.kill('SIGKILL'), 300);
        }
      }, 50);
    });
    expect(killed.signal).toBe('SIGKILL');
    const partial = await heldBySource(harness, 'payer-f');
    expect(partial.size).toBeGreaterThan(0);
    s.faults.stall = [];
    const rerun = await sync(s, 'payer-f', ['--since', 'auto']);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/the previous run .* did not finish: the server still has its export/);
    // The killed run's export was continued, not exported again.
    expect(s.requests.filter((r) => r.path.endsWith('/$export') && r.status === 202)).toHaveLength(1);
    expect(rerun.stdout).toContain('(full export)');
    expect(await heldBySource(harness, 'payer-f')).toEqual(idsPerType(data));
    const versions = await harness.database.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-f' AND version_id > 1`,
    );
    expect(Number(versions.rows[0].n)).toBe(0);
    expect(rerun.stdout).toMatch(/Encounter\s+2\s+63\s+63\s+0\s+63\s+0/);
  });

  /** Kills the CLI with -9 once the server has answered a status poll of this run with 202. */
  const killWhileExporting = (s: BulkDataServer) => {
    const from = s.requests.length;
    return (child: ChildProcess) => {
      const timer = setInterval(() => {
        if (s.requests.slice(from).some((r) => r.path.startsWith('/status/') && r.status === 202)) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 50);
    };
  };
  const kickOffs = (s: BulkDataServer) =>
    s.requests.filter((r) => r.path.endsWith('/$export') && r.status === 202);

  it('a kill -9 after kick-off while the export runs, then a rerun: the rerun continues that export from its status URL (one kick-off), every resource held once', async () => {
    const s = await server({ pollsBeforeComplete: 1000 });
    const killed = await sync(s, 'payer-r', [], killWhileExporting(s));
    expect(killed.signal).toBe('SIGKILL');
    const before = await streamEvents(harness, 'payer-r');
    expect(before.map((e) => e.type)).toEqual(['BulkSyncStarted']);
    // The server keeps the job running for the rerun's first two polls, then completes it.
    s.faults.pollsBeforeComplete = s.requests.filter((r) => r.path.startsWith('/status/')).length + 2;
    const rerun = await sync(s, 'payer-r', ['--since', 'auto']);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/the server still has its export \(202\); continuing it/);
    expect(kickOffs(s)).toHaveLength(1);
    expect(await heldBySource(harness, 'payer-r')).toEqual(idsPerType(data));
    const versions = await harness.database.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'payer-r' AND version_id > 1`,
    );
    expect(Number(versions.rows[0].n)).toBe(0);
    const events = await streamEvents(harness, 'payer-r');
    expect(events.map((e) => e.type)).toEqual(['BulkSyncStarted', 'BulkSyncResumed', 'BulkSyncCompleted']);
    const statusUrl = before[0].data.statusUrl;
    expect(events[1].data).toMatchObject({ statusUrl, status: 202 });
    expect(events[2].data.statusUrl).toBe(statusUrl);
  });

  it('a kill -9 after kick-off, the export then expired at the server (410): the rerun records the old run failed and kicks off anew with the same _since', async () => {
    const s = await server({});
    const first = await sync(s, 'payer-x', ['--type', 'Patient']);
    expect(first.code).toBe(0);
    s.faults.pollsBeforeComplete = 1000;
    const args = ['--type', 'Patient', '--since', 'auto'];
    const killed = await sync(s, 'payer-x', args, killWhileExporting(s));
    expect(killed.signal).toBe('SIGKILL');
    s.expireJobs();
    s.faults.pollsBeforeComplete = 0;
    const rerun = await sync(s, 'payer-x', args);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/the server no longer has the export \(410\): kicked off anew from /);
    const events = await streamEvents(harness, 'payer-x');
    expect(events.map((e) => e.type)).toEqual([
      'BulkSyncStarted',
      'BulkSyncCompleted',
      'BulkSyncStarted',
      'BulkSyncFailed',
      'BulkSyncStarted',
      'BulkSyncCompleted',
    ]);
    expect(events[3].data.statusUrl).toBe(events[2].data.statusUrl);
    const since = events[1].data.transactionTime;
    expect(kickOffs(s).map((r) => r.query._since)).toEqual([undefined, since, since]);
    expect(events[4].data.since).toBe(since);
    expect(
      s.requests.some(
        (r) => r.path === new URL(String(events[2].data.statusUrl)).pathname && r.status === 410,
      ),
    ).toBe(true);
  });
});
