import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Headers, HttpStatus, Next, Param, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { WrongExpectedRevisionError } from '@fa/event-store';
import { SearchResourcesQuery } from '@fa/fhir-store';
import {
  detectedIssueOf,
  FindingCommandRejected,
  ReadFindingQuery,
  ReviewFindingCommand,
  SearchFindingsQuery,
} from '@fa/revenue-cycle';
import { FhirError } from '../../fhir-error';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { Access, principalOf } from '../../security/access-policy';
import { asOfParam, idParam, operationInput, QueryParams } from '../fhir-params';
import { DUPLICATE_CLAIM_REVIEW } from '../operations/duplicate-claim-review.operation';
import { FhirOperation } from '../operations/fhir-operation.decorator';
import { parametersBody, reviewerOf } from '../operations/reviewer-input';
import { pageLinks, searchBundle, type BundledResource } from '../search/search-bundle';
import { ReadableResources } from '../../security/readable-resources';
import { detectedIssueSearchMode, findingSearchOf, storeSearchOf } from './finding-search-params';

/**
 * Duplicate-claim findings of the Revenue Cycle context as FHIR DetectedIssue: search and read as of any
 * instant, and the reviewer's $duplicate-claim-review. Registered before the generic search and read routes.
 */
@ApiExcludeController()
@Controller('fhir')
export class DetectedIssueController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
  ) {}

  /**
   * One answer over the findings and the DetectedIssues sources sent (findings first, then the store's, paged by
   * _offset over both, _total the sum); kind or status: findings only; a parameter only the store's have: the
   * generic search (next route). detectedIssueSearchMode says which.
   */
  @Get('DetectedIssue')
  @Access({ resource: 'DetectedIssue', permission: 's', interaction: 'search' })
  async search(
    @Query() params: QueryParams,
    @Req() request: Request,
    @Res() response: Response,
    @Next() next: NextFunction,
  ) {
    const mode = detectedIssueSearchMode(params);
    if (mode === 'store') return next();
    const { matchesNothing, summaryCount, ...search } = findingSearchOf(params);
    const count = summaryCount ? 0 : search.limit;
    const outcome = await this.queryBus.execute(
      new SearchFindingsQuery({ ...search, limit: matchesNothing ? 0 : count }),
    );
    if (outcome.status === 'patient-not-found') {
      throw FhirError.notFound(`Patient/${search.patientId} is not known at ${search.asOf.toISOString()}`);
    }
    const findingsTotal = matchesNothing ? 0 : outcome.total;
    const matches: BundledResource[] = (matchesNothing ? [] : outcome.findings).map((f) => ({
      resourceType: 'DetectedIssue',
      id: f.findingId,
      resource: detectedIssueOf(f),
    }));
    let total = findingsTotal;
    const readable = new ReadableResources(principalOf(request), 's');
    if (mode === 'both') {
      const stored = await this.queryBus.execute(
        new SearchResourcesQuery({
          ...storeSearchOf(params, search.asOf),
          count: count - matches.length,
          offset: Math.max(0, search.offset - findingsTotal),
          totalMode: 'accurate',
        }),
      );
      matches.push(...readable.filter(stored.matches));
      total += stored.total ?? 0;
    }
    const base = fhirBaseUrl(request);
    sendFhir(
      response,
      searchBundle({
        base,
        links: pageLinks(base, '/DetectedIssue', params, {
          offset: search.offset,
          count: search.limit,
          hasMore: !summaryCount && search.offset + count < total,
          pinnedAt: search.asOf,
        }),
        matches,
        total,
        outcome: readable.outcome(undefined),
      }),
    );
  }

  /**
   * A finding, or else a DetectedIssue a source sent: the request goes on to the generic read (next route), which
   * answers from the FHIR store or 404.
   */
  @Get('DetectedIssue/:id')
  @Access({ resource: 'DetectedIssue', permission: 'r', interaction: 'read' })
  async read(
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Res() response: Response,
    @Next() next: NextFunction,
  ) {
    const asOf = asOfParam(params);
    const finding = await this.queryBus.execute(new ReadFindingQuery(idParam(id), asOf));
    if (!finding) return next();
    sendFhir(response, detectedIssueOf(finding));
  }

  @FhirOperation(DUPLICATE_CLAIM_REVIEW)
  @Access({ scope: 'system/fhir-aggregator.review', interaction: 'operation:duplicate-claim-review' })
  async review(
    @Param('id') id: string,
    @Body() body: unknown,
    @Headers('x-request-id') requestId: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const findingId = idParam(id);
    const reviewer = reviewerOf(request);
    const { values } = operationInput(DUPLICATE_CLAIM_REVIEW, parametersBody(body), prefer);
    const resolution = values.resolution;
    if (resolution !== 'confirmed' && resolution !== 'dismissed') {
      throw FhirError.badRequest('resolution must be confirmed or dismissed', 'resolution');
    }
    const note = values.note as string | undefined;
    try {
      await this.commandBus.execute(
        new ReviewFindingCommand(findingId, resolution, reviewer, note, requestId ?? randomUUID()),
      );
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) {
        throw new FhirError(
          HttpStatus.CONFLICT,
          'conflict',
          'The finding changed meanwhile: read it and decide again',
        );
      }
      if (error instanceof FindingCommandRejected) {
        throw error.reason === 'unknown-finding'
          ? FhirError.notFound(`DetectedIssue/${findingId} is not known`)
          : new FhirError(HttpStatus.CONFLICT, 'conflict', error.message);
      }
      throw error;
    }
    // The findings read model follows the log and may not show the decision yet: the answer applies it.
    const finding = await this.queryBus.execute(new ReadFindingQuery(findingId));
    if (!finding) throw FhirError.notFound(`DetectedIssue/${findingId} is not known`);
    sendFhir(
      response,
      detectedIssueOf({
        ...finding,
        status: resolution,
        decidedBy: { kind: 'reviewer', reviewer: reviewer },
        note: note ?? null,
      }),
    );
  }
}
