import { DynamicModule, Module } from '@nestjs/common';
import { BULK_DATA_SETTINGS, type BulkDataSettings } from './bulk-data.settings';
import { ChangeExportJobHandler } from './commands/change-export-job/change-export-job.handler';
import { ExportWorker } from './processor/export-worker';
import { ExportJobHandler } from './queries/export-job/export-job.handler';
import { ExportJobsHandler } from './queries/export-jobs/export-jobs.handler';
import { ExportSnapshotHandler } from './queries/export-snapshot/export-snapshot.handler';

/**
 * Bulk Data `$export` jobs: their streams (ChangeExportJobCommand), state and listing queries, and the worker
 * that writes their files (started by the host for ROLES=export). Reads resources only through the FHIR
 * store's queries on the QueryBus; needs CqrsModule and EventStoreModule from the host. The jobs read model
 * (ExportJobsProjection) is registered with the runner by the composition root.
 */
@Module({})
export class BulkDataModule {
  static forRoot(settings: BulkDataSettings): DynamicModule {
    return {
      module: BulkDataModule,
      global: true,
      providers: [
        { provide: BULK_DATA_SETTINGS, useValue: settings },
        ChangeExportJobHandler,
        ExportJobHandler,
        ExportJobsHandler,
        ExportSnapshotHandler,
        ExportWorker,
      ],
      exports: [BULK_DATA_SETTINGS, ExportWorker],
    };
  }
}
