import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { clinicalTimeline } from '../../domain/clinical-timeline';
import { ClinicalRecordQuery } from '../clinical-record/clinical-record.query';
import { ClinicalTimelineQuery, ClinicalTimelineResult } from './clinical-timeline.query';

@QueryHandler(ClinicalTimelineQuery)
export class ClinicalTimelineHandler implements IQueryHandler<ClinicalTimelineQuery, ClinicalTimelineResult> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute({ patientId, range, asOf }: ClinicalTimelineQuery): Promise<ClinicalTimelineResult> {
    const record = await this.queryBus.execute(new ClinicalRecordQuery(patientId, asOf));
    if (record.status !== 'found') return record;
    return {
      status: 'found',
      patientId,
      golden: record.golden,
      items: clinicalTimeline(record.entries, range.from, range.to),
    };
  }
}
