import type { CapabilityStatementRestResource } from 'fhir/r4';
import { AUDIT_EVENT_CAPABILITY } from '../fhir/audit/audit-search-params';
import { detectedIssueCapability } from '../fhir/detected-issue/finding-search-params';

/**
 * Types whose read and search are a context's own rather than only the FHIR store's index (the access audit's
 * AuditEvent; DetectedIssue, Revenue Cycle's findings together with the store's): their CapabilityStatement
 * entries say exactly what those routes serve, declared beside each route's parameter parser, each given the
 * entry the FHIR store's search alone would have.
 */
export const CONTEXT_SERVED_RESOURCES: ReadonlyMap<
  string,
  (store: CapabilityStatementRestResource) => CapabilityStatementRestResource
> = new Map([
  ['AuditEvent', () => AUDIT_EVENT_CAPABILITY],
  ['DetectedIssue', detectedIssueCapability],
]);
