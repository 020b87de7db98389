import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { fhirBaseUrl, sendFhir } from '../../fhir-json';
import { buildCapabilityStatement } from '../../metadata/capability-statement';
import { OperationRegistry } from '../operations/operation-registry';
import { Access } from '../../security/access-policy';

const SOFTWARE = { name: 'fhir-aggregator', version: process.env.npm_package_version ?? '0.1.0' };

/** The CapabilityStatement; the OperationDefinitions it lists are read at OperationDefinition/<id> (ReadController). */
@ApiExcludeController()
@Controller('fhir')
export class MetadataController {
  constructor(private readonly operations: OperationRegistry) {}

  @Get('metadata')
  @Access({ public: 'the CapabilityStatement: what the server supports, no data' })
  metadata(@Req() request: Request, @Res() response: Response): void {
    sendFhir(
      response,
      buildCapabilityStatement(fhirBaseUrl(request), SOFTWARE, this.operations.definitions()),
    );
  }
}
