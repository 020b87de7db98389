export * from './resource-types';
export * from './canonical-json';
export * from './fhir-instant';
export * from './references';
export * from './search/search-parameters';
export * from './search/index-values';
export * from './search/search-request';
export * from './operations/operation-definition';
