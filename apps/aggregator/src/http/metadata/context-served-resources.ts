import type { CapabilityStatementRestResource } from 'fhir/r4';
import { AUDIT_EVENT_CAPABILITY } from '../fhir/audit/audit-search-params';
import { DETECTED_ISSUE_CAPABILITY } from '../fhir/detected-issue/finding-search-params';

/**
 * Types whose read and search are a context's own rather than the FHIR store's index (the access audit's
 * AuditEvent, Revenue Cycle's DetectedIssue findings): their CapabilityStatement entries say exactly what those
 * routes serve, declared beside each route's parameter parser.
 */
export const CONTEXT_SERVED_RESOURCES: readonly CapabilityStatementRestResource[] = [
  AUDIT_EVENT_CAPABILITY,
  DETECTED_ISSUE_CAPABILITY,
];
