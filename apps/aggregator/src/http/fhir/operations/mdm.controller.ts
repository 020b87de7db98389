import { randomUUID } from 'node:crypto';
import { Body, Controller, Headers, HttpStatus, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { FHIR_ID_PATTERN } from '@fa/fhir';
import {
  asIdentityEvent,
  IdentityCommandRejected,
  IdentityDecision,
  LinkHistoryQuery,
  MergeGoldenPatientsCommand,
  PatientLink,
  QueryLinksQuery,
  UpdateLinkCommand,
} from '@fa/patient-identity';
import { FhirError, IssueCode } from '../../fhir-error';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, operationInput, QueryParams } from '../fhir-params';
import { pageLinks } from '../search/search-bundle';
import { FhirOperation } from './fhir-operation.decorator';
import { parametersBody, reviewerOf } from './reviewer-input';
import {
  MDM_LINK_HISTORY,
  MDM_MERGE_GOLDEN_RESOURCES,
  MDM_QUERY_LINKS,
  MDM_UPDATE_LINK,
} from './mdm.operations';
import { Access } from '../../security/access-policy';

/**
 * Patient identity (MDM) operations, named as HAPI FHIR's MDM users know them (declared in mdm.operations.ts). Reviewer decisions name the
 * reviewer in the X-Reviewer header (this service has no user authentication yet), which the decision events keep.
 */
@ApiExcludeController()
@Controller('fhir')
export class MdmController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
  ) {}

  /**
   * Pages as HAPI FHIR's MDM does (`_offset`, `_count`, `self`/`prev`/`next` links as `valueUri`). Every page
   * after the first carries the `_asOf` instant the first was read at, so the pages of one enumeration are one
   * picture and never overlap or skip a link that changed meanwhile.
   */
  @FhirOperation(MDM_QUERY_LINKS)
  @Access({ scope: 'system/fhir-aggregator.mdm', interaction: 'operation:mdm-query-links' })
  async queryLinks(
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const { values } = operationInput(MDM_QUERY_LINKS, params, prefer);
    const asOf = (values._asOf as { end: Date } | undefined)?.end ?? new Date();
    const limit = Math.min((values._count as number | undefined) ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const offset = (values._offset as number | undefined) ?? 0;
    const page = await this.queryBus.execute(
      new QueryLinksQuery({
        goldenId: patientIdParam(values, 'goldenResourceId'),
        sourcePatientId: patientIdParam(values, 'resourceId'),
        matchResult: matchResultParam(values.matchResult, ['MATCH', 'POSSIBLE_MATCH']) as
          'MATCH' | 'POSSIBLE_MATCH' | undefined,
        asOf,
        limit,
        offset,
      }),
    );
    const paging = pageLinks(fhirBaseUrl(request), '/$mdm-query-links', params, {
      offset,
      count: limit,
      hasMore: page.hasMore,
      pinnedAt: asOf,
    });
    const links: ParametersParameter[] = [{ name: 'self', valueUri: paging.self }];
    if (paging.previous) links.push({ name: 'prev', valueUri: paging.previous });
    if (paging.next) links.push({ name: 'next', valueUri: paging.next });
    sendFhir(response, {
      resourceType: 'Parameters',
      parameter: [...links, ...page.links.map(linkParameter)],
    } satisfies Parameters);
  }

  @FhirOperation(MDM_LINK_HISTORY)
  @Access({ scope: 'system/fhir-aggregator.mdm', interaction: 'operation:mdm-link-history' })
  async linkHistory(
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Res() response: Response,
  ) {
    const { values } = operationInput(MDM_LINK_HISTORY, params, prefer);
    const goldenId = patientIdParam(values, 'goldenResourceId');
    const sourcePatientId = patientIdParam(values, 'resourceId');
    if (!goldenId && !sourcePatientId) {
      throw FhirError.badRequest(
        '$mdm-link-history needs goldenResourceId and/or resourceId',
        'goldenResourceId',
      );
    }
    const history = await this.queryBus.execute(new LinkHistoryQuery({ goldenId, sourcePatientId }));
    sendFhir(response, {
      resourceType: 'Parameters',
      parameter: history.map(decisionParameter),
    } satisfies Parameters);
  }

  @FhirOperation(MDM_UPDATE_LINK)
  @Access({ scope: 'system/fhir-aggregator.mdm', interaction: 'operation:mdm-update-link' })
  async updateLink(
    @Body() body: unknown,
    @Headers('x-reviewer') reviewer: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Res() response: Response,
  ) {
    const { values } = operationInput(MDM_UPDATE_LINK, parametersBody(body), prefer);
    const goldenId = patientIdParam(values, 'goldenResourceId')!;
    const sourcePatientId = patientIdParam(values, 'resourceId')!;
    const matchResult = matchResultParam(values.matchResult, ['MATCH', 'NO_MATCH']) as 'MATCH' | 'NO_MATCH';
    const result = await this.run(() =>
      this.commandBus.execute(
        new UpdateLinkCommand(
          goldenId,
          sourcePatientId,
          matchResult,
          reviewerOf(reviewer),
          requestId ?? randomUUID(),
        ),
      ),
    );
    sendFhir(response, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'goldenResourceId', valueString: `Patient/${result.goldenId}` },
        { name: 'resourceId', valueString: `Patient/${sourcePatientId}` },
        { name: 'matchResult', valueString: matchResult },
        { name: 'linkSource', valueString: 'MANUAL' },
      ],
    } satisfies Parameters);
  }

  @FhirOperation(MDM_MERGE_GOLDEN_RESOURCES)
  @Access({ scope: 'system/fhir-aggregator.mdm', interaction: 'operation:mdm-merge-golden-resources' })
  async merge(
    @Body() body: unknown,
    @Headers('x-reviewer') reviewer: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Res() response: Response,
  ) {
    const { values } = operationInput(MDM_MERGE_GOLDEN_RESOURCES, parametersBody(body), prefer);
    const from = patientIdParam(values, 'fromGoldenResourceId')!;
    const into = patientIdParam(values, 'toGoldenResourceId')!;
    const result = await this.run(() =>
      this.commandBus.execute(
        new MergeGoldenPatientsCommand(from, into, reviewerOf(reviewer), requestId ?? randomUUID()),
      ),
    );
    sendFhir(response, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'goldenResourceId', valueString: `Patient/${result.intoGoldenId}` },
        ...result.moved.map((id) => ({ name: 'moved', valueString: `Patient/${id}` })),
      ],
    } satisfies Parameters);
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof IdentityCommandRejected) {
        const [status, code] = REJECTION_STATUS[error.reason];
        throw new FhirError(status, code, error.message);
      }
      throw error;
    }
  }
}

