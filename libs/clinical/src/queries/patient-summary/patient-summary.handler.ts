import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { ipsDocument } from '../../domain/ips-summary';
import { ClinicalRecordQuery } from '../clinical-record/clinical-record.query';
import { PatientSummaryQuery, PatientSummaryResult } from './patient-summary.query';

@QueryHandler(PatientSummaryQuery)
export class PatientSummaryHandler implements IQueryHandler<PatientSummaryQuery, PatientSummaryResult> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute({ patientId, base, asOf }: PatientSummaryQuery): Promise<PatientSummaryResult> {
    const record = await this.queryBus.execute(new ClinicalRecordQuery(patientId, asOf));
    if (record.status !== 'found') return record;
    if (!record.patient) return { status: 'not-found' };
    const at = asOf ?? new Date();
    return {
      status: 'found',
      bundle: ipsDocument({ base, patient: record.patient, entries: record.entries, at, asOf }),
    };
  }
}
