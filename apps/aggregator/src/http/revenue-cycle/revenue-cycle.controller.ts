import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FHIR_ID_PATTERN } from '@fa/fhir';
import { ClaimsSummaryQuery, CoverageOnDateQuery, PatientClaimsQuery } from '@fa/revenue-cycle';
import { FhirError } from '../fhir-error';
import { asOfParam, periodParam, QueryParams, single } from '../fhir/fhir-params';
import { Access } from '../security/access-policy';

/**
 * Claims questions as of a date, answered from the Revenue Cycle read models (materialized ViewDefinitions).
 * Patients are golden or source patients: either way the answer covers every source patient of the person.
 */
@ApiTags('revenue-cycle')
@Controller('revenue-cycle')
export class RevenueCycleController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('patients/:id/claims')
  @Access({
    resource: 'Claim',
    permission: 's',
    reads: ['Claim', 'ExplanationOfBenefit', 'ClaimResponse'],
    interaction: 'search',
  })
  @ApiOperation({
    summary: "A patient's claims with lines and adjudication (EOB / ClaimResponse), as of _asOf",
  })
  @ApiQuery({
    name: 'from',
    required: false,
    description: 'Claims whose billable period ends at or after (FHIR date)',
  })
  @ApiQuery({
    name: 'to',
    required: false,
    description: 'Claims whose billable period starts before the end of (FHIR date)',
  })
  @ApiQuery({ name: '_asOf', required: false, description: 'As the service knew it at this instant' })
  async claims(@Param('id') id: string, @Query() params: QueryParams) {
    only(params, ['from', 'to', '_asOf']);
    const patientId = patientIdOf(id, 'id');
    const asOf = asOfParam(params) ?? new Date();
    const from = periodParam(params, 'from')?.start;
    const to = periodParam(params, 'to')?.end;
    if (from && to && from > to) throw FhirError.badRequest('from must not be after to', 'from');
    const outcome = await this.queryBus.execute(
      new PatientClaimsQuery(patientId, asOf, from, to && new Date(to.getTime() + 1)),
    );
    if (outcome.status === 'patient-not-found') {
      throw FhirError.notFound(`Patient/${patientId} is not known at ${asOf.toISOString()}`);
    }
    return { patient: patientId, ...outcome.scope, asOf: asOf.toISOString(), claims: outcome.claims };
  }

  @Get('coverage')
  @Access({
    resource: 'Coverage',
    permission: 's',
    reads: ['Coverage', 'ExplanationOfBenefit'],
    interaction: 'search',
  })
  @ApiOperation({
    summary: 'Was the patient covered (by payer) on date, as known at _asOf: the periods that say so',
  })
  @ApiQuery({ name: 'patient', required: true, description: 'Patient/<id> or <id> (golden or source)' })
  @ApiQuery({ name: 'date', required: false, description: 'FHIR date of service' })
  @ApiQuery({ name: 'payer', required: false, description: 'Payer name (case-insensitive)' })
  @ApiQuery({ name: '_asOf', required: false })
  async coverage(@Query() params: QueryParams) {
    only(params, ['patient', 'date', 'payer', '_asOf']);
    const patient = single(params, 'patient');
    if (patient === undefined) throw FhirError.badRequest('patient is required', 'patient');
    const patientId = patientIdOf(patient.replace(/^Patient\//, ''), 'patient');
    const asOf = asOfParam(params) ?? new Date();
    const date = periodParam(params, 'date');
    const payer = single(params, 'payer');
    if (payer !== undefined && (payer.length === 0 || payer.length > 200)) {
      throw FhirError.badRequest('payer must be 1-200 characters', 'payer');
    }
    const outcome = await this.queryBus.execute(new CoverageOnDateQuery(patientId, asOf, date, payer));
    if (outcome.status === 'patient-not-found') {
      throw FhirError.notFound(`Patient/${patientId} is not known at ${asOf.toISOString()}`);
    }
    const { status: _status, ...answer } = outcome;
    return {
      patient: patientId,
      date: single(params, 'date') ?? null,
      payer: payer ?? null,
      asOf: asOf.toISOString(),
      ...answer,
    };
  }

  @Get('claims-summary')
  @Access({ scope: 'system/fhir-aggregator.analytics', interaction: 'search' })
  @ApiOperation({
    summary: 'Claims per source and month of service: counts, billed, paid, denial rate, as of _asOf',
  })
  @ApiQuery({ name: 'from', required: false, description: 'Months of service from (FHIR date)' })
  @ApiQuery({ name: 'to', required: false, description: 'Months of service to (FHIR date, inclusive)' })
  @ApiQuery({ name: '_asOf', required: false })
  async summary(@Query() params: QueryParams) {
    only(params, ['from', 'to', '_asOf']);
    const asOf = asOfParam(params) ?? new Date();
    const from = periodParam(params, 'from')?.start;
    const to = periodParam(params, 'to')?.end;
    if (from && to && from > to) throw FhirError.badRequest('from must not be after to', 'from');
    const rows = await this.queryBus.execute(
      new ClaimsSummaryQuery(asOf, from, to && new Date(to.getTime() + 1)),
    );
    return { asOf: asOf.toISOString(), rows };
  }
}

function only(params: QueryParams, known: string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      throw FhirError.badRequest(
        `Unknown parameter ${JSON.stringify(name.slice(0, 64))}; known: ${known.join(', ')}`,
        name,
      );
    }
  }
}

function patientIdOf(id: string, parameter: string): string {
  if (!FHIR_ID_PATTERN.test(id))
    throw FhirError.badRequest(`${parameter} must be a patient id (1-64 of A-Z a-z 0-9 - .)`, parameter);
  return id;
}
