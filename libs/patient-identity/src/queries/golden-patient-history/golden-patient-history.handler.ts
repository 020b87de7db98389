import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { GoldenPatientQuery } from '../golden-patient/golden-patient.query';
import { IdentityReader } from '../identity.reader';
import {
  GoldenPatientHistory,
  GoldenPatientHistoryQuery,
  GoldenPatientVersion,
} from './golden-patient-history.query';

@QueryHandler(GoldenPatientHistoryQuery)
export class GoldenPatientHistoryHandler implements IQueryHandler<
  GoldenPatientHistoryQuery,
  GoldenPatientHistory
> {
  constructor(
    private readonly reader: IdentityReader,
    private readonly queryBus: QueryBus,
  ) {}

  async execute(query: GoldenPatientHistoryQuery): Promise<GoldenPatientHistory> {
    if (!(await this.reader.golden(query.goldenId))) return { status: 'not-found' };
    const changes = (await this.reader.membershipChanges(query.goldenId)).filter((t) => t <= query.until);
    const versions: GoldenPatientVersion[] = [];
    for (const [index, recordedAt] of changes.entries()) {
      const outcome = await this.queryBus.execute(new GoldenPatientQuery(query.goldenId, recordedAt));
      versions.push({
        versionId: index + 1,
        recordedAt,
        ...(outcome.status === 'found' ? { patient: outcome.patient } : {}),
      });
    }
    return { status: 'found', versions: versions.reverse() };
  }
}
