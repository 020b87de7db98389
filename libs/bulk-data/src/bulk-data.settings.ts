import type { ExportConfig } from '@fa/platform';

/** The export settings (EXPORT_DIR ...) the module was given: readExportConfig() unless the host says otherwise. */
export const BULK_DATA_SETTINGS = Symbol('BULK_DATA_SETTINGS');
export type BulkDataSettings = ExportConfig;
