import type { Pool } from 'pg';
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
 * Appends access records to the hash chain with group commit: while one batch is being written, the records of
 * every request that arrives wait together, and go in the next batch — one INSERT and one commit
 * (synchronous_commit on: the WAL is fsynced before COMMIT returns) for all of them. `record` resolves only when
 * the record's batch is durable; the caller sends its response after that.
 */
export class AccessJournal {
  private waiting: Waiting[] = [];
  private writing = false;
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

  private async writeWaiting(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          await this.append(batch.map((w) => w.record));
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async append(records: AccessRecord[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      // One round trip opens the transaction, insists on a flushed commit whatever the server's default, and
      // locks the head row: writers in other processes queue here, so the chain stays one line.
      const opened = (await client.query(
        `BEGIN; SET LOCAL synchronous_commit = on;
         SELECT chain_id, head_seq, head_hash FROM audit.chain WHERE id = 1 FOR UPDATE`,
      )) as unknown as { rows: { chain_id: string; head_seq: string; head_hash: string }[] }[];
      const current = opened[2].rows[0];
      const { rows, head } = chainAfter({ seq: Number(current.head_seq), hash: current.head_hash }, records);
      await client.query(
        `WITH appended AS (
           INSERT INTO audit.records (seq, prev_hash, hash, record)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])
           RETURNING seq)
         UPDATE audit.chain SET head_seq = $5, head_hash = $6
         WHERE id = 1 AND (SELECT count(*) FROM appended) = $7`,
        [
          rows.map((r) => r.seq),
          rows.map((r) => r.prevHash),
          rows.map((r) => r.hash),
          rows.map((r) => JSON.stringify(r.record)),
          head.seq,
          head.hash,
          rows.length,
        ],
      );
      await client.query('COMMIT');
      this.batches++;
      this.records += rows.length;
      this.listener?.headMoved(current.chain_id, head);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
