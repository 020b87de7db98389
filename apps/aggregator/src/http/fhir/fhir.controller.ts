import { All, Controller, Get, HttpStatus, Param, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  HistoryCriteria,
  parseHistoryCursor,
  provenanceOf,
  ReadResourceQuery,
  ReadVersionQuery,
  ResourceHistoryQuery,
  ResourceLineageQuery,
} from '@fa/fhir-store';
import { parseReference } from '@fa/fhir';
import { FhirError } from '../fhir-error';
import { fhirBaseUrl, sendFhir } from '../fhir-json';
import { buildCapabilityStatement } from '../metadata/capability-statement';
import {
  asOfParam,
  countParam,
  idParam,
  instantParam,
  periodParam,
  QueryParams,
  resourceTypeParam,
  single,
  versionIdParam,
} from './fhir-params';
import { historyBundle, searchsetBundle } from './history-bundle';

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

  /** Lineage as FHIR: one Provenance per recorded version of the target. */
  @Get('Provenance')
  async provenanceSearch(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    const target = single(params, 'target');
    if (!target) {
      throw FhirError.badRequest(
        'Provenance search needs target=<Type>/<id> (optionally with /_history/<version>)',
        'target',
      );
    }
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
  search(@Param('type') type: string): never {
    resourceTypeParam(type);
    throw new FhirError(
      HttpStatus.NOT_IMPLEMENTED,
      'not-supported',
      `Search on ${type} is not available yet; use read, vread, _history, or Provenance?target=`,
    );
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
        throw FhirError.notFound(
          `${resourceType}/${id} did not exist at ${asOf!.toISOString()}; first recorded ${outcome.firstRecorded.toISOString()}`,
        );
      default:
        throw FhirError.notFound(`${resourceType}/${id} is not known`);
    }
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
