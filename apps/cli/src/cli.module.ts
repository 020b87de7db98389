import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EventStoreModule, EventStoreRuntime } from '@fa/event-store';
import { FhirStoreModule } from '@fa/fhir-store';
import { IngestionModule } from '@fa/ingestion';

@Module({})
export class CliModule {
  static forRoot(runtime: EventStoreRuntime): DynamicModule {
    return {
      module: CliModule,
      imports: [
        CqrsModule.forRoot(),
        EventStoreModule.forRoot(runtime.database.pool, runtime.store, runtime.runner),
        IngestionModule,
        FhirStoreModule,
      ],
    };
  }
}
