import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { HistoryCriteria, parseHistoryCursor, ResourceHistoryQuery } from '@fa/fhir-store';
import { FhirError } from '../../fhir-error';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import {
  countParam,
  idParam,
  instantParam,
  periodParam,
  QueryParams,
  resourceTypeParam,
  single,
} from '../fhir-params';
import { historyBundle } from './history-bundle';

/** _history at system, type and instance level, with _since, _at, _count and pinned paging. */
@ApiExcludeController()
@Controller('fhir')
export class HistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('_history')
  async systemHistory(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    await this.history({}, params, request, response);
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
