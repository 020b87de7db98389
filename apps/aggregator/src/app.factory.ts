import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AccessOptions } from '@fa/access';
import { RecordAccessCommand } from '@fa/audit';
import type { EventStoreRuntime } from '@fa/event-store';
import { AuditConfig, createLogger, DEFAULT_QUERY_TIMEOUT_MS, ExportConfig } from '@fa/platform';
import { AppModule } from './app.module';
import { accessAudit } from './http/audit/access-audit.middleware';
import { FhirExceptionFilter } from './http/fhir-exception.filter';
import { inputHygiene } from './http/input-hygiene.middleware';
import { requestTiming } from './http/request-timing';
import {
  answerBodyErrors,
  answerClientErrors,
  FORM_BODY_LIMIT_BYTES,
  JSON_BODY_LIMIT_BYTES,
} from './http/server-limits';

export interface AggregatorAppOptions {
  /** Each search / $everything statement's time budget in PostgreSQL (QUERY_TIMEOUT); 0: none. */
  queryTimeoutMs?: number;
  /** The most resources _include/_revinclude add to a page (INCLUDE_LIMIT); the default when not given. */
  includeLimit?: number;
  /** The most linked rows one chain or _has may touch before the search is refused (SEARCH_LINK_LIMIT). */
  searchLinkLimit?: number;
  /**
   * Tokens required (default) or not (AUTH=off), the signing keys (default: in memory), token lifetime and
   * per-client rate limit (default: none).
   */
  auth?: { enabled: boolean } & AccessOptions;
  /** Where the access audit anchors its chain; from AUDIT_ANCHOR_DIR / DATA_DIR when not given. */
  audit?: AuditConfig;
  /** Where Bulk Data exports write and how; from EXPORT_DIR / DATA_DIR ... when not given. */
  exports?: ExportConfig;
  /**
   * false: no access audit at all. Only for the benchmark that measures what the audit costs: the service
   * (main.ts) has no setting that turns it off.
   */
  accessAudit?: boolean;
}

/** The HTTP application on an opened runtime; used by main.ts and by the end-to-end tests. */
export async function createAggregatorApp(
  runtime: EventStoreRuntime,
  options: AggregatorAppOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(runtime, {
      queryTimeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      includeLimit: options.includeLimit,
      searchLinkLimit: options.searchLinkLimit,
      auth: options.auth ?? { enabled: true },
      audit: options.audit,
      exports: options.exports,
    }),
    { logger: ['error', 'warn'], bodyParser: false },
  );
  answerClientErrors(app.getHttpServer());
  // FHIR clients send application/fhir+json; search by POST sends a form.
  app.useBodyParser('json', {
    type: ['application/json', 'application/fhir+json'],
    limit: JSON_BODY_LIMIT_BYTES,
  });
  app.useBodyParser('urlencoded', { extended: false, limit: FORM_BODY_LIMIT_BYTES });
  app.use(answerBodyErrors);
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
  // Holds every answer of an audited route until its access record is durable (see the middleware).
  if (options.accessAudit !== false) {
    const commands = app.get(CommandBus);
    app.use(
      accessAudit((record) => commands.execute(new RecordAccessCommand(record)), createLogger('audit')),
    );
  }
  // After the body parsers and the request id: nothing with a NUL, invalid UTF-8 or a control character
  // in a parameter (or a NUL in a body) reaches a route, SQL or a log line.
  app.use(inputHygiene);
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
