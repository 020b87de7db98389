import { DynamicModule, Module } from '@nestjs/common';
import { ContextsModule } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';
import type { AuditConfig } from '@fa/platform';
import { ProjectionsController } from './http/admin/projections.controller';
import { RejectionsController } from './http/admin/rejections.controller';
import { FhirHttpModule } from './http/fhir/fhir-http.module';
import { ReviewsController } from './http/admin/reviews.controller';
import { HealthController } from './http/health/health.controller';
import { LineageController } from './http/lineage/lineage.controller';
import { TimelineController } from './http/clinical/timeline.controller';
import { MetricsController } from './http/metrics/metrics.controller';
import { RevenueCycleController } from './http/revenue-cycle/revenue-cycle.controller';

@Module({})
export class AppModule {
  static forRoot(
    runtime: EventStoreRuntime,
    options: {
      queryTimeoutMs: number;
      includeLimit?: number;
      searchLinkLimit?: number;
      audit?: AuditConfig;
    },
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [ContextsModule.forRoot(runtime, options), FhirHttpModule],
      controllers: [
        HealthController,
        MetricsController,
        ProjectionsController,
        RejectionsController,
        LineageController,
        ReviewsController,
        RevenueCycleController,
        TimelineController,
      ],
    };
  }
}
