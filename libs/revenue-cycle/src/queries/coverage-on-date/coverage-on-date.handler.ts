import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { patientScope } from '../patient-scope';
import { RevenueCycleReader } from '../revenue-cycle.reader';
import { CoverageOnDateOutcome, CoverageOnDateQuery } from './coverage-on-date.query';

@QueryHandler(CoverageOnDateQuery)
export class CoverageOnDateHandler implements IQueryHandler<CoverageOnDateQuery, CoverageOnDateOutcome> {
  constructor(
    private readonly reader: RevenueCycleReader,
    private readonly queryBus: QueryBus,
  ) {}

  async execute(query: CoverageOnDateQuery): Promise<CoverageOnDateOutcome> {
    const scope = await patientScope(this.queryBus, query.patientId, query.asOf);
    if (!scope) return { status: 'patient-not-found' };
    const periods = await this.reader.coverage(scope.sourcePatientIds, query.asOf, query.date, query.payer);
    const covered = periods.some((p) => p.status !== 'cancelled' && p.status !== 'entered-in-error');
    return { status: 'found', scope, covered, periods };
  }
}
