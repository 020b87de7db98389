export * from './projections/fhir-store.projection';
export type { StoredVersion, ReadOutcome, HistoryCriteria, HistoryPage } from './queries/fhir-store.reader';
export { parseHistoryCursor } from './queries/fhir-store.reader';
export * from './queries/read-resource/read-resource.query';
export * from './queries/read-version/read-version.query';
export * from './queries/resource-history/resource-history.query';
export * from './queries/resource-lineage/resource-lineage.query';
export * from './queries/store-digest/store-digest.query';
export * from './queries/held-by-source/held-by-source.query';
export * from './queries/search-resources/search-resources.query';
export * from './queries/patient-everything/patient-everything.query';
export * from './queries/export-versions/export-versions.query';
export type { SearchResult } from './queries/search/fhir-search.reader';
export type {
  EverythingCriteria,
  EverythingResult,
} from './queries/patient-everything/patient-everything.reader';
export * from './lineage/provenance';
export * from './fhir-store.module';
