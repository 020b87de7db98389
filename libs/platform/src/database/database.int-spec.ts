import { createTestDatabase } from '@fa/testkit';

describe('test database', () => {
  it('is a real PostgreSQL with xid8 snapshot functions', async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query(
      'SELECT pg_current_xact_id()::text AS xid, current_setting($1) AS v',
      ['server_version_num'],
    );
    expect(Number(rows[0].v)).toBeGreaterThanOrEqual(130000);
    expect(rows[0].xid).toMatch(/^\d+$/);
    await db.drop();
  });
});
