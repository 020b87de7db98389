import {
  All,
  Body,
  Controller,
  Get,
  Headers,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  EverythingCriteria,
  EverythingResult,
  HistoryCriteria,
  parseHistoryCursor,
  PatientEverythingQuery,
  SearchResourcesQuery,
  provenanceOf,
  ReadResourceQuery,
  ReadVersionQuery,
  ResourceHistoryQuery,
  ResourceLineageQuery,
} from '@fa/fhir-store';
import { GoldenPatientQuery } from '@fa/patient-identity';
import {
  isR4ResourceType,
  parseReference,
  parseSearchRequest,
  r4SearchParameters,
  SearchParameterError,
  SearchRequest,
} from '@fa/fhir';
import { FhirError } from '../fhir-error';
import { fhirBaseUrl, sendFhir } from '../fhir-json';
import { buildCapabilityStatement } from '../metadata/capability-statement';
import {
  asOfParam,
  countParam,
  idParam,
  instantParam,
  nonNegativeIntegerParam,
  periodParam,
  QueryParams,
  resourceTypeParam,
  single,
  versionIdParam,
} from './fhir-params';
import { historyBundle, searchsetBundle } from './history-bundle';
import { BundledResource, ignoredParametersOutcome, pageLinks, searchBundle } from './search-bundle';

/** One page of $everything, of a source patient (stored versions) or of a golden patient (built on read). */
type EverythingPage =
  | Exclude<EverythingResult, { status: 'found' }>
  | { status: 'found'; entries: BundledResource[]; total: number; hasMore: boolean };

const EVERYTHING_DEFAULT_COUNT = 100;
/** A golden patient's $everything gathers each member's whole answer, then pages the union. */
const MAX_EVERYTHING_UNION = 100_000;

const SOFTWARE = { name: 'fhir-aggregator', version: process.env.npm_package_version ?? '0.1.0' };

/**
 * Read-only FHIR R4 endpoint over the temporal store. Documented in the CapabilityStatement (GET /fhir/metadata),
 * which is built from the same route list, so the OpenAPI document leaves these routes out.
 */
