import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { PatientEverythingQuery } from '@fa/fhir-store';
import { GoldenPatientQuery } from '../golden-patient/golden-patient.query';
import {
  GoldenEverythingEntry,
  GoldenPatientEverythingQuery,
  GoldenPatientEverythingResult,
} from './golden-patient-everything.query';

/** Each member's whole answer is gathered, then the union is paged. */
const MAX_EVERYTHING_UNION = 100_000;

@QueryHandler(GoldenPatientEverythingQuery)
export class GoldenPatientEverythingHandler implements IQueryHandler<
  GoldenPatientEverythingQuery,
  GoldenPatientEverythingResult
> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute({ criteria }: GoldenPatientEverythingQuery): Promise<GoldenPatientEverythingResult> {
    const golden = await this.queryBus.execute(new GoldenPatientQuery(criteria.patientId, criteria.asOf));
    if (golden.status === 'merged') return { status: 'merged', at: golden.at };
    if (golden.status !== 'found') return { status: 'not-found' };
    const seen = new Set<string>();
    const entries: GoldenEverythingEntry[] = [];
    for (const link of golden.links) {
      // Members' compartments come from the FHIR store's own query, as of the same instant.
      const member = await this.queryBus.execute(
        new PatientEverythingQuery({
          ...criteria,
          patientId: link.sourcePatientId,
          offset: 0,
          count: MAX_EVERYTHING_UNION,
        }),
      );
      if (member.status !== 'found') continue;
      for (const version of member.entries) {
        const key = `${version.resourceType}/${version.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push(version);
      }
    }
    const goldenFirst: GoldenEverythingEntry[] =
      !criteria.types || criteria.types.includes('Patient')
        ? [{ resourceType: 'Patient', id: criteria.patientId, resource: golden.patient }]
        : [];
    const all = [...goldenFirst, ...entries];
    return {
      status: 'found',
      entries: all.slice(criteria.offset, criteria.offset + criteria.count),
      total: all.length,
      hasMore: criteria.offset + criteria.count < all.length,
    };
  }
}
