import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { HistoryCriteria, HistoryPage, parseHistoryCursor, ResourceHistoryQuery } from '@fa/fhir-store';
import { GoldenPatientHistoryQuery, GoldenPatientVersion } from '@fa/patient-identity';
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
import { Access } from '../../security/access-policy';

/** _history at system, type and instance level, with _since, _at, _count and pinned paging. */
@ApiExcludeController()
@Controller('fhir')
export class HistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('_history')
  @Access({ resource: '*', permission: 'r', mixedTypes: true, interaction: 'history' })
  async systemHistory(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    await this.history({}, params, request, response);
  }

  @Get(':type/_history')
  @Access({ resource: ':type', permission: 'r', interaction: 'history' })
  async typeHistory(
    @Param('type') type: string,
    @Query() params: QueryParams,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    await this.history({ resourceType: resourceTypeParam(type) }, params, request, response);
  }

  @Get(':type/:id/_history')
  @Access({ resource: ':type', permission: 'r', interaction: 'history' })
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
    let page = await this.queryBus.execute(new ResourceHistoryQuery(criteria));
    if (mustExist && page.total === 0 && !cursor && !criteria.since && !criteria.at) {
      // Not a stored resource: a golden patient's versions are its membership changes (Patient Identity).
      const golden =
        scope.resourceType === 'Patient'
          ? await this.queryBus.execute(new GoldenPatientHistoryQuery(scope.id!, criteria.until))
          : undefined;
      if (golden?.status !== 'found')
        throw FhirError.notFound(`${scope.resourceType}/${scope.id} is not known`);
      page = goldenHistoryPage(scope.id!, golden.versions, criteria.count);
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

/** A golden patient's versions as a history page (newest first; a merge that retired it reads as a delete). */
function goldenHistoryPage(goldenId: string, versions: GoldenPatientVersion[], count: number): HistoryPage {
  return {
    total: versions.length,
    versions: versions.slice(0, count).map((v) => ({
      resourceType: 'Patient',
      id: goldenId,
      versionId: v.versionId,
      recordedFrom: v.recordedAt,
      deleted: !v.patient,
      resource: v.patient,
    })) as HistoryPage['versions'],
  };
}
