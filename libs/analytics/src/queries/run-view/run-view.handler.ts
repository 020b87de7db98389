import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Resource } from 'fhir/r4';
import type { SearchRequest } from '@fa/fhir';
import { PatientEverythingQuery, SearchResourcesQuery } from '@fa/fhir-store';
import type { ViewRow } from '../../domain/view-definition';
import { RunViewCriteria, RunViewQuery, RunViewResult } from './run-view.query';

/** Resources read per page from the FHIR store (its largest page). */
export const RUN_VIEW_PAGE_SIZE = 1000;

interface Page {
  resources: Resource[];
  hasMore: boolean;
}

/**
 * Reads the view's resource type through the FHIR store's own queries (type search, or the patient's
 * compartment through $everything), every page pinned at the same instant, so the rows are one consistent
 * picture however long the run takes.
 */
@QueryHandler(RunViewQuery)
export class RunViewHandler implements IQueryHandler<RunViewQuery, RunViewResult> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute({ view, criteria }: RunViewQuery): Promise<RunViewResult> {
    const first = await this.page(view.resource, criteria, 0);
    if (first === 'patient-not-found') return { status: 'patient-not-found', patientId: criteria.patientId! };
    const rows = async function* (this: RunViewHandler): AsyncGenerator<ViewRow> {
      let page: Page = first;
      let offset = 0;
      let produced = 0;
      const limit = criteria.limit ?? Infinity;
      for (;;) {
        for (const resource of page.resources) {
          for (const row of view.rows(resource as unknown as Record<string, unknown>)) {
            if (produced >= limit) return;
            produced++;
            yield row;
          }
        }
        if (!page.hasMore || produced >= limit) return;
        offset += RUN_VIEW_PAGE_SIZE;
        const next = await this.page(view.resource, criteria, offset);
        if (next === 'patient-not-found') return;
        page = next;
      }
    }.call(this);
    return { status: 'found', rows };
  }

  private async page(
    resourceType: string,
    criteria: RunViewCriteria,
    offset: number,
  ): Promise<Page | 'patient-not-found'> {
    const { asOf, patientId } = criteria;
    if (patientId !== undefined && resourceType !== 'Patient') {
      const result = await this.queryBus.execute(
        new PatientEverythingQuery({
          patientId,
          asOf,
          types: [resourceType],
          count: RUN_VIEW_PAGE_SIZE,
          offset,
        }),
      );
      if (result.status !== 'found') return 'patient-not-found';
      return { resources: present(result.entries), hasMore: result.hasMore };
    }
    const request: SearchRequest = {
      resourceType,
      filters:
        patientId === undefined ? [] : [{ kind: 'id', parameter: '_id', values: [patientId], not: false }],
      sort: [{ column: '_id', descending: false }],
      count: RUN_VIEW_PAGE_SIZE,
      offset,
      totalMode: 'none',
      summaryCount: false,
      includes: [],
      revIncludes: [],
      asOf,
      unknown: [],
    };
    const result = await this.queryBus.execute(new SearchResourcesQuery(request));
    if (patientId !== undefined && offset === 0 && result.matches.length === 0) return 'patient-not-found';
    return { resources: present(result.matches), hasMore: result.hasMore };
  }
}

function present(versions: { resource: Resource | null; deleted: boolean }[]): Resource[] {
  return versions.flatMap((v) => (v.resource && !v.deleted ? [v.resource] : []));
}
