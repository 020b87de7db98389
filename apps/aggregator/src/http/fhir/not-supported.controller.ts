import { All, Controller, Get, HttpStatus, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { FhirError } from '../fhir-error';
import { Access } from '../security/access-policy';

/** What no other FHIR route answers: unknown operations and paths (404), and writes (405). */
@ApiExcludeController()
@Controller('fhir')
export class NotSupportedController {
  @Get('*path')
  @Access({ public: 'answers 404 for a path the API does not have: no data' })
  unknown(@Req() request: Request): never {
    const operation = /\/(\$[^/?]*)/.exec(request.path)?.[1];
    throw FhirError.notFound(
      operation
        ? `Unknown operation ${JSON.stringify(operation.slice(0, 64))} on ${request.path.replace(/^\/fhir\//, '').split('/')[0]}; see GET /fhir/metadata`
        : `No FHIR interaction at ${request.path.slice(0, 128)}; see GET /fhir/metadata`,
    );
  }

  /** Writes arrive from sources (files, Kafka), never over this API. */
  @All(['', '*path'])
  @Access({ public: 'answers 405 for writes (sources write through ingestion): no data' })
  notSupported(@Req() request: Request): never {
    throw new FhirError(
      HttpStatus.METHOD_NOT_ALLOWED,
      'not-supported',
      `${request.method} ${request.path} is not supported: this server is read-only; sources write through ingestion`,
    );
  }
}
