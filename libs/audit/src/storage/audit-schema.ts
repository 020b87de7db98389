import type { Pool } from 'pg';
import { migrateUnderLock } from '@fa/platform';
import { GENESIS_HASH } from '../domain/audit-chain';

/**
 * The audit log: `records` is append-only, each row a record (the hashed JSON) with its place in the chain;
 * `chain` is one row holding the chain's id (named by its anchors) and its head, locked by each batch so
 * writers in several processes extend one chain. Searches use expression indexes over the record itself, so
 * nothing outside the hashed JSON can be changed to mislead them.
 */
export const AUDIT_SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.chain (
  id smallint PRIMARY KEY CHECK (id = 1),
  chain_id uuid NOT NULL DEFAULT gen_random_uuid(),
  head_seq bigint NOT NULL,
  head_hash text NOT NULL
);
INSERT INTO audit.chain (id, head_seq, head_hash) VALUES (1, 0, '${GENESIS_HASH}') ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS audit.records (
  seq bigint PRIMARY KEY,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  record jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS records_recorded ON audit.records ((record->>'recorded'));
CREATE INDEX IF NOT EXISTS records_client ON audit.records ((record->>'client'), seq);
CREATE INDEX IF NOT EXISTS records_patients ON audit.records USING gin ((record->'patients') jsonb_path_ops);
`;

/** Creates the audit tables if missing; safe from several processes at once. */
export function migrateAudit(pool: Pool): Promise<void> {
  return migrateUnderLock(pool, 7431014, AUDIT_SCHEMA_SQL);
}
