import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ClinicalTimelineQuery } from '@fa/clinical';
import { FhirError } from '../fhir-error';
import { asOfParam, foundPatient, idParam, periodParam, QueryParams } from '../fhir/fhir-params';
import { Access } from '../security/access-policy';
import { CLINICAL_FACT_TYPES } from '../security/clinical-fact-types';

const TIMELINE_PARAMETERS = new Set(['from', 'to', '_asOf']);

@ApiTags('clinical')
@Controller('clinical')
export class TimelineController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('patients/:id/timeline')
  @Access({
    resource: 'Patient',
    permission: 'r',
    reads: CLINICAL_FACT_TYPES,
    interaction: 'operation:timeline',
  })
  @ApiOperation({
    summary:
      'Encounters, diagnoses, results, medications... of a source or golden patient in time order, one per fact',
  })
  @ApiQuery({
    name: 'from',
    required: false,
    description: 'Clinical time at or after (FHIR date or dateTime)',
  })
  @ApiQuery({
    name: 'to',
    required: false,
    description: 'Clinical time up to the end of (FHIR date or dateTime)',
  })
  @ApiQuery({ name: '_asOf', required: false, description: 'As recorded at this instant' })
  @ApiOkResponse({ description: 'The items, each with every source resource of its fact' })
  async timeline(@Param('id') id: string, @Query() params: QueryParams) {
    idParam(id);
    for (const name of Object.keys(params)) {
      if (!TIMELINE_PARAMETERS.has(name))
        throw FhirError.badRequest(`Unknown parameter ${JSON.stringify(name.slice(0, 64))}`, name);
    }
    const from = periodParam(params, 'from')?.start;
    const to = periodParam(params, 'to')?.end;
    if (from && to && from >= to) throw FhirError.badRequest('from must be before to', 'from');
    const asOf = asOfParam(params);
    const result = await this.queryBus.execute(new ClinicalTimelineQuery(id, { from, to }, asOf));
    const found = foundPatient(result, id, asOf);
    return {
      patient: `Patient/${id}`,
      golden: found.golden,
      ...(asOf ? { asOf: asOf.toISOString() } : {}),
      items: found.items,
    };
  }
}
