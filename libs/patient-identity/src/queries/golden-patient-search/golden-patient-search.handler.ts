import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import { GoldenPatientQuery } from '../golden-patient/golden-patient.query';
import { IdentityReader } from '../identity.reader';
import { GoldenPatientSearchQuery, GoldenPatientSearchResult } from './golden-patient-search.query';

@QueryHandler(GoldenPatientSearchQuery)
export class GoldenPatientSearchHandler implements IQueryHandler<
  GoldenPatientSearchQuery,
  GoldenPatientSearchResult
> {
  constructor(
    private readonly reader: IdentityReader,
    private readonly queryBus: QueryBus,
  ) {}

  async execute(query: GoldenPatientSearchQuery): Promise<GoldenPatientSearchResult> {
    const { asOf, ids, offset, count } = query.criteria;
    const page = await this.reader.goldenIds({ asOf, ids, offset, limit: count });
    const patients: Patient[] = [];
    for (const goldenId of page.ids) {
      const outcome = await this.queryBus.execute(new GoldenPatientQuery(goldenId, asOf));
      if (outcome.status === 'found') patients.push(outcome.patient);
    }
    return { patients, hasMore: page.hasMore };
  }
}