/** How each rejection answers: unknown ids 404, broken rules 422, a stream changed meanwhile 409 (retry). */
const REJECTION_STATUS: Record<IdentityCommandRejected['reason'], [HttpStatus, IssueCode]> = {
  'unknown-golden': [HttpStatus.NOT_FOUND, 'not-found'],
  'unknown-source-patient': [HttpStatus.NOT_FOUND, 'not-found'],
  'golden-merged': [HttpStatus.UNPROCESSABLE_ENTITY, 'business-rule'],
  'same-golden': [HttpStatus.UNPROCESSABLE_ENTITY, 'business-rule'],
  'concurrent-change': [HttpStatus.CONFLICT, 'conflict'],
};

function linkParameter(link: PatientLink): ParametersParameter {
  const part: ParametersParameter[] = [
    { name: 'goldenResourceId', valueString: `Patient/${link.goldenId}` },
    { name: 'sourceResourceId', valueString: `Patient/${link.sourcePatientId}` },
    { name: 'source', valueString: link.source },
    { name: 'matchResult', valueString: link.matchResult },
    { name: 'linkSource', valueString: link.manual ? 'MANUAL' : 'AUTO' },
    { name: 'rule', valueString: link.rule },
    { name: 'decidedBy', valueString: decidedByText(link.decidedBy) },
    { name: 'linkedAt', valueInstant: link.recordedFrom.toISOString() },
  ];
  if (link.decidedBy.kind === 'matcher')
    part.push({ name: 'modelVersion', valueString: link.decidedBy.version });
  if (link.explanation) {
    part.push(
      { name: 'score', valueDecimal: round(link.explanation.probability) },
      { name: 'weight', valueDecimal: round(link.explanation.weight) },
      ...(link.explanation.comparedWith
        ? [{ name: 'comparedWith', valueString: `Patient/${link.explanation.comparedWith}` }]
        : []),
      ...(link.explanation.blockingKeys ?? []).map((key) => ({ name: 'blockingKey', valueString: key })),
      ...link.explanation.comparisons.map((c) => ({
        name: 'comparison',
        part: [
          { name: 'field', valueString: c.field },
          { name: 'level', valueString: c.level },
          { name: 'weight', valueDecimal: round(c.weight) },
          ...(c.termFrequency === undefined
            ? []
            : [{ name: 'termFrequency', valueDecimal: c.termFrequency }]),
        ],
      })),
    );
  }
  return { name: 'link', part };
}

function decisionParameter(decision: IdentityDecision): ParametersParameter {
  const identity = asIdentityEvent(decision);
  const decidedBy = identity && 'decidedBy' in identity.data ? identity.data.decidedBy : undefined;
  return {
    name: 'decision',
    part: [
      { name: 'type', valueString: decision.type },
      { name: 'goldenResourceId', valueString: `Patient/${decision.goldenId}` },
      ...(decision.sourcePatientId
        ? [{ name: 'sourceResourceId', valueString: `Patient/${decision.sourcePatientId}` }]
        : []),
      ...(decidedBy ? [{ name: 'decidedBy', valueString: decidedByText(decidedBy) }] : []),
      { name: 'recordedAt', valueInstant: decision.recordedAt.toISOString() },
      { name: 'eventId', valueString: decision.eventId },
      { name: 'detail', valueString: JSON.stringify(decision.data) },
    ],
  };
}

function decidedByText(decidedBy: { kind: string; reviewer?: string; version?: string }): string {
  return decidedBy.kind === 'reviewer' ? `reviewer:${decidedBy.reviewer}` : `matcher:${decidedBy.version}`;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

type OperationValues = ReturnType<typeof operationInput>['values'];

/** A patient named as Patient/<id> or <id> (the definition has checked presence and cardinality). */
function patientIdParam(values: OperationValues, name: string): string | undefined {
  const value = values[name] as string | undefined;
  if (value === undefined) return undefined;
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  if (!FHIR_ID_PATTERN.test(id)) {
    throw FhirError.badRequest(
      `${name} must be Patient/<id> or <id>, got ${JSON.stringify(value.slice(0, 64))}`,
      name,
    );
  }
  return id;
}

function matchResultParam(value: unknown, allowed: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw FhirError.badRequest(`matchResult must be ${allowed.join(' or ')}`, 'matchResult');
  }
  return value;
}
