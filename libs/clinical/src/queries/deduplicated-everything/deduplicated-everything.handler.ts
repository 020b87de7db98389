import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { factProvenance } from '../../domain/clinical-record';
import { ClinicalRecordQuery } from '../clinical-record/clinical-record.query';
import { DeduplicatedEverythingQuery, DeduplicatedEverythingResult } from './deduplicated-everything.query';

@QueryHandler(DeduplicatedEverythingQuery)
export class DeduplicatedEverythingHandler implements IQueryHandler<
  DeduplicatedEverythingQuery,
  DeduplicatedEverythingResult
> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute({ criteria }: DeduplicatedEverythingQuery): Promise<DeduplicatedEverythingResult> {
    const record = await this.queryBus.execute(
      new ClinicalRecordQuery(criteria.patientId, criteria.asOf, {
        types: criteria.types,
        since: criteria.since,
      }),
    );
    if (record.status !== 'found') return record;
    const page = record.entries.slice(criteria.offset, criteria.offset + criteria.count);
    return {
      status: 'found',
      entries: page,
      provenances: page.filter((e) => e.sources.length > 1).map(factProvenance),
      total: record.entries.length,
      hasMore: criteria.offset + criteria.count < record.entries.length,
    };
  }
}
