import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '@fa/platform';
import { AccessRecord } from '../../events/access-recorded.event';
import { AuditSearchPage, SearchAuditEventsQuery } from './search-audit-events.query';

interface Row {
  seq: string;
  prev_hash: string;
  hash: string;
  record: AccessRecord;
}

@QueryHandler(SearchAuditEventsQuery)
export class SearchAuditEventsHandler implements IQueryHandler<SearchAuditEventsQuery, AuditSearchPage> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ criteria }: SearchAuditEventsQuery): Promise<AuditSearchPage> {
    if (criteria.count === 0) return { records: [] };
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    if (criteria.patient !== undefined)
      where.push(`record->'patients' @> ${param(JSON.stringify([criteria.patient]))}::jsonb`);
    if (criteria.patientMissing !== undefined)
      where.push(`jsonb_array_length(record->'patients') ${criteria.patientMissing ? '=' : '>'} 0`);
    if (criteria.agentMissing !== undefined)
      where.push(`record->>'client' IS ${criteria.agentMissing ? '' : 'NOT '}NULL`);
    if (criteria.agent === null) where.push(`record->>'client' IS NULL`);
    else if (criteria.agent !== undefined) where.push(`record->>'client' = ${param(criteria.agent)}`);
    // Record times are ISO instants in UTC with milliseconds: their text sorts as time does.
    if (criteria.recordedFrom)
      where.push(`record->>'recorded' >= ${param(criteria.recordedFrom.toISOString())}`);
    if (criteria.recordedBefore)
      where.push(`record->>'recorded' < ${param(criteria.recordedBefore.toISOString())}`);
    if (criteria.beforeSeq !== undefined) where.push(`seq < ${param(criteria.beforeSeq)}`);
    const { rows } = await this.pool.query<Row>(
      `SELECT seq, prev_hash, hash, record FROM audit.records
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT ${param(criteria.count + 1)}`,
      values,
    );
    const records = rows.slice(0, criteria.count).map((r) => ({
      seq: Number(r.seq),
      prevHash: r.prev_hash,
      hash: r.hash,
      record: r.record,
    }));
    return {
      records,
      nextBeforeSeq: rows.length > criteria.count ? records[records.length - 1]?.seq : undefined,
    };
  }
}
