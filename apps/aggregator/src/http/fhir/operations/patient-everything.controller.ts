import { Controller, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Provenance } from 'fhir/r4';
import { DeduplicatedEverythingQuery } from '@fa/clinical';
import { isR4ResourceType } from '@fa/fhir';
import { EverythingCriteria, PatientEverythingQuery } from '@fa/fhir-store';
import { GoldenPatientEverythingQuery } from '@fa/patient-identity';
import { FhirError } from '../../fhir-error';
import { Access } from '../../security/access-policy';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { foundPatient, idParam, MAX_PAGE_SIZE, operationInput, QueryParams } from '../fhir-params';
import { pageLinks, searchBundle, searchOutcome } from '../search/search-bundle';
import { FhirOperation } from './fhir-operation.decorator';
import { PATIENT_EVERYTHING } from './patient-everything.operation';

const EVERYTHING_DEFAULT_COUNT = 100;

/**
 * Patient/<id>/$everything of a source patient (fhir-store) or, failing that, of a golden patient (identity);
 * with dedup=true, the Clinical context's one entry per fact over the same answer.
 */
@ApiExcludeController()
@Controller('fhir')
export class PatientEverythingController {
  constructor(private readonly queryBus: QueryBus) {}

  @FhirOperation(PATIENT_EVERYTHING)
  @Access({ resource: 'Patient', permission: 'r', mixedTypes: true, interaction: 'operation:everything' })
  async everything(
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    idParam(id);
    const { values, unknown } = operationInput(PATIENT_EVERYTHING, params, prefer);
    const types = (values._type as string | undefined)?.split(',');
    for (const t of types ?? []) {
      if (!isR4ResourceType(t))
        throw FhirError.badRequest(`_type: unknown resource type ${JSON.stringify(t.slice(0, 64))}`, '_type');
    }
    const count = Math.min((values._count as number | undefined) ?? EVERYTHING_DEFAULT_COUNT, MAX_PAGE_SIZE);
    const offset = (values._offset as number | undefined) ?? 0;
    const asOf = (values._asOf as { end: Date } | undefined)?.end;
    const since = (values._since as { start: Date } | undefined)?.start;
    const criteria: EverythingCriteria = { patientId: id, asOf, since, types, count, offset };
    const pinnedAt = asOf ?? new Date();
    const deduplicated = values.dedup
      ? await this.queryBus.execute(new DeduplicatedEverythingQuery(criteria))
      : undefined;
    const result = deduplicated ?? (await this.union(criteria));
    const found = foundPatient(result, id, asOf);
    const base = fhirBaseUrl(request);
    const links = pageLinks(base, request.path.replace(/^\/fhir/, ''), params, {
      offset,
      count,
      hasMore: found.hasMore,
      pinnedAt,
    });
    const outcome = searchOutcome(unknown);
    const included =
      deduplicated?.status === 'found' ? deduplicated.provenances.map(generatedEntry) : undefined;
    sendFhir(
      response,
      searchBundle({ base, links, matches: found.entries, included, total: found.total, outcome }),
    );
  }

  private async union(criteria: EverythingCriteria) {
    const stored = await this.queryBus.execute(new PatientEverythingQuery(criteria));
    return stored.status === 'not-found'
      ? await this.queryBus.execute(new GoldenPatientEverythingQuery(criteria))
      : stored;
  }
}

function generatedEntry(resource: Provenance) {
  return { resourceType: resource.resourceType, id: resource.id!, resource };
}
