import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AccessModule, type AccessOptions } from '@fa/access';
import { AnalyticsModule } from '@fa/analytics';
import { ClinicalModule } from '@fa/clinical';
import { AuditModule } from '@fa/audit';
import { BulkSyncModule } from '@fa/bulk-sync';
import { EventStoreModule, EventStoreRuntime } from '@fa/event-store';
import { FhirStoreModule } from '@fa/fhir-store';
import { IngestionModule } from '@fa/ingestion';
import { PatientIdentityModule } from '@fa/patient-identity';
import { RevenueCycleModule } from '@fa/revenue-cycle';
import { BulkDataModule } from '@fa/bulk-data';
import { AuditConfig, ExportConfig, readAuditConfig, readExportConfig } from '@fa/platform';

/**
 * The bounded contexts' command and query handlers on one runtime, with the CQRS buses they meet through:
 * imported by the HTTP app and by the CLI alike.
 */
@Module({})
export class ContextsModule {
  /**
   * queryTimeoutMs: each search / $everything statement's budget (QUERY_TIMEOUT); 0 (the CLI): none.
   * includeLimit: the most resources _include/_revinclude add to a page (INCLUDE_LIMIT).
   * searchLinkLimit: the most linked rows a chain or _has may touch (SEARCH_LINK_LIMIT).
   * access: the token signing keys, lifetime and per-client rate limit (default: an in-memory key, no limit).
   * audit: where the access audit anchors its chain (AUDIT_ANCHOR_DIR / DATA_DIR from the environment by default).
   * exports: where Bulk Data exports write and how (EXPORT_DIR / DATA_DIR ... from the environment by default).
   */
  static forRoot(
    runtime: EventStoreRuntime,
    options: {
      queryTimeoutMs?: number;
      includeLimit?: number;
      searchLinkLimit?: number;
      access?: AccessOptions;
      audit?: AuditConfig;
      exports?: ExportConfig;
    } = {},
  ): DynamicModule {
    return {
      module: ContextsModule,
      imports: [
        CqrsModule.forRoot(),
        EventStoreModule.forRoot(runtime.database.pool, runtime.store, runtime.runner),
        IngestionModule,
        FhirStoreModule.forRoot({
          queryTimeoutMs: options.queryTimeoutMs ?? 0,
          includeLimit: options.includeLimit,
          searchLinkLimit: options.searchLinkLimit,
        }),
        PatientIdentityModule,
        AnalyticsModule,
        RevenueCycleModule,
        ClinicalModule,
        AccessModule.forRoot(options.access),
        AuditModule.forRoot(options.audit ?? readAuditConfig()),
        BulkDataModule.forRoot(options.exports ?? readExportConfig()),
        BulkSyncModule,
      ],
      exports: [
        AccessModule,
        CqrsModule,
        EventStoreModule,
        IngestionModule,
        FhirStoreModule,
        PatientIdentityModule,
        AnalyticsModule,
        RevenueCycleModule,
        ClinicalModule,
        AuditModule,
        BulkDataModule,
        BulkSyncModule,
      ],
    };
  }
}
