import { Module } from '@nestjs/common';
import { RunViewHandler } from './queries/run-view/run-view.handler';

/**
 * SQL on FHIR v2 views. Reads resources only through the FHIR store's queries on the QueryBus; needs CqrsModule
 * from the host application.
 */
@Module({ providers: [RunViewHandler] })
export class AnalyticsModule {}
