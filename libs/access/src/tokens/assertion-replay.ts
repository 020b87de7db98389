import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { migrateUnderLock, PG_POOL } from '@fa/platform';

/**
 * The `jti`s of client assertions already used, until the assertion expires: RFC 7523 §3 lets a server refuse
 * a JWT it has seen. Kept in PostgreSQL, so every process of the deployment refuses a replay.
 */
export const ASSERTION_REPLAY_SQL = `
CREATE TABLE IF NOT EXISTS access_assertion_jtis (
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX IF NOT EXISTS access_assertion_jtis_expiry ON access_assertion_jtis (expires_at);
`;

const PURGE_EVERY = 500;

@Injectable()
export class AssertionReplayGuard implements OnModuleInit {
  private uses = 0;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  onModuleInit(): Promise<void> {
    return migrateUnderLock(this.pool, 7431020, ASSERTION_REPLAY_SQL);
  }

  /** Records the jti; false when the client already used it in an assertion that has not expired. */
  async firstUse(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    if (++this.uses % PURGE_EVERY === 0)
      await this.pool.query('DELETE FROM access_assertion_jtis WHERE expires_at < now()');
    const { rowCount } = await this.pool.query(
      `INSERT INTO access_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
        WHERE access_assertion_jtis.expires_at < now()`,
      [clientId, jti, expiresAt],
    );
    return rowCount === 1;
  }
}
