import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  parseReference,
  parseSearchRequest,
  r4SearchParameters,
  SearchParameterError,
  SearchRequest,
} from '@fa/fhir';
import { provenanceOf, ResourceLineageQuery, SearchResourcesQuery } from '@fa/fhir-store';
import { FhirError } from '../../fhir-error';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { asOfParam, isStrict, QueryParams, resourceTypeParam, single, versionIdParam } from '../fhir-params';
import { ignoredParametersOutcome, pageLinks, searchBundle } from './search-bundle';

/**
 * Search by GET and POST over the search index, now or as of an instant. `Provenance?target=` is answered from
 * our lineage (one Provenance per recorded version of the target); any other Provenance search searches the
 * Provenance resources sources sent.
 */
@ApiExcludeController()
@Controller('fhir')
export class SearchController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':type')
  async search(
    @Param('type') type: string,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    if (resourceType === 'Provenance' && params.target !== undefined)
      return this.lineage(params, request, response);
    await this.runSearch(resourceType, params, prefer, request, response);
  }

  /** Search by POST: parameters in a form body (and the query string), as FHIR clients send long queries. */
  @Post(':type/_search')
  async searchByPost(
    @Param('type') type: string,
    @Query() params: QueryParams,
    @Body() body: unknown,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const merged: QueryParams = { ...params };
    if (body && typeof body === 'object') {
      for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
        const values = (Array.isArray(value) ? value : [value]).filter(
          (v): v is string => typeof v === 'string',
        );
        const existing = merged[key];
        const all = [
          ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
          ...values,
        ];
        merged[key] = all.length === 1 ? all[0] : all;
      }
    }
    await this.runSearch(resourceTypeParam(type), merged, prefer, request, response, `/${type}`);
  }

  private async lineage(params: QueryParams, request: Request, response: Response) {
    const target = single(params, 'target')!;
    const parsed = parseReference(target);
    if (parsed.kind !== 'literal' || parsed.base) {
      throw FhirError.badRequest(
        `target must be a relative reference <Type>/<id>, got ${JSON.stringify(target.slice(0, 100))}`,
        'target',
      );
    }
    const versionId = parsed.version === undefined ? undefined : versionIdParam(parsed.version);
    const versions = await this.queryBus.execute(
      new ResourceLineageQuery(parsed.resourceType, parsed.id, asOfParam(params), versionId),
    );
    const base = fhirBaseUrl(request);
    const matches = versions.map(provenanceOf).map((resource) => ({
      resourceType: 'Provenance',
      id: resource.id!,
      resource,
    }));
    const self = `${base}${request.url.replace(/^\/fhir/, '')}`;
    sendFhir(response, searchBundle({ base, links: { self }, matches, total: matches.length }));
  }

  private async runSearch(
    resourceType: string,
    params: QueryParams,
    prefer: string | undefined,
    request: Request,
    response: Response,
    path = request.path.replace(/^\/fhir/, ''),
  ) {
    let search: SearchRequest;
    try {
      search = parseSearchRequest(resourceType, params, r4SearchParameters());
    } catch (error) {
      if (error instanceof SearchParameterError) throw FhirError.badRequest(error.message, error.parameter);
      throw error;
    }
    if (search.unknown.length > 0 && isStrict(prefer)) {
      throw FhirError.badRequest(
        `Unknown search parameter${search.unknown.length > 1 ? 's' : ''} ${search.unknown.join(', ')} for ${resourceType} (Prefer: handling=strict)`,
        search.unknown[0],
      );
    }
    const pinnedAt = search.asOf ?? new Date();
    const result = await this.queryBus.execute(new SearchResourcesQuery(search));
    const base = fhirBaseUrl(request);
    const links = pageLinks(base, path, params, {
      offset: search.offset,
      count: search.count,
      hasMore: result.hasMore,
      pinnedAt,
    });
    sendFhir(
      response,
      searchBundle({
        base,
        links,
        matches: result.matches,
        included: result.included,
        total: result.total,
        elements: search.elements,
        outcome: ignoredParametersOutcome(search.unknown),
      }),
    );
  }
}
