import type { Pool } from 'pg';
import { migrateUnderLock } from '@fa/platform';

/** LISTEN/NOTIFY channel told of every commit that appended events. */
export const EVENTS_APPENDED_CHANNEL = 'fa_events_appended';

/**
 * Schema of the PostgreSQL event store. `streams` holds each stream's last revision so that an append locks one
 * small row per stream (optimistic concurrency without scanning events); `events` is the global log.
 */
export const EVENT_STORE_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS streams (
  stream_id text PRIMARY KEY,
  revision integer NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id text NOT NULL,
  stream_revision integer NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Milliseconds, as clients see them in meta.lastUpdated: an _asOf copied from there must find that version.
  recorded_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  CONSTRAINT events_stream_revision_unique UNIQUE (stream_id, stream_revision),
  CONSTRAINT events_stream_event_id_unique UNIQUE (stream_id, event_id)
);
CREATE INDEX IF NOT EXISTS events_global_order ON events (transaction_id, global_position);
`;

/** Creates the tables if missing. Safe to run from several processes at once. */
export function migrateEventStore(pool: Pool): Promise<void> {
  // Serialises concurrent first starts (service + CLI) so CREATE IF NOT EXISTS does not race.
  return migrateUnderLock(pool, 7431001, EVENT_STORE_SCHEMA_SQL);
}
