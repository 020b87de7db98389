import { Controller, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PatientSummaryQuery } from '@fa/clinical';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { Access } from '../../security/access-policy';
import { CLINICAL_FACT_TYPES } from '../../security/clinical-fact-types';
import { foundPatient, idParam, operationInput, QueryParams } from '../fhir-params';
import { FhirOperation } from './fhir-operation.decorator';
import { PATIENT_SUMMARY } from './patient-summary.operation';

/** Patient/<id>/$summary: the Clinical context's IPS document of a source or golden patient. */
@ApiExcludeController()
@Controller('fhir')
export class PatientSummaryController {
  constructor(private readonly queryBus: QueryBus) {}

  @FhirOperation(PATIENT_SUMMARY)
  @Access({
    resource: 'Patient',
    permission: 'r',
    reads: CLINICAL_FACT_TYPES,
    interaction: 'operation:summary',
  })
  async summary(
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    idParam(id);
    const { values } = operationInput(PATIENT_SUMMARY, params, prefer);
    const asOf = (values._asOf as { end: Date } | undefined)?.end;
    const result = await this.queryBus.execute(new PatientSummaryQuery(id, fhirBaseUrl(request), asOf));
    sendFhir(response, foundPatient(result, id, asOf).bundle);
  }
}
