import { randomUUID } from 'node:crypto';
import { Body, Controller, Headers, HttpStatus, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Parameters } from 'fhir/r4';
import { ClinicalCommandRejected, SplitFactsCommand } from '@fa/clinical';
import { FHIR_ID_PATTERN, isR4ResourceType } from '@fa/fhir';
import { FhirError } from '../../fhir-error';
import { sendFhir } from '../../fhir-json';
import { Access } from '../../security/access-policy';
import { operationInput } from '../fhir-params';
import { parametersBody, reviewerOf } from './reviewer-input';
import { CLINICAL_FACT_SPLIT } from './clinical-fact-split.operation';
import { FhirOperation } from './fhir-operation.decorator';

@ApiExcludeController()
@Controller('fhir')
export class ClinicalFactSplitController {
  constructor(private readonly commandBus: CommandBus) {}

  @FhirOperation(CLINICAL_FACT_SPLIT)
  @Access({ scope: 'system/fhir-aggregator.review', interaction: 'operation:clinical-fact-split' })
  async split(
    @Body() body: unknown,
    @Headers('x-request-id') requestId: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    const { values } = operationInput(CLINICAL_FACT_SPLIT, parametersBody(body), prefer);
    const given = values.resource as unknown as string[];
    if (given.length !== 2) throw FhirError.badRequest('resource must be given exactly twice', 'resource');
    const [a, b] = given.map(referenceParam);
    const note = values.note as string | undefined;
    try {
      const result = await this.commandBus.execute(
        new SplitFactsCommand([a, b], reviewerOf(request), requestId ?? randomUUID(), note),
      );
      sendFhir(response, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'linkId', valueString: result.linkId },
          { name: 'eventId', valueString: result.eventId },
        ],
      } satisfies Parameters);
    } catch (error) {
      if (!(error instanceof ClinicalCommandRejected)) throw error;
      const conflict = error.reason === 'concurrent-change';
      throw new FhirError(
        conflict ? HttpStatus.CONFLICT : HttpStatus.NOT_FOUND,
        conflict ? 'conflict' : 'not-found',
        error.message,
      );
    }
  }
}

function referenceParam(value: string): { resourceType: string; id: string } {
  const [resourceType, id, extra] = value.split('/');
  if (extra !== undefined || !isR4ResourceType(resourceType) || !FHIR_ID_PATTERN.test(id ?? '')) {
    throw FhirError.badRequest(
      `resource must be <Type>/<id>, got ${JSON.stringify(value.slice(0, 64))}`,
      'resource',
    );
  }
  return { resourceType, id };
}
