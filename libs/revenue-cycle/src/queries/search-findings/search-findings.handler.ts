import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { patientScope } from '../patient-scope';
import { FindingRow, RevenueCycleReader } from '../revenue-cycle.reader';
import { ReadFindingQuery, SearchFindingsOutcome, SearchFindingsQuery } from './search-findings.query';

@QueryHandler(SearchFindingsQuery)
export class SearchFindingsHandler implements IQueryHandler<SearchFindingsQuery, SearchFindingsOutcome> {
  constructor(
    private readonly reader: RevenueCycleReader,
    private readonly queryBus: QueryBus,
  ) {}

  async execute({ search }: SearchFindingsQuery): Promise<SearchFindingsOutcome> {
    let patientIds: string[] | undefined;
    if (search.patientId !== undefined) {
      const scope = await patientScope(this.queryBus, search.patientId, search.asOf);
      if (!scope) return { status: 'patient-not-found' };
      patientIds = [...(scope.goldenPatientId ? [scope.goldenPatientId] : []), ...scope.sourcePatientIds];
    }
    return { status: 'found', ...(await this.reader.findings({ ...search, patientIds })) };
  }
}

@QueryHandler(ReadFindingQuery)
export class ReadFindingHandler implements IQueryHandler<ReadFindingQuery, FindingRow | undefined> {
  constructor(private readonly reader: RevenueCycleReader) {}

  execute(query: ReadFindingQuery): Promise<FindingRow | undefined> {
    return this.reader.finding(query.findingId, query.asOf);
  }
}