@ApiExcludeController()
@Controller('fhir')
export class FhirController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('metadata')
  metadata(@Req() request: Request, @Res() response: Response): void {
    sendFhir(response, buildCapabilityStatement(fhirBaseUrl(request), SOFTWARE));
  }

  @Get('_history')
  async systemHistory(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    await this.history({}, params, request, response);
  }

  /**
   * Lineage as FHIR: one Provenance per recorded version of the target. Provenance resources sent by sources
   * are searched with any other parameter.
   */
  @Get('Provenance')
  async provenanceSearch(
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const target = single(params, 'target');
    // Without target it is an ordinary search over the Provenance resources sources sent.
    if (!target) return this.runSearch('Provenance', params, prefer, request, response);
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
    sendFhir(
      response,
      searchsetBundle(versions.map(provenanceOf), `${base}${request.url.replace(/^\/fhir/, '')}`, base),
    );
  }

  @Get(':type/_history')
  async typeHistory(
    @Param('type') type: string,
    @Query() params: QueryParams,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    await this.history({ resourceType: resourceTypeParam(type) }, params, request, response);
  }

  @Get(':type')
  async search(
    @Param('type') type: string,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    await this.runSearch(resourceTypeParam(type), params, prefer, request, response);
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

  @Get(':type/:id')
  async read(
    @Param('type') type: string,
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    idParam(id);
    const asOf = asOfParam(params);
    const outcome = await this.queryBus.execute(new ReadResourceQuery(resourceType, id, asOf));
    switch (outcome.status) {
      case 'found':
        return sendFhir(response, outcome.version.resource);
      case 'deleted':
        response.setHeader('ETag', `W/"${outcome.version.versionId}"`);
        throw FhirError.gone(
          `${resourceType}/${id} was deleted at ${outcome.version.recordedFrom.toISOString()} (version ${outcome.version.versionId}); its history remains`,
        );
      case 'not-yet':
        if (resourceType === 'Patient') await this.sendGoldenIfAny(id, asOf, response);
        if (response.headersSent) return;
        throw FhirError.notFound(
          `${resourceType}/${id} did not exist at ${asOf!.toISOString()}; first recorded ${outcome.firstRecorded.toISOString()}`,
        );
      default:
        if (resourceType === 'Patient') await this.sendGoldenIfAny(id, asOf, response);
        if (response.headersSent) return;
        throw FhirError.notFound(`${resourceType}/${id} is not known`);
    }
  }

  /** Golden patients (Patient Identity) are read like any Patient, built from their members as of the instant. */
  private async sendGoldenIfAny(id: string, asOf: Date | undefined, response: Response): Promise<void> {
    const golden = await this.queryBus.execute(new GoldenPatientQuery(id, asOf));
    if (golden.status === 'merged') {
      throw FhirError.gone(
        `Patient/${id} was merged into Patient/${golden.into} at ${golden.at.toISOString()}`,
      );
    }
    if (golden.status === 'found') sendFhir(response, golden.patient);
  }

  @Get(':type/:id/_history')
  async instanceHistory(
    @Param('type') type: string,
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const criteria = { resourceType: resourceTypeParam(type), id: idParam(id) };
    await this.history(criteria, params, request, response, true);
  }

  @Get(':type/:id/:operation')
  async instanceOperation(
    @Param('type') type: string,
    @Param('id') id: string,
    @Param('operation') operation: string,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    idParam(id);
    if (resourceType !== 'Patient' || operation !== '$everything') {
      throw FhirError.notFound(
        `Unknown operation ${JSON.stringify(operation.slice(0, 64))} on ${resourceType}; see GET /fhir/metadata`,
      );
    }
    const known = new Set(['_since', '_type', '_count', '_offset', '_asOf', '_format', '_pretty']);
    const unknown = Object.keys(params).filter((name) => !known.has(name));
    if (unknown.length > 0 && isStrict(prefer)) {
      throw FhirError.badRequest(`Unknown parameter ${unknown.join(', ')} for $everything`, unknown[0]);
    }
    const types = single(params, '_type')?.split(',');
    for (const t of types ?? []) {
      if (!isR4ResourceType(t))
        throw FhirError.badRequest(`_type: unknown resource type ${JSON.stringify(t.slice(0, 64))}`, '_type');
    }
    const count = countParam(params, EVERYTHING_DEFAULT_COUNT);
    const offset = nonNegativeIntegerParam(params, '_offset') ?? 0;
    const asOf = asOfParam(params);
    const pinnedAt = asOf ?? new Date();
    const criteria = { patientId: id, asOf, since: instantParam(params, '_since'), types, count, offset };
    let result: EverythingPage = await this.queryBus.execute(new PatientEverythingQuery(criteria));
    if (result.status === 'not-found') result = await this.goldenEverything(criteria);
    if (result.status === 'not-found') {
      throw FhirError.notFound(
        asOf ? `Patient/${id} did not exist at ${asOf.toISOString()}` : `Patient/${id} is not known`,
      );
    }
    if (result.status === 'deleted')
      throw FhirError.gone(`Patient/${id} was deleted at ${result.at.toISOString()}`);
    const base = fhirBaseUrl(request);
    const links = pageLinks(base, request.path.replace(/^\/fhir/, ''), params, {
      offset,
      count,
      hasMore: result.hasMore,
      pinnedAt,
    });
    const outcome = ignoredParametersOutcome(unknown);
    sendFhir(response, searchBundle({ base, links, matches: result.entries, total: result.total, outcome }));
  }

  @Get(':type/:id/_history/:vid')
  async vread(
    @Param('type') type: string,
    @Param('id') id: string,
    @Param('vid') vid: string,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    idParam(id);
    const version = await this.queryBus.execute(new ReadVersionQuery(resourceType, id, versionIdParam(vid)));
    if (!version) throw FhirError.notFound(`${resourceType}/${id} has no version ${vid}`);
    if (version.deleted) throw FhirError.gone(`${resourceType}/${id} version ${vid} is a deletion`);
    sendFhir(response, version.resource);
  }

  /** Writes arrive from sources (files, Kafka), never over this API. */
  @All(['', '*path'])
  notSupported(@Req() request: Request): never {
    throw new FhirError(
      HttpStatus.METHOD_NOT_ALLOWED,
      'not-supported',
      `${request.method} ${request.path} is not supported: this server is read-only; sources write through ingestion`,
    );
  }

  /**
   * $everything of a golden patient: the union over every source patient linked to it at the instant, with the
   * golden Patient itself first.
   */
  private async goldenEverything(criteria: EverythingCriteria): Promise<EverythingPage> {
    const golden = await this.queryBus.execute(new GoldenPatientQuery(criteria.patientId, criteria.asOf));
    if (golden.status === 'merged') return { status: 'deleted', at: golden.at };
    if (golden.status !== 'found') return { status: 'not-found' };
    const seen = new Set<string>();
    const entries: BundledResource[] = [];
    for (const link of golden.links) {
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
    const goldenFirst: BundledResource[] =
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

  private async history(
    scope: Pick<HistoryCriteria, 'resourceType' | 'id'>,
    params: QueryParams,
    request: Request,
    response: Response,
    mustExist = false,
  ) {
    const cursor = single(params, '_cursor');
    if (cursor !== undefined && !parseHistoryCursor(cursor))
      throw FhirError.badRequest('_cursor is not one this server issued', '_cursor');
    const criteria: HistoryCriteria = {
      ...scope,
      since: instantParam(params, '_since'),
      at: periodParam(params, '_at'),
      // A page link pins the first page's time, so later arrivals never shift the pages being walked.
      until: instantParam(params, '_until') ?? new Date(),
      before: cursor,
      count: countParam(params),
    };
    const page = await this.queryBus.execute(new ResourceHistoryQuery(criteria));
    if (mustExist && page.total === 0 && !cursor && !criteria.since && !criteria.at) {
      throw FhirError.notFound(`${scope.resourceType}/${scope.id} is not known`);
    }
    const base = fhirBaseUrl(request);
    const path = request.path.replace(/^\/fhir/, '');
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (key === '_cursor' || key === '_until' || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
    }
    query.set('_until', criteria.until!.toISOString());
    const self = `${base}${path}?${new URLSearchParams({ ...Object.fromEntries(query), ...(cursor ? { _cursor: cursor } : {}) })}`;
    const next = page.next ? `${base}${path}?${query.toString()}&_cursor=${page.next}` : undefined;
    sendFhir(response, historyBundle(page, base, self, next));
  }
}

/** Prefer: handling=strict asks for unknown parameters to be errors (FHIR search, 3.1.1.5). */
function isStrict(prefer: string | undefined): boolean {
  return /(^|[,;\s])handling\s*=\s*strict\b/i.test(prefer ?? '');
}
