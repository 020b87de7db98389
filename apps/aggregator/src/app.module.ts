import { ExportJobsController } from './http/bulk-data/export-jobs.controller';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { AccessOptions } from '@fa/access';
import { ContextsModule } from '@fa/composition';
import type { EventStoreRuntime } from '@fa/event-store';
import { ClientsController } from './http/admin/clients.controller';
import type { AuditConfig, ExportConfig } from '@fa/platform';
import { ProjectionsController } from './http/admin/projections.controller';
import { RejectionsController } from './http/admin/rejections.controller';
import { FhirHttpModule } from './http/fhir/fhir-http.module';
import { ReviewsController } from './http/admin/reviews.controller';
import { HealthController } from './http/health/health.controller';
import { LineageController } from './http/lineage/lineage.controller';
import { TimelineController } from './http/clinical/timeline.controller';
import { MetricsController } from './http/metrics/metrics.controller';
import { RevenueCycleController } from './http/revenue-cycle/revenue-cycle.controller';
import { AccessGuard } from './http/security/access.guard';
import { AuthSettings } from './http/security/auth-settings';
import { TokenController } from './http/security/token.controller';

/** AUTH on or off, for the guard, the CapabilityStatement and the routes. */
@Module({})
class AuthSettingsModule {
  static forRoot(enabled: boolean): DynamicModule {
    return {
      module: AuthSettingsModule,
      global: true,
      providers: [{ provide: AuthSettings, useValue: new AuthSettings(enabled) }],
      exports: [AuthSettings],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(
    runtime: EventStoreRuntime,
    options: {
      queryTimeoutMs: number;
      includeLimit?: number;
      searchLinkLimit?: number;
      auth: { enabled: boolean } & AccessOptions;
      audit?: AuditConfig;
      exports?: ExportConfig;
    },
  ): DynamicModule {
    const { auth, ...contexts } = options;
    const { enabled, ...access } = auth;
    return {
      module: AppModule,
      imports: [
        ContextsModule.forRoot(runtime, { ...contexts, access }),
        AuthSettingsModule.forRoot(enabled),
        FhirHttpModule,
      ],
      // One guard for every route: each declares its @Access policy.
      providers: [{ provide: APP_GUARD, useClass: AccessGuard }],
      controllers: [
        TokenController,
        ClientsController,
        HealthController,
        MetricsController,
        ProjectionsController,
        RejectionsController,
        LineageController,
        ExportJobsController,
        ReviewsController,
        RevenueCycleController,
        TimelineController,
      ],
    };
  }
}
