import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { EventStoreRuntime } from '@fa/event-store';
import { AppModule } from './app.module';
import { FhirExceptionFilter } from './http/fhir-exception.filter';
import { requestTiming } from './http/request-timing';

/** The HTTP application on an opened runtime; used by main.ts and by the end-to-end tests. */
export async function createAggregatorApp(runtime: EventStoreRuntime): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(runtime), {
    logger: ['error', 'warn'],
    bodyParser: false,
  });
  // FHIR clients send application/fhir+json; search by POST sends a form.
  app.useBodyParser('json', { type: ['application/json', 'application/fhir+json'], limit: '5mb' });
  app.useBodyParser('urlencoded', { extended: false, limit: '1mb' });
  app.set('query parser', 'extended');
  app.set('etag', false);
  app.useGlobalFilters(new FhirExceptionFilter());
  app.use(requestTiming);
  // Every response carries a request id (the client's, or a new one) that error logs quote.
  app.use((request: Request, response: Response, next: NextFunction) => {
    const given = request.headers['x-request-id'];
    response.setHeader(
      'x-request-id',
      typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID(),
    );
    next();
  });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('fhir-aggregator')
      .setDescription(
        'Admin, lineage and health endpoints. The FHIR API under /fhir is described by its CapabilityStatement at /fhir/metadata.',
      )
      .build(),
  );
  SwaggerModule.setup('openapi', app, document, { jsonDocumentUrl: 'openapi.json' });
  return app;
}
