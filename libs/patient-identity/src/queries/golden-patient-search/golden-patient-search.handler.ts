import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import type { SearchRequest } from '@fa/fhir';
import { SearchResourcesQuery } from '@fa/fhir-store';
import { GoldenPatientQuery } from '../golden-patient/golden-patient.query';
import { IdentityReader } from '../identity.reader';
import { GoldenPatientSearchQuery, GoldenPatientSearchResult } from './golden-patient-search.query';

const PAGE = 1000;
const MEMBER_LIMIT = 10_000;

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
    const { asOf, offset, count, members } = query.criteria;
    let ids = query.criteria.ids;
    if (members) {
      const sourceIds = await this.matchingSourcePatients({ ...members, asOf });
      if (!sourceIds) return { status: 'too-broad', limit: MEMBER_LIMIT };
      const goldens = await this.reader.goldenIdsOfMembers(sourceIds, asOf);
      ids = ids ? ids.filter((id) => goldens.includes(id)) : goldens;
    }
    const page = await this.reader.goldenIds({ asOf, ids, offset, limit: count });
    const patients: Patient[] = [];
    for (const goldenId of page.ids) {
      const outcome = await this.queryBus.execute(new GoldenPatientQuery(goldenId, asOf));
      if (outcome.status === 'found') patients.push(outcome.patient);
    }
    return { status: 'found', patients, hasMore: page.hasMore };
  }

  /** The source patients the search matches, page by page; undefined past MEMBER_LIMIT. */
  private async matchingSourcePatients(search: SearchRequest): Promise<string[] | undefined> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.queryBus.execute(
        new SearchResourcesQuery({ ...search, offset, count: PAGE, includes: [], revIncludes: [] }),
      );
      ids.push(...page.matches.map((match) => match.id));
      if (ids.length > MEMBER_LIMIT) return undefined;
      if (!page.hasMore) return ids;
    }
  }
}
