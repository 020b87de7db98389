import { randomUUID } from 'node:crypto';
import { Body, Controller, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Parameters } from 'fhir/r4';
import {
  BULK_DATA_SETTINGS,
  type BulkDataSettings,
  ChangeExportJobCommand,
  ExportLevel,
} from '@fa/bulk-data';
import type { FhirOperationDefinition } from '@fa/fhir';
import { Access, principalOf, type AccessPolicy } from '../../security/access-policy';
import { LOCAL_PRINCIPAL } from '../../security/auth-settings';
import { FhirError } from '../../fhir-error';
import { fhirBaseUrl, sendFhir, serverOrigin } from '../../fhir-json';
import { idParam, QueryParams } from '../fhir-params';
import { GROUP_EXPORT, PATIENT_EXPORT, SYSTEM_EXPORT } from './export.operations';
import { resolveKickOff, TooManyExports } from './export-kickoff';
import { FhirOperation, FhirOperationByPost } from './fhir-operation.decorator';

/** The status URL of an export job (absolute, as the client reached the server). */
export function exportStatusUrl(request: Request, jobId: string): string {
  return `${serverOrigin(request)}/bulk-data/jobs/${jobId}`;
}

const KICK_OFF: AccessPolicy = {
  resource: '*',
  permission: 'r',
  mixedTypes: true,
  interaction: 'operation:export',
};

/**
 * Bulk Data kick-off (STU2): GET with query parameters or POST with a Parameters body, at system, Patient and
 * Group level. Answers 202 with the job's absolute status URL in Content-Location; the job is an event stream
 * (BulkExport-<id>) the export workers pick up.
 */
@ApiExcludeController()
@Controller('fhir')
export class ExportController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
    @Inject(BULK_DATA_SETTINGS) private readonly settings: BulkDataSettings,
  ) {}

  @FhirOperation(SYSTEM_EXPORT)
  @Access(KICK_OFF)
  systemGet(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    return this.kickOff('system', SYSTEM_EXPORT, undefined, params, request, response);
  }

  @FhirOperationByPost(SYSTEM_EXPORT)
  @Access(KICK_OFF)
  systemPost(@Body() body: Parameters, @Req() request: Request, @Res() response: Response) {
    return this.kickOff('system', SYSTEM_EXPORT, undefined, body, request, response);
  }

  @FhirOperation(PATIENT_EXPORT)
  @Access(KICK_OFF)
  patientGet(@Query() params: QueryParams, @Req() request: Request, @Res() response: Response) {
    return this.kickOff('patient', PATIENT_EXPORT, undefined, params, request, response);
  }

  @FhirOperationByPost(PATIENT_EXPORT)
  @Access(KICK_OFF)
  patientPost(@Body() body: Parameters, @Req() request: Request, @Res() response: Response) {
    return this.kickOff('patient', PATIENT_EXPORT, undefined, body, request, response);
  }

  @FhirOperation(GROUP_EXPORT)
  @Access(KICK_OFF)
  groupGet(
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    return this.kickOff('group', GROUP_EXPORT, idParam(id), params, request, response);
  }

  @FhirOperationByPost(GROUP_EXPORT)
  @Access(KICK_OFF)
  groupPost(
    @Param('id') id: string,
    @Body() body: Parameters,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    return this.kickOff('group', GROUP_EXPORT, idParam(id), body, request, response);
  }

  private async kickOff(
    level: ExportLevel,
    definition: FhirOperationDefinition,
    groupId: string | undefined,
    input: QueryParams | Parameters | undefined,
    request: Request,
    response: Response,
  ) {
    const principal = principalOf(request) ?? LOCAL_PRINCIPAL;
    if (request.method === 'POST' && input && Object.keys(input).length > 0 && !isParameters(input))
      throw FhirError.badRequest(
        'A Bulk Data kick-off by POST takes a Parameters resource as its body',
        'body',
      );
    const jobId = randomUUID();
    let job;
    try {
      job = await resolveKickOff(this.queryBus, this.settings, {
        jobId,
        level,
        definition,
        groupId,
        input: request.method === 'POST' && !isParameters(input) ? {} : input,
        headers: { accept: request.get('accept'), prefer: request.get('prefer') },
        principal,
        url: `${fhirBaseUrl(request)}${request.originalUrl.replace(/^\/fhir/, '')}`,
      });
    } catch (error) {
      if (error instanceof TooManyExports) response.setHeader('Retry-After', String(error.retryAfterSeconds));
      throw error;
    }
    await this.commandBus.execute(new ChangeExportJobCommand(jobId, { kind: 'request', request: job }));
    response.setHeader('Content-Location', exportStatusUrl(request, jobId));
    sendFhir(
      response,
      {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'information',
            code: 'informational',
            diagnostics: `Export accepted: ${job.types.length} types as of ${job.transactionTime}; poll the Content-Location`,
          },
        ],
      },
      202,
    );
  }
}

function isParameters(input: unknown): input is Parameters {
  return (input as { resourceType?: unknown } | undefined)?.resourceType === 'Parameters';
}
