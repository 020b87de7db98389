import { Module } from '@nestjs/common';
import { RegisterViewHandler } from './commands/register-view/register-view.handler';
import { RunViewHandler } from './queries/run-view/run-view.handler';

/**
 * SQL on FHIR v2 views. Reads resources only through the FHIR store's queries on the QueryBus, registers views
 * in the event store; needs CqrsModule and EventStoreModule from the host application. The materializing
 * projection (ViewRowsProjection) is registered with the runner by the composition root.
 */
@Module({ providers: [RunViewHandler, RegisterViewHandler] })
export class AnalyticsModule {}
