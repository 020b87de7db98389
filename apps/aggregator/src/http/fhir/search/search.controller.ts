import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  FHIR_ID_PATTERN,
  parseReference,
  parseSearchRequest,
  r4SearchParameters,
  SearchParameterError,
  SearchRequest,
} from '@fa/fhir';
import { provenanceOf, ResourceLineageQuery, SearchResourcesQuery } from '@fa/fhir-store';
import { GOLDEN_RECORD_TAG, GoldenPatientSearchQuery } from '@fa/patient-identity';
import { FhirError } from '../../fhir-error';
import { expandGoldenReferences } from './golden-expansion';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import {
  asOfParam,
  countParam,
  isStrict,
  nonNegativeIntegerParam,
  QueryParams,
  resourceTypeParam,
  single,
  versionIdParam,
} from '../fhir-params';
import { pageLinks, searchBundle, searchOutcome } from './search-bundle';
import { Access } from '../../security/access-policy';

const GOLDEN_TAG = `${GOLDEN_RECORD_TAG.system}|${GOLDEN_RECORD_TAG.code}`;
const GOLDEN_SEARCH_PARAMETERS = new Set(['_tag', '_id', '_count', '_offset', '_asOf', '_format', '_pretty']);

function selectsGoldenRecords(tag: string | string[] | undefined): boolean {
  return tag === GOLDEN_TAG;
}

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
  @Access({ resource: ':type', permission: 's', mixedTypes: true, interaction: 'search' })
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
  @Access({ resource: ':type', permission: 's', mixedTypes: true, interaction: 'search' })
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

  /**
   * Golden patients live in Patient Identity, not in the search index: `_tag=<mdm-record-status>|GOLDEN_RECORD`
   * (HAPI MDM's tag, which every golden Patient carries) asks that context over the QueryBus instead. Without
   * it a Patient search finds source patients, which never carry the tag.
   */
  private async goldenSearch(params: QueryParams, request: Request, response: Response, path: string) {
    const memberParams = Object.fromEntries(
      Object.entries(params).filter(([name]) => !GOLDEN_SEARCH_PARAMETERS.has(name)),
    );
    for (const name of Object.keys(memberParams)) {
      if (name.startsWith('_')) {
        throw FhirError.badRequest(
          `${name} is not supported with _tag=${GOLDEN_TAG}: a golden patient search takes _id, _count, _offset, _asOf and Patient search parameters its members must match`,
          name,
        );
      }
    }
    const ids = single(params, '_id')?.split(',');
    if (ids?.some((id) => !FHIR_ID_PATTERN.test(id))) throw FhirError.badRequest('_id must list ids', '_id');
    const count = countParam(params);
    const offset = nonNegativeIntegerParam(params, '_offset') ?? 0;
    const asOf = asOfParam(params) ?? new Date();
    const members =
      // No index to fall back on: a parameter the members' search does not know is an error, never ignored.
      Object.keys(memberParams).length > 0
        ? this.parse('Patient', memberParams, 'golden patient search')
        : undefined;
    const result = await this.queryBus.execute(
      new GoldenPatientSearchQuery({ asOf, ids, offset, count, members }),
    );
    if (result.status === 'too-broad') {
      throw FhirError.badRequest(
        `More than ${result.limit} source patients match ${Object.keys(memberParams).join(', ')}: narrow the golden patient search`,
        Object.keys(memberParams)[0],
      );
    }
    const base = fhirBaseUrl(request);
    const links = pageLinks(base, path, params, { offset, count, hasMore: result.hasMore, pinnedAt: asOf });
    const matches = result.patients.map((resource) => ({
      resourceType: 'Patient',
      id: resource.id!,
      resource,
    }));
    sendFhir(response, searchBundle({ base, links, matches }));
  }

  /** A search request parsed by the registry; unknown parameters are 400 when `strict` names why. */
  private parse(resourceType: string, params: QueryParams, strict: string | undefined): SearchRequest {
    let search: SearchRequest;
    try {
      search = parseSearchRequest(resourceType, params, r4SearchParameters());
    } catch (error) {
      if (error instanceof SearchParameterError) throw FhirError.badRequest(error.message, error.parameter);
      throw error;
    }
    if (search.unknown.length > 0 && strict !== undefined) {
      throw FhirError.badRequest(
        `Unknown search parameter${search.unknown.length > 1 ? 's' : ''} ${search.unknown.join(', ')} for ${resourceType} (${strict})`,
        search.unknown[0],
      );
    }
    return search;
  }

  private async runSearch(
    resourceType: string,
    params: QueryParams,
    prefer: string | undefined,
    request: Request,
    response: Response,
    path = request.path.replace(/^\/fhir/, ''),
  ) {
    if (resourceType === 'Patient' && selectsGoldenRecords(params._tag)) {
      return this.goldenSearch(params, request, response, path);
    }
    const search = this.parse(resourceType, params, isStrict(prefer) ? 'Prefer: handling=strict' : undefined);
    const pinnedAt = search.asOf ?? new Date();
    search.filters = await expandGoldenReferences(this.queryBus, search.filters, search.asOf);
    // A chain or _has over SEARCH_LINK_LIMIT is answered 400 too-costly by the exception filter.
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
        outcome: searchOutcome(search.unknown, result.includedCutAt),
      }),
    );
  }
}
