import { createTestDatabase, type TestDatabase } from '@fa/testkit';
import { ViewRowsBatch } from './view-rows-batch';
import { ViewRowsProjection } from './view-rows.projection';

describe('ViewRowsBatch: one window of versions written in a few statements, ranges as one by one', () => {
  let database: TestDatabase;
  const schema = 'analytics_batch_test';
  const t = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

  beforeAll(async () => {
    database = await createTestDatabase(2);
    const client = await database.pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await new ViewRowsProjection(undefined as never).setup(client, schema);
    } finally {
      client.release();
    }
  });
  afterAll(() => database.drop());

  const rows = async () =>
    (
      await database.pool.query(
        `SELECT resource_id, row_number, row->>'v' AS v, recorded_from, recorded_to FROM ${schema}.view_rows
          ORDER BY resource_id, recorded_from, row_number`,
      )
    ).rows.map((r) => [
      r.resource_id,
      r.row_number,
      r.v,
      r.recorded_from.getUTCMinutes(),
      r.recorded_to?.getUTCMinutes() ?? null,
    ]);

  it('closes rows inserted in the same window in memory and earlier ones in the database', async () => {
    const client = await database.pool.connect();
    try {
      const first = new ViewRowsBatch(schema);
      first.close('v', 'r1', t(1));
      first.insert('v', 'r1', [{ v: 'a' }, { v: 'b' }], t(1));
      first.close('v', 'r2', t(1));
      first.insert('v', 'r2', [{ v: 'x' }], t(1));
      // A second version of r1 in the same window: its rows end where the new ones begin.
      first.close('v', 'r1', t(2));
      first.insert('v', 'r1', [{ v: 'c' }], t(2));
      first.error('v', 'r3', 'select[0].column[0].path', 'gave 2 values', t(2));
      await first.flush(client);
      expect(await rows()).toEqual([
        ['r1', 0, 'a', 1, 2],
        ['r1', 1, 'b', 1, 2],
        ['r1', 0, 'c', 2, null],
        ['r2', 0, 'x', 1, null],
      ]);
      // The next window: r2 deleted (closed, no rows), r1 closed in the database and given a new version.
      const second = new ViewRowsBatch(schema);
      second.close('v', 'r2', t(3));
      second.close('v', 'r1', t(4));
      second.insert('v', 'r1', [{ v: 'd' }], t(4));
      await second.flush(client);
      expect(await rows()).toEqual([
        ['r1', 0, 'a', 1, 2],
        ['r1', 1, 'b', 1, 2],
        ['r1', 0, 'c', 2, 4],
        ['r1', 0, 'd', 4, null],
        ['r2', 0, 'x', 1, 3],
      ]);
      const errors = await database.pool.query(`SELECT resource_id, element FROM ${schema}.view_errors`);
      expect(errors.rows).toEqual([{ resource_id: 'r3', element: 'select[0].column[0].path' }]);
    } finally {
      client.release();
    }
  });
});
