import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Headers, HttpStatus, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { FHIR_ID_PATTERN } from '@fa/fhir';
import {
  IdentityCommandRejected,
  IdentityDecision,
  LinkHistoryQuery,
  MergeGoldenPatientsCommand,
  PatientLink,
  QueryLinksQuery,
  UpdateLinkCommand,
} from '@fa/patient-identity';
import { FhirError } from '../fhir-error';
import { sendFhir } from '../fhir-json';
import { asOfParam, countParam, QueryParams, single } from './fhir-params';

/**
 * Patient identity (MDM) operations, named as HAPI FHIR's MDM users know them. Reviewer decisions name the
 * reviewer in the X-Reviewer header (this service has no user authentication yet), which the decision events keep.
 */
@ApiExcludeController()
@Controller('fhir')
export class MdmController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
  ) {}

  @Get('$mdm-query-links')
  async queryLinks(@Query() params: QueryParams, @Res() response: Response) {
    const links = await this.queryBus.execute(
      new QueryLinksQuery({
        goldenId: patientIdParam(params, 'goldenResourceId'),
        sourcePatientId: patientIdParam(params, 'resourceId'),
        matchResult: matchResultParam(single(params, 'matchResult'), ['MATCH', 'POSSIBLE_MATCH']) as
          'MATCH' | 'POSSIBLE_MATCH' | undefined,
        asOf: asOfParam(params),
        limit: countParam(params),
      }),
    );
    sendFhir(response, {
      resourceType: 'Parameters',
      parameter: links.map(linkParameter),
    } satisfies Parameters);
  }

  @Get('$mdm-link-history')
  async linkHistory(@Query() params: QueryParams, @Res() response: Response) {
    const goldenId = patientIdParam(params, 'goldenResourceId');
    const sourcePatientId = patientIdParam(params, 'resourceId');
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

  @Post('$mdm-update-link')
  async updateLink(
    @Body() body: unknown,
    @Headers('x-reviewer') reviewer: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
    @Res() response: Response,
  ) {
    const params = parametersBody(body);
    const goldenId = patientIdParam(params, 'goldenResourceId', true)!;
    const sourcePatientId = patientIdParam(params, 'resourceId', true)!;
    const matchResult = matchResultParam(params.matchResult, ['MATCH', 'NO_MATCH'], true) as
      'MATCH' | 'NO_MATCH';
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

  @Post('$mdm-merge-golden-resources')
  async merge(
    @Body() body: unknown,
    @Headers('x-reviewer') reviewer: string | undefined,
    @Headers('x-request-id') requestId: string | undefined,
    @Res() response: Response,
  ) {
    const params = parametersBody(body);
    const from = patientIdParam(params, 'fromGoldenResourceId', true)!;
    const into = patientIdParam(params, 'toGoldenResourceId', true)!;
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
        throw new FhirError(
          error.reason === 'unknown-golden' || error.reason === 'unknown-source-patient'
            ? HttpStatus.NOT_FOUND
            : HttpStatus.UNPROCESSABLE_ENTITY,
          error.reason === 'unknown-golden' || error.reason === 'unknown-source-patient'
            ? 'not-found'
            : 'business-rule',
          error.message,
        );
      }
      throw error;
    }
  }
}

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
  if (link.explanation) {
    part.push(
      { name: 'score', valueDecimal: round(link.explanation.probability) },
      { name: 'weight', valueDecimal: round(link.explanation.weight) },
      ...link.explanation.comparisons.map((c) => ({
        name: 'comparison',
        part: [
          { name: 'field', valueString: c.field },
          { name: 'level', valueString: c.level },
          { name: 'weight', valueDecimal: round(c.weight) },
        ],
      })),
    );
  }
  return { name: 'link', part };
}

function decisionParameter(decision: IdentityDecision): ParametersParameter {
  const data = decision.data as { decidedBy?: { kind: string; reviewer?: string; version?: string } };
  return {
    name: 'decision',
    part: [
      { name: 'type', valueString: decision.type },
      { name: 'goldenResourceId', valueString: `Patient/${decision.goldenId}` },
      ...(decision.sourcePatientId
        ? [{ name: 'sourceResourceId', valueString: `Patient/${decision.sourcePatientId}` }]
        : []),
      ...(data.decidedBy ? [{ name: 'decidedBy', valueString: decidedByText(data.decidedBy) }] : []),
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

function reviewerOf(header: string | undefined): string {
  if (!header || !/^[\w.@-]{1,64}$/.test(header)) {
    throw FhirError.badRequest(
      'Reviewer decisions need an X-Reviewer header (1-64 of letters, digits, . @ _ -)',
      'X-Reviewer',
    );
  }
  return header;
}

/** A FHIR Parameters body (valueString / valueReference parts) as name → value. */
function parametersBody(body: unknown): QueryParams {
  const parameters = body as Parameters | undefined;
  if (!parameters || parameters.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw FhirError.badRequest('The body must be a FHIR Parameters resource', 'body');
  }
  const values: QueryParams = {};
  for (const parameter of parameters.parameter) {
    const value = parameter.valueString ?? parameter.valueCode ?? parameter.valueReference?.reference;
    if (typeof parameter.name === 'string' && typeof value === 'string') values[parameter.name] = value;
  }
  return values;
}

function patientIdParam(params: QueryParams, name: string, required = false): string | undefined {
  const value = single(params, name);
  if (value === undefined) {
    if (required) throw FhirError.badRequest(`${name} is required`, name);
    return undefined;
  }
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  if (!FHIR_ID_PATTERN.test(id)) {
    throw FhirError.badRequest(
      `${name} must be Patient/<id> or <id>, got ${JSON.stringify(value.slice(0, 64))}`,
      name,
    );
  }
  return id;
}

function matchResultParam(value: unknown, allowed: string[], required = false): string | undefined {
  if (value === undefined) {
    if (required)
      throw FhirError.badRequest(`matchResult is required (${allowed.join(' or ')})`, 'matchResult');
    return undefined;
  }
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw FhirError.badRequest(`matchResult must be ${allowed.join(' or ')}`, 'matchResult');
  }
  return value;
}
