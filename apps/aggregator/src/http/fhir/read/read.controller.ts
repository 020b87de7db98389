import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { ReadResourceQuery, ReadVersionQuery } from '@fa/fhir-store';
import { GoldenPatientHistoryQuery, GoldenPatientQuery } from '@fa/patient-identity';
import { FhirError } from '../../fhir-error';
import { sendFhir } from '../../fhir-json';
import { asOfParam, idParam, QueryParams, resourceTypeParam, versionIdParam } from '../fhir-params';
import { OperationRegistry } from '../operations/operation-registry';
import { Access } from '../../security/access-policy';

/**
 * read and vread, now or as of an instant. A Patient the store does not hold may be one of our golden patients
 * (Patient Identity), built from its members as of the same instant; its versions are its membership changes. The OperationDefinitions of the operations
 * this server implements are read here too, before the store (which holds those sources sent).
 */
@ApiExcludeController()
@Controller('fhir')
export class ReadController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly operations: OperationRegistry,
  ) {}

  @Get(':type/:id')
  @Access({ resource: ':type', permission: 'r', interaction: 'read' })
  async read(
    @Param('type') type: string,
    @Param('id') id: string,
    @Query() params: QueryParams,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    idParam(id);
    const asOf = asOfParam(params);
    const ours = resourceType === 'OperationDefinition' ? this.operations.definition(id) : undefined;
    if (ours) return sendFhir(response, ours);
    const outcome = await this.queryBus.execute(new ReadResourceQuery(resourceType, id, asOf));
    if (outcome.status === 'found') return sendFhir(response, outcome.version.resource);
    if (outcome.status === 'deleted') {
      response.setHeader('ETag', `W/"${outcome.version.versionId}"`);
      throw FhirError.gone(
        `${resourceType}/${id} was deleted at ${outcome.version.recordedFrom.toISOString()} (version ${outcome.version.versionId}); its history remains`,
      );
    }
    if (resourceType === 'Patient') {
      const golden = await this.queryBus.execute(new GoldenPatientQuery(id, asOf));
      if (golden.status === 'merged')
        throw FhirError.gone(
          `Patient/${id} was merged into Patient/${golden.into} at ${golden.at.toISOString()}`,
        );
      if (golden.status === 'found') return sendFhir(response, golden.patient);
    }
    throw FhirError.notFound(
      outcome.status === 'not-yet'
        ? `${resourceType}/${id} did not exist at ${asOf!.toISOString()}; first recorded ${outcome.firstRecorded.toISOString()}`
        : `${resourceType}/${id} is not known`,
    );
  }

  @Get(':type/:id/_history/:vid')
  @Access({ resource: ':type', permission: 'r', interaction: 'vread' })
  async vread(
    @Param('type') type: string,
    @Param('id') id: string,
    @Param('vid') vid: string,
    @Res() response: Response,
  ) {
    const resourceType = resourceTypeParam(type);
    idParam(id);
    const versionId = versionIdParam(vid);
    const version = await this.queryBus.execute(new ReadVersionQuery(resourceType, id, versionId));
    if (!version && resourceType === 'Patient') {
      // A golden patient's versions are its membership changes, as its _history lists them.
      const history = await this.queryBus.execute(new GoldenPatientHistoryQuery(id));
      const golden =
        history.status === 'found' ? history.versions.find((v) => v.versionId === versionId) : undefined;
      if (golden?.patient) return sendFhir(response, golden.patient);
      if (golden)
        throw FhirError.gone(`Patient/${id} version ${vid} is its merge into another golden patient`);
    }
    if (!version) throw FhirError.notFound(`${resourceType}/${id} has no version ${vid}`);
    if (version.deleted) throw FhirError.gone(`${resourceType}/${id} version ${vid} is a deletion`);
    sendFhir(response, version.resource);
  }
}
