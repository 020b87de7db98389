import { IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import type { Patient } from 'fhir/r4';
import { parseSearchRequest, r4SearchParameters } from '@fa/fhir';
import { SearchResourcesQuery } from '@fa/fhir-store';
import { defaultComparators, fitParameters, matchFeaturesOf } from '../../domain/matching';
import { FitIdentityModelQuery, FitIdentityModelResult } from './fit-identity-model.query';

const PAGE = 1000;

@QueryHandler(FitIdentityModelQuery)
export class FitIdentityModelHandler implements IQueryHandler<FitIdentityModelQuery, FitIdentityModelResult> {
  constructor(private readonly queryBus: QueryBus) {}

  async execute(query: FitIdentityModelQuery): Promise<FitIdentityModelResult> {
    // The current Patients, read through the FHIR store's own search, page by page.
    const features: ReturnType<typeof matchFeaturesOf>[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const request = parseSearchRequest(
        'Patient',
        { _count: String(PAGE), _offset: String(offset) },
        r4SearchParameters(),
      );
      const page = await this.queryBus.execute(new SearchResourcesQuery(request));
      for (const version of page.matches) features.push(matchFeaturesOf(version.resource as Patient));
      if (!page.hasMore) break;
    }
    const patients = features.length;
    if (patients < 2) {
      return {
        status: 'nothing-to-learn',
        patients,
        reason: 'The store holds fewer than two Patients to learn from',
      };
    }
    const fit = fitParameters(features, defaultComparators(), { seed: query.seed });
    const finite = [
      fit.parameters.priorMatchProbability,
      ...fit.parameters.fields.flatMap((f) => [...f.m, ...f.u]),
    ];
    if (fit.blockedPairs === 0 || !finite.every(Number.isFinite)) {
      return {
        status: 'nothing-to-learn',
        patients,
        reason: `No pairs of ${patients} patients share a blocking key, so there is nothing to learn from; keep the shipped model`,
      };
    }
    return {
      status: 'fitted',
      parameters: fit.parameters,
      patients,
      blockedPairs: fit.blockedPairs,
      expectedMatches: fit.expectedMatches,
      converged: fit.converged,
      iterations: fit.iterations,
      sessions: fit.sessions,
    };
  }
}
