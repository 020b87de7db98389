import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestDatabase, createTestDatabase } from '@fa/testkit';
import { FIXTURES, runCli } from './support/aggregator-harness';

async function count(database: TestDatabase, sql: string): Promise<number> {
  return Number((await database.pool.query<{ n: string }>(sql)).rows[0].n);
}

describe('cli ingest (a separate process on a real PostgreSQL)', () => {
  let database: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase(3);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fa-cli-'));
  });
  afterAll(async () => {
    await database.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports each bad line with its number and reason, and still records every valid line', async () => {
    const file = path.join(dir, 'mixed.ndjson');
    const lines = [
      JSON.stringify({ resourceType: 'Patient', id: 'p1', gender: 'female' }),
      'this is not JSON',
      JSON.stringify({
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/p1' },
      }),
      '[1, 2, 3]',
      JSON.stringify({ id: 'no-type' }),
      JSON.stringify({ resourceType: 'Unicorn', id: 'u1' }),
      JSON.stringify({
        resourceType: 'Basic',
        id: 'huge',
        text: { status: 'generated', div: 'x'.repeat(20 * 1024 * 1024) },
      }),
      JSON.stringify({ resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' } }),
      JSON.stringify({ resourceType: 'Patient', id: 'p-nul', name: [{ family: 'Sm\u0000ith' }] }),
    ];
    // Line 10: bytes that are not UTF-8 (before input hygiene, recorded with replacement characters).
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"resourceType":"Patient","id":"p-utf","name":[{"family":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}]}'),
    ]);
    await fs.writeFile(
      file,
      Buffer.concat([Buffer.from(lines.join('\n') + '\n'), invalidUtf8, Buffer.from('\n')]),
    );

    const result = await runCli(['ingest', '--source', 'clinic-b', file], database.url);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/read\s+10/);
    expect(result.stdout).toMatch(/recorded\s+3/);
    expect(result.stdout).toMatch(/rejected\s+7/);
    expect(result.stdout).toContain(
      `${file}:9: nul-character: the string at name[0].family holds a NUL character (U+0000) at character 2`,
    );
    expect(result.stdout).toContain(`${file}:10: invalid-utf8: not valid UTF-8`);
    expect(result.stdout).toContain(`${file}:2: not-json: not JSON`);
    expect(result.stdout).toContain(`${file}:4: not-a-resource: not a FHIR resource: a JSON array`);
    expect(result.stdout).toContain(`${file}:5: missing-resource-type`);
    expect(result.stdout).toContain(`${file}:6: unknown-resource-type: "Unicorn" is not an R4 resource type`);
    expect(result.stdout).toMatch(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7: too-large: line 7 is \\d+ bytes`),
    );

    expect(await count(database, `SELECT count(*) AS n FROM fhir_store.resource_versions`)).toBe(3);
    const rejected = await database.pool.query<{
      data: { code: string; origin: { file: { line: number } } };
    }>(`SELECT data FROM events WHERE stream_id = 'IngestionRejected-clinic-b' ORDER BY stream_revision`);
    expect(rejected.rows.map((r) => [r.data.origin.file.line, r.data.code])).toEqual([
      [2, 'not-json'],
      [4, 'not-a-resource'],
      [5, 'missing-resource-type'],
      [6, 'unknown-resource-type'],
      [7, 'too-large'],
      [9, 'nul-character'],
      [10, 'invalid-utf8'],
    ]);

    const again = await runCli(['ingest', '--source', 'clinic-b', file], database.url);
    expect(again.stdout).toMatch(/recorded\s+0/);
    expect(again.stdout).toMatch(/unchanged\s+3/);
    // 3 versions and 7 rejections; the second run adds none (identity decisions about the Patient are not ingestion).
    expect(
      await count(
        database,
        `SELECT count(*) AS n FROM events WHERE type IN ('ResourceVersionRecorded', 'ResourceDeleted', 'IngestionRejected')`,
      ),
    ).toBe(10);
  });

  it('rejects a bad source name and a missing path with a clear message', async () => {
    const badSource = await runCli(['ingest', '--source', 'no spaces!', FIXTURES], database.url);
    expect(badSource.code).not.toBe(0);
    expect(badSource.stderr).toMatch(/--source/);
    const missing = await runCli(['ingest', '--source', 'x', path.join(dir, 'nope.ndjson')], database.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT|no such file/);
  });

  it('after kill -9 mid-ingest, a rerun loses no resource and duplicates no version', async () => {
    const template = (
      await fs.readFile(path.join(FIXTURES, 'synthea-2-patients', 'Observation.ndjson'), 'utf8')
    )
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const total = 20_000;
    const generated = Array.from({ length: total }, (_, i) =>
      JSON.stringify({ ...template[i % template.length], id: `gen-${i}` }),
    );
    const file = path.join(dir, 'Observation-20k.ndjson');
    await fs.writeFile(file, generated.join('\n') + '\n');
    const args = ['ingest', '--source', 'crashy', '--batch-size', '200', file];
    const recordedSoFar = () =>
      count(
        database,
        `SELECT count(*) AS n FROM events WHERE stream_id LIKE 'Observation-%' AND metadata->>'source' = 'crashy'`,
      );

    let killedAt = 0;
    let child: ChildProcess | undefined;
    const first = runCli(args, database.url, { onSpawn: (spawned) => (child = spawned) });
    const watcher = (async () => {
      for (;;) {
        killedAt = await recordedSoFar();
        if (killedAt >= 3000) return true;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const firstResult = await Promise.race([first, watcher.then(() => undefined)]);
    expect(firstResult).toBeUndefined();
    child!.kill('SIGKILL');
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    const afterKill = await recordedSoFar();
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(total);

    const rerun = await runCli(args, database.url);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(new RegExp(`recorded\\s+${total - afterKill}\\b`));
    expect(rerun.stdout).toMatch(new RegExp(`unchanged\\s+${afterKill}\\b`));
    expect(await recordedSoFar()).toBe(total);
    expect(
      await count(
        database,
        `SELECT count(*) AS n FROM (SELECT stream_id FROM events WHERE metadata->>'source' = 'crashy' GROUP BY stream_id HAVING count(*) > 1) d`,
      ),
    ).toBe(0);
    expect(
      await count(
        database,
        `SELECT count(*) AS n FROM fhir_store.resource_versions WHERE lineage->>'source' = 'crashy'`,
      ),
    ).toBe(total);
  });
});
