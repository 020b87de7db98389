export * from './resource-types';
export * from './canonical-json';
export * from './fhir-instant';
export * from './references';
