import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { patientScope } from '../patient-scope';
import { RevenueCycleReader } from '../revenue-cycle.reader';
import { PatientClaimsOutcome, PatientClaimsQuery } from './patient-claims.query';

@QueryHandler(PatientClaimsQuery)
export class PatientClaimsHandler implements IQueryHandler<PatientClaimsQuery, PatientClaimsOutcome> {
  constructor(
    private readonly reader: RevenueCycleReader,
    private readonly queryBus: QueryBus,
  ) {}

  async execute(query: PatientClaimsQuery): Promise<PatientClaimsOutcome> {
    const scope = await patientScope(this.queryBus, query.patientId, query.asOf);
    if (!scope) return { status: 'patient-not-found' };
    const claims = await this.reader.claimsOf(scope.sourcePatientIds, query.asOf, query.from, query.to);
    return { status: 'found', scope, claims };
  }
}
