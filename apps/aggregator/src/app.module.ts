import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EventStoreModule, EventStoreRuntime } from '@fa/event-store';
import { FhirStoreModule } from '@fa/fhir-store';
import { IngestionModule } from '@fa/ingestion';
import { PatientIdentityModule } from '@fa/patient-identity';
import { ProjectionsController } from './http/admin/projections.controller';
import { RejectionsController } from './http/admin/rejections.controller';
import { FhirHttpModule } from './http/fhir/fhir-http.module';
import { ReviewsController } from './http/admin/reviews.controller';
import { HealthController } from './http/health/health.controller';
import { LineageController } from './http/lineage/lineage.controller';
import { MetricsController } from './http/metrics/metrics.controller';

@Module({})
export class AppModule {
  static forRoot(runtime: EventStoreRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        EventStoreModule.forRoot(runtime.database.pool, runtime.store, runtime.runner),
        IngestionModule,
        FhirStoreModule,
        PatientIdentityModule,
        FhirHttpModule,
      ],
      controllers: [
        HealthController,
        MetricsController,
        ProjectionsController,
        RejectionsController,
        LineageController,
        ReviewsController,
      ],
    };
  }
}
