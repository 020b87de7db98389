import { Body, Controller, Get, Headers, Next, Param, Post, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Bundle } from 'fhir/r4';
import type { NextFunction, Request, Response } from 'express';
import { SearchAuditEventsQuery, toBalpAuditEvent } from '@fa/audit';
import { FhirError } from '../../fhir-error';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { Access } from '../../security/access-policy';
import type { QueryParams } from '../fhir-params';
import { searchOutcome } from '../search/search-bundle';
import { auditSearchCriteria } from './audit-search-params';

/**
 * GET /fhir/AuditEvent: the access audit as BALP-shaped AuditEvents, newest first, paged by a seq cursor (the
 * log only grows, so a page never shifts). Reading the audit is itself audited, by the same hook as any route.
 */
@ApiExcludeController()
@Controller('fhir')
export class AuditEventController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('AuditEvent')
  @Access({ scope: 'system/fhir-aggregator.audit', interaction: 'search' })
  async search(
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    await this.answer(params, prefer, request, response);
  }

  /** The same search with its parameters in a form (FHIR's POST [type]/_search), merged with the URL's. */
  @Post('AuditEvent/_search')
  @Access({ scope: 'system/fhir-aggregator.audit', interaction: 'search' })
  async searchByPost(
    @Query() params: QueryParams,
    @Body() form: QueryParams | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    await this.answer({ ...(form ?? {}), ...params }, prefer, request, response);
  }

  private async answer(
    params: QueryParams,
    prefer: string | undefined,
    request: Request,
    response: Response,
  ) {
    const { criteria, unknown } = auditSearchCriteria(params, prefer);
    const page = await this.queryBus.execute(new SearchAuditEventsQuery(criteria));
    const base = fhirBaseUrl(request);
    const link = (cursor?: number) => {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) {
        if (name === '_cursor' || value === undefined || unknown.includes(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) query.append(name, v);
      }
      if (cursor !== undefined) query.set('_cursor', String(cursor));
      const text = query.toString();
      return `${base}/AuditEvent${text ? `?${text}` : ''}`;
    };
    const outcome = searchOutcome(unknown);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [
        { relation: 'self', url: link(criteria.beforeSeq) },
        ...(page.nextBeforeSeq !== undefined ? [{ relation: 'next', url: link(page.nextBeforeSeq) }] : []),
      ],
      entry: [
        ...page.records.map((row) => ({
          fullUrl: `${base}/AuditEvent/${row.seq}`,
          resource: toBalpAuditEvent(row),
          search: { mode: 'match' as const },
        })),
        ...(outcome ? [{ resource: outcome, search: { mode: 'outcome' as const } }] : []),
      ],
    };
    sendFhir(response, bundle);
  }

  /**
   * An audit record (its id is its seq, a number); any other id is an AuditEvent a source sent: the request goes
   * on to the generic read (next route), which answers from the FHIR store or 404.
   */
  @Get('AuditEvent/:id')
  @Access({ scope: 'system/fhir-aggregator.audit', interaction: 'read' })
  async read(@Param('id') id: string, @Res() response: Response, @Next() next: NextFunction) {
    const seq = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
    const page =
      seq === undefined
        ? undefined
        : await this.queryBus.execute(new SearchAuditEventsQuery({ beforeSeq: seq + 1, count: 1 }));
    const row = page?.records[0];
    if (seq === undefined) return next();
    if (!row || row.seq !== seq) throw FhirError.notFound(`AuditEvent/${id} does not exist`);
    sendFhir(response, toBalpAuditEvent(row));
  }
}
