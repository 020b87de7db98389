import type { Pool, PoolClient } from 'pg';
import { chainAfter, ChainHead } from '../domain/audit-chain';
import type { AccessRecord } from '../events/access-recorded.event';

interface Waiting {
  record: AccessRecord;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Told of the chain head after each committed batch (the anchor writer). */
export interface ChainHeadListener {
  headMoved(chainId: string, head: ChainHead): void;
}

const MAX_BATCH = 1000;

/**
 * Moves the head only from where this writer believes it is, and inserts the batch only if it moved: one
 * statement, so one round trip and one commit. Zero rows: another process moved the head; read it and retry.
 */
const APPEND_SQL = `
WITH moved AS (
  UPDATE audit.chain SET head_seq = $7, head_hash = $8
  WHERE id = 1 AND head_seq = $5 AND head_hash = $6
  RETURNING 1)
INSERT INTO audit.records (seq, prev_hash, hash, record)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[]) WHERE EXISTS (SELECT 1 FROM moved)
RETURNING seq`;

/**
 * Appends access records to the hash chain with group commit: while one batch is being written, the records of
 * every request that arrives wait together and go in the next batch — one statement and one commit for all of
 * them, with synchronous_commit on (the WAL is fsynced before the commit returns). `record` resolves only when
 * its batch is durable; the caller sends its response after that. The journal keeps one connection of the pool
 * for itself, so an answer never waits for a connection behind the queries it audits.
 */
export class AccessJournal {
  private waiting: Waiting[] = [];
  private writing = false;
  private connection?: PoolClient;
  private head?: { chainId: string; head: ChainHead };
  batches = 0;
  records = 0;

  constructor(
    private readonly pool: Pool,
    private readonly listener?: ChainHeadListener,
  ) {}

  record(record: AccessRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ record, resolve, reject });
      if (!this.writing) void this.writeWaiting();
    });
  }

  /** Gives the journal's connection back to the pool (at shutdown, before the pool closes). */
  async close(): Promise<void> {
    while (this.writing) await new Promise((resolve) => setTimeout(resolve, 5));
    this.connection?.release();
    this.connection = undefined;
  }

  private async writeWaiting(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          await this.append(batch.map((w) => w.record));
          for (const w of batch) w.resolve();
        } catch (error) {
          // The connection may be broken: the next batch starts from a fresh one and a re-read head.
          this.connection?.release(error instanceof Error ? error : true);
          this.connection = undefined;
          this.head = undefined;
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async append(records: AccessRecord[]): Promise<void> {
    if (!this.connection) {
      const connection = await this.pool.connect();
      try {
        await connection.query('SET synchronous_commit = on');
      } catch (error) {
        connection.release(true);
        throw error;
      }
      this.connection = connection;
    }
    for (;;) {
      this.head ??= await this.readHead(this.connection);
      const { chainId, head: from } = this.head;
      const { rows, head } = chainAfter(from, records);
      const result = await this.connection.query(APPEND_SQL, [
        rows.map((r) => r.seq),
        rows.map((r) => r.prevHash),
        rows.map((r) => r.hash),
        rows.map((r) => JSON.stringify(r.record)),
        from.seq,
        from.hash,
        head.seq,
        head.hash,
      ]);
      if (result.rowCount === rows.length) {
        this.head = { chainId, head };
        this.batches++;
        this.records += rows.length;
        this.listener?.headMoved(chainId, head);
        return;
      }
      this.head = undefined;
    }
  }

  private async readHead(connection: PoolClient): Promise<{ chainId: string; head: ChainHead }> {
    const {
      rows: [row],
    } = await connection.query<{ chain_id: string; head_seq: string; head_hash: string }>(
      'SELECT chain_id, head_seq, head_hash FROM audit.chain WHERE id = 1',
    );
    return { chainId: row.chain_id, head: { seq: Number(row.head_seq), hash: row.head_hash } };
  }
}
